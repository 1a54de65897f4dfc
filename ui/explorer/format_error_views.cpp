#include "explorer/format_error_views.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>
#include <vector>

#include "common/precision_palette.h"
#include "numerics/block_format.h"
#include "numerics/convert.h"

namespace plab::ui {
namespace {

constexpr int kLowExponent = -40, kHighExponent = 20;  // the x-axis, powers of two
constexpr int kPointsPerBinade = 16;
constexpr double kErrorFloor = 1e-9;  // exact values are drawn here, on the log axis

// |q - x| / |x| for a value x of a per-value format, or of a block-scaled one as the
// smallest value of a two-value block whose largest value is 1.
double relativeError(Precision p, double x) {
  float q;
  if (isBlockScaled(p)) {
    const float block[2] = {1.0f, float(x)};
    float out[2];
    quantiseDequantise(p, block, out, 2);
    q = out[1];
  } else {
    q = roundTo(p, float(x));
  }
  if (!std::isfinite(q)) return 1.0;  // overflow: drawn at 100%
  return std::max(std::fabs(double(q) - x) / x, kErrorFloor);
}

// A view's layout, edge to edge, opened by its wrapped caption.
QVBoxLayout* captionedLayout(QWidget* view, const QString& caption) {
  auto* layout = new QVBoxLayout(view);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* label = new QLabel(caption);
  label->setWordWrap(true);
  layout->addWidget(label);
  return layout;
}

QString numberText(double v) { return std::isnan(v) ? QStringLiteral("nan") : QString::number(v, 'g', 6); }

}  // namespace

ErrorMagnitudePlot::ErrorMagnitudePlot(QWidget* parent) : QWidget(parent) {
  auto* layout = captionedLayout(this, tr("The largest relative rounding error at each magnitude. Per-value formats: x is "
                                "the value. Block-scaled formats (dashed): x is the value relative to the largest "
                                "value of its block. 1 (100%) is a value lost to zero or to overflow."));
  plot_ = new QCustomPlot;
  plot_->setObjectName(QStringLiteral("errorMagnitudePlot"));
  plot_->setMinimumHeight(180);
  plot_->xAxis->setLabel(tr("|x| (or |x| / block max), log2"));
  plot_->yAxis->setLabel(tr("relative error"));
  plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
  plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  plot_->xAxis->setTicker(QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed));
  qSharedPointerCast<QCPAxisTickerFixed>(plot_->xAxis->ticker())->setTickStep(5);
  for (Precision p : kAllPrecisions) {
    if (p == Precision::fp32) continue;  // fp32 in, fp32 out: nothing to draw
    QVector<double> xs, ys;
    const int high = isBlockScaled(p) ? 0 : kHighExponent;
    for (int i = kLowExponent * kPointsPerBinade; i <= high * kPointsPerBinade; ++i) {
      const double e = double(i) / kPointsPerBinade;
      // The worst error over the stretch up to the next point (its envelope, so that the
      // curve shows the bound rather than the sawtooth of individual values).
      double worst = kErrorFloor;
      constexpr int kSamples = 24;
      for (int k = 0; k < kSamples; ++k)
        worst = std::max(worst, relativeError(p, std::exp2(e + (k + 0.37) / (kSamples * double(kPointsPerBinade)))));
      xs << e;
      ys << worst;
    }
    QCPGraph* g = plot_->addGraph();
    g->setName(precisionName(p));
    g->setData(xs, ys, true);
    QPen pen(precisionColour(p), 2);
    if (isBlockScaled(p)) pen.setStyle(Qt::DashLine);
    g->setPen(pen);
  }
  plot_->xAxis->setRange(kLowExponent, kHighExponent);
  plot_->yAxis->setRange(kErrorFloor * 0.5, 2.0);
  plot_->legend->setVisible(true);
  plot_->legend->setFont(QFont(font().family(), 8));
  // The legend outside the data: a column of its own at the right of the axis rect.
  plot_->plotLayout()->addElement(0, 1, plot_->legend);
  plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
  layout->addWidget(plot_, 1);
}

