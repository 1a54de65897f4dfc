#include "explorer/precision_explorer.h"

#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "explorer/format_error_views.h"
#include "numerics/explain.h"
#include "common/precision_palette.h"

namespace plab::ui {
namespace {

enum Column { kFormat, kValue, kHex, kFields, kClass, kAbsError, kRelError, kColumnCount };

QString formatNumber(double v) {
  if (std::isnan(v)) return QStringLiteral("nan");
  if (std::isinf(v)) return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
  if (v == 0) return std::signbit(v) ? QStringLiteral("-0") : QStringLiteral("0");  // QString drops the sign of zero
  // 17 significant digits show the exact fp32 value of every format's numbers.
  return QString::number(v, 'g', 17);
}

// "0 | 01011 | 1001100110": the bit fields of a pattern, most significant first (tf32:
// the top 10 of fp32's 23 fraction bits; mxint8: sign | the other 7 bits).
QString bitFields(const ValueExplanation& e) {
  return QString::fromStdString(bitsFieldsBinary(e)).replace(QLatin1Char(' '), QStringLiteral(" | "));
}

}  // namespace

PrecisionExplorer::PrecisionExplorer(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(tr("Type a number (e.g. 0.1, 65520, 1e-8, -0) to see what each format "
                              "stores for it. Rounding is round-to-nearest-even; the input is first "
                              "read as fp32. A block-scaled format (mx…, nvfp4) shows the number as the "
                              "only value of its block, so the block's scale comes from it; the bits are "
                              "its element's (precisionlab-cli numbers shows whole blocks)."));
  intro->setWordWrap(true);
  layout->addWidget(intro);
  input_ = new QLineEdit(QStringLiteral("0.1"));
  input_->setObjectName(QStringLiteral("explorerInput"));
  input_->setClearButtonEnabled(true);
  layout->addWidget(input_);
  message_ = new QLabel;
  message_->setStyleSheet(QStringLiteral("color: #c62828"));
  layout->addWidget(message_);

  table_ = new QTableWidget(int(kAllPrecisions.size()), kColumnCount);
  table_->setObjectName(QStringLiteral("explorerTable"));
  table_->setHorizontalHeaderLabels({tr("Format"), tr("Stored value"), tr("Bits (hex)"),
                                     tr("sign | exponent | mantissa"), tr("Class"),
                                     tr("Abs. error"), tr("Rel. error")});
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  QFont mono(QStringLiteral("DejaVu Sans Mono"));
  mono.setStyleHint(QFont::Monospace);
  table_->setFont(mono);
  auto* views = new QTabWidget;
  views->setObjectName(QStringLiteral("explorerViews"));
  errorPlot_ = new ErrorMagnitudePlot;
  blockView_ = new BlockLayoutView;
  views->addTab(errorPlot_, tr("Error against magnitude"));
  views->addTab(blockView_, tr("A block of values: per tensor, 1D, 2D"));
  // The table and the views share the height; the splitter lets either take more.
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(views);
  split->setChildrenCollapsible(false);
  layout->addWidget(split, 1);
  layout->addWidget(new PrecisionLegend);

  connect(input_, &QLineEdit::textChanged, this, &PrecisionExplorer::recompute);
  recompute();
}

void PrecisionExplorer::showValue(double value) { input_->setText(formatNumber(value)); }

void PrecisionExplorer::showBlock(const std::vector<float>& values, const QString& source) {
  blockView_->showValues(values, source);
}

QString PrecisionExplorer::inputText() const { return input_->text(); }

void PrecisionExplorer::recompute() {
  const QString text = input_->text().trimmed();
  bool ok = false;
  double input = text.toDouble(&ok);
  if (!ok && (text == QLatin1String("inf") || text == QLatin1String("-inf") ||
              text == QLatin1String("nan"))) {
    input = text == QLatin1String("nan") ? std::nan("") : (text.startsWith('-') ? -INFINITY : INFINITY);
    ok = true;
  }
  message_->setText(ok ? QString() : tr("\"%1\" is not a number").arg(text));
  table_->setEnabled(ok);
  if (!ok) return;
  for (int row = 0; row < int(kAllPrecisions.size()); ++row) fillRow(row, row, input);
}

void PrecisionExplorer::fillRow(int row, int precisionIndex, double input) {
  const Precision p = kAllPrecisions[std::size_t(precisionIndex)];
  const ValueExplanation e = explainValue(p, input);
  const double stored = e.value;
  const ValueClass cls = e.valueClass;
  const double absError = std::fabs(stored - input);
  const double relError = input != 0 ? absError / std::fabs(input) : (stored == 0 ? 0 : INFINITY);

  const QStringList cells = {
      precisionName(p), formatNumber(stored), QString::fromStdString(bitsHex(p, e.bits)),
      bitFields(e), QString::fromLatin1(toString(cls)),
      std::isfinite(absError) ? QString::number(absError, 'g', 4) : formatNumber(absError),
      std::isfinite(relError) ? QString::number(relError, 'g', 4) : formatNumber(relError)};
  for (int c = 0; c < kColumnCount; ++c) {
    auto* item = new QTableWidgetItem(cells[c]);
    if (c == kFormat) {
      item->setBackground(precisionColour(p));
      item->setForeground(textColourOn(precisionColour(p)));
    }
    // Underflow to zero and overflow to inf are the two things a teacher points at.
    const bool lost = (cls == ValueClass::zero && input != 0) ||
                      (cls == ValueClass::inf && std::isfinite(input));
    if (lost && (c == kValue || c == kClass)) item->setForeground(QColor("#c62828"));
    table_->setItem(row, c, item);
  }
}

}  // namespace plab::ui
