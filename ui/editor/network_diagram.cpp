#include "editor/network_diagram.h"

#include <QLocale>
#include <QPainter>
#include <QPainterPath>

#include "editor/layer_summary.h"
#include "common/precision_palette.h"

namespace plab::ui {
namespace {
constexpr int kBlockHeight = 46;
constexpr int kGap = 18;
constexpr int kMargin = 12;
}  // namespace

NetworkDiagram::NetworkDiagram(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("networkDiagram"));
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

void NetworkDiagram::setNetwork(const nlohmann::json& layers, const ShapeCheck& check) {
  blocks_.clear();
  const QLocale locale;
  blocks_.append({tr("input"), check.sampleShape.dims.empty() ? tr("dataset shape unknown")
                                                              : formatShape(check.sampleShape),
                  QColor("#eceff1"), check.generalError});
  double totalWeights = 0, totalActivations = 0;
  std::int64_t totalParams = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Block b;
    const QString precision = layerPrecision(layers[i]);
    b.title = QStringLiteral("%1 · %2").arg(layerSummary(layers[i]), precision);
    b.colour = precisionColour(precision);
    b.error = check.layerErrors.value(int(i));
    if (i < check.layers.size()) {
      const LayerShapeInfo& info = check.layers[i];
      b.detail = QStringLiteral("→ %1").arg(formatShape(info.outputShape));
      if (info.parameterCount > 0) {
        b.detail += tr(" · %1 params · %2").arg(locale.toString(qlonglong(info.parameterCount)),
                                               formatBytes(double(info.weightBytes)));
      }
      b.detail += tr(" · act %1/sample").arg(formatBytes(double(info.activationBytesPerSample)));
      totalParams += info.parameterCount;
      totalWeights += double(info.weightBytes);
      totalActivations += double(info.activationBytesPerSample);
    } else if (b.error.isEmpty()) {
      b.detail = tr("(shape unknown: an earlier layer does not fit)");
    }
    blocks_.append(b);
  }
  footer_ = check.ok ? tr("%1 parameters · weights %2 · activations %3 per sample")
                           .arg(locale.toString(qlonglong(totalParams)), formatBytes(totalWeights),
                                formatBytes(totalActivations))
                     : tr("Fix the errors in red before starting a run.");
  updateGeometry();
  update();
}

QSize NetworkDiagram::sizeHint() const {
  return {340, kMargin * 2 + int(blocks_.size()) * (kBlockHeight + kGap) + 30};
}

void NetworkDiagram::paintBlock(QPainter& p, const QRectF& r, const Block& b) const {
  QPainterPath path;
  path.addRoundedRect(r, 6, 6);
  p.fillPath(path, b.colour);
  p.setPen(QPen(b.error.isEmpty() ? b.colour.darker(140) : QColor("#c62828"), b.error.isEmpty() ? 1 : 3));
  p.drawPath(path);
  const QColor text = textColourOn(b.colour);
  p.setPen(text);
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  p.drawText(r.adjusted(8, 4, -8, -r.height() / 2), Qt::AlignLeft | Qt::AlignVCenter, b.title);
  p.setFont(font());
  const QString second = b.error.isEmpty() ? b.detail : QStringLiteral("⚠ ") + b.error;
  p.drawText(r.adjusted(8, r.height() / 2 - 2, -8, -4), Qt::AlignLeft | Qt::AlignVCenter,
             p.fontMetrics().elidedText(second, Qt::ElideRight, int(r.width() - 16)));
}

void NetworkDiagram::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  const double width = std::max(200, this->width() - 2 * kMargin);
  double y = kMargin;
  for (int i = 0; i < blocks_.size(); ++i) {
    const QRectF r(kMargin, y, width, kBlockHeight);
    paintBlock(p, r, blocks_[i]);
    if (i + 1 < blocks_.size()) {
      // An arrow to the next block: the tensor flows down.
      const double x = r.center().x();
      p.setPen(QPen(QColor("#90a4ae"), 2));
      p.drawLine(QPointF(x, r.bottom() + 2), QPointF(x, r.bottom() + kGap - 4));
      p.setBrush(QColor("#90a4ae"));
      p.drawPolygon(QPolygonF({QPointF(x - 5, r.bottom() + kGap - 8), QPointF(x + 5, r.bottom() + kGap - 8),
                               QPointF(x, r.bottom() + kGap - 2)}));
      p.setBrush(Qt::NoBrush);
    }
    y += kBlockHeight + kGap;
  }
  p.setPen(palette().color(QPalette::Text));
  p.drawText(QRectF(kMargin, y - kGap + 4, width, 24), Qt::AlignLeft | Qt::AlignVCenter, footer_);
}

}  // namespace plab::ui