BlockLayoutView::BlockLayoutView(QWidget* parent) : QWidget(parent) {
  auto* layout = captionedLayout(this, tr("Values quantised three ways: one scale for all (per tensor), one per block of "
                                "the format's size (1D: 32 values in MX, 16 in NVFP4), one per 16 x 16 tile of "
                                "the values laid out in rows of 16 (2D). Values lost to zero are red."));
  auto* row = new QHBoxLayout;
  // Two blocks of 16 (NVFP4's size): large values, then values some 5000 times smaller.
  input_ = new QLineEdit(QStringLiteral("100, 60, -30, 12, 8, 5, 3, 2, -1, 0.5, 40, 25, -90, 7, 1, 0.2, "
                                        "0.01, 0.02, -0.005, 0.008, 0.015, 0.003, -0.01, 0.004, 0.02, 0.006, "
                                        "0.001, -0.012, 0.009, 0.002, 0.007, 0.011"));
  input_->setObjectName(QStringLiteral("blockValues"));
  input_->setToolTip(tr("Values separated by commas or spaces"));
  format_ = new QComboBox;
  format_->setObjectName(QStringLiteral("blockFormat"));
  for (Precision p : kBlockPrecisions) format_->addItem(precisionName(p));
  format_->setCurrentText(precisionName(Precision::nvfp4));
  row->addWidget(new QLabel(tr("Values:")));
  row->addWidget(input_, 1);
  row->addWidget(new QLabel(tr("Format:")));
  row->addWidget(format_);
  layout->addLayout(row);
  source_ = new QLabel;
  source_->setObjectName(QStringLiteral("blockSource"));
  source_->setWordWrap(true);
  source_->hide();
  layout->addWidget(source_);
  message_ = new QLabel;
  message_->setStyleSheet(QStringLiteral("color: #c62828"));
  layout->addWidget(message_);
  table_ = new QTableWidget(0, 7);
  table_->setObjectName(QStringLiteral("blockLayoutTable"));
  table_->setHorizontalHeaderLabels({tr("Value"), tr("Per tensor"), tr("Rel. error"), tr("1D blocks"),
                                     tr("Rel. error"), tr("2D tiles"), tr("Rel. error")});
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  layout->addWidget(table_, 1);
  connect(input_, &QLineEdit::textChanged, this, &BlockLayoutView::recompute);
  // Typing makes them the user's values, no longer the run's.
  connect(input_, &QLineEdit::textEdited, source_, &QLabel::hide);
  connect(format_, &QComboBox::currentTextChanged, this, &BlockLayoutView::recompute);
  recompute();
}

void BlockLayoutView::showValues(const std::vector<float>& values, const QString& source) {
  QStringList parts;
  // %.9g: every fp32 value reads back as itself.
  for (float v : values) parts << QString::number(double(v), 'g', 9);
  source_->setText(source);
  source_->setVisible(!source.isEmpty());
  input_->setText(parts.join(QStringLiteral(", ")));
}

QString BlockLayoutView::sourceText() const { return source_->isHidden() ? QString() : source_->text(); }

void BlockLayoutView::recompute() {
  std::vector<float> values;
  for (const QString& part : input_->text().split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts)) {
    bool ok = false;
    const double v = part.toDouble(&ok);
    if (!ok) {
      message_->setText(tr("\"%1\" is not a number").arg(part));
      table_->setEnabled(false);
      return;
    }
    values.push_back(float(v));
  }
  message_->clear();
  table_->setEnabled(true);
  const Precision p = *parsePrecision(format_->currentText().toStdString());
  const std::size_t n = values.size();
  // 2D: the values in rows of 16 (the last row padded with zeros, which change no scale).
  const std::size_t cols = std::min<std::size_t>(n, kBlockTileSide);
  const std::size_t rows = cols == 0 ? 0 : (n + cols - 1) / cols;
  std::vector<float> padded(rows * cols, 0.0f);
  std::copy(values.begin(), values.end(), padded.begin());
  std::vector<float> tensor(padded.size()), blocks(padded.size()), tiles(padded.size());
  if (n > 0) {
    quantiseDequantiseMatrix(p, BlockLayout::tensor, padded.data(), tensor.data(), 1, padded.size());
    quantiseDequantiseMatrix(p, BlockLayout::rows, padded.data(), blocks.data(), 1, padded.size());
    quantiseDequantiseMatrix(p, BlockLayout::tiles, padded.data(), tiles.data(), rows, cols);
  }
  table_->setRowCount(int(n));
  for (std::size_t i = 0; i < n; ++i) {
    const double x = values[i];
    QStringList cells{numberText(x)};
    for (const std::vector<float>* q : {&tensor, &blocks, &tiles}) {
      const double v = (*q)[i];
      cells << numberText(v) << (x != 0 ? QString::number(std::fabs(v - x) / std::fabs(x) * 100, 'g', 3) + "%"
                                        : QStringLiteral("-"));
    }
    for (int c = 0; c < cells.size(); ++c) {
      auto* item = new QTableWidgetItem(cells[c]);
      // A value lost to zero is what a teacher points at.
      if (c % 2 == 1 && x != 0 && cells[c] == QLatin1String("0")) item->setForeground(QColor("#c62828"));
      table_->setItem(int(i), c, item);
    }
  }
}

}  // namespace plab::ui
