#include "common/precision_palette.h"

#include <QHBoxLayout>
#include <QLabel>

namespace plab::ui {

QColor precisionColour(Precision p) {
  const auto colour = formatInfo(p).colour;
  return QColor(QString::fromLatin1(colour.data(), qsizetype(colour.size())));
}

QColor precisionColour(const QString& name) {
  const auto p = parsePrecision(name.toStdString());
  return p ? precisionColour(*p) : QColor(Qt::gray);
}

QString precisionName(Precision p) {
  const auto name = toString(p);
  return QString::fromLatin1(name.data(), qsizetype(name.size()));
}

QStringList precisionNames() {
  QStringList names;
  for (Precision p : kScalarPrecisions) names << precisionName(p);
  return names;
}

QColor textColourOn(const QColor& background) {
  // Relative luminance (ITU-R BT.709 weights) decides black or white text.
  const double luminance =
      0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
  return luminance > 0.55 ? Qt::black : Qt::white;
}

PrecisionLegend::PrecisionLegend(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(10);
  layout->addWidget(new QLabel(tr("Precision:")));
  for (Precision p : kScalarPrecisions) {
    auto* swatch = new QLabel(precisionName(p));
    const QColor c = precisionColour(p);
    swatch->setStyleSheet(QStringLiteral("QLabel { background: %1; color: %2; padding: 1px 6px;"
                                         " border-radius: 3px; }")
                              .arg(c.name(), textColourOn(c).name()));
    swatch->setToolTip(tr("Layers, blocks and series in %1 use this colour").arg(precisionName(p)));
    layout->addWidget(swatch);
  }
  layout->addStretch(1);
}

}  // namespace plab::ui
