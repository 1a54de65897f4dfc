#include "plots/gradient_histogram_plot.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSlider>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "common/precision_palette.h"

namespace plab::ui {

GradientHistogramPlot::GradientHistogramPlot(QWidget* parent) : RunPlot(tr("Histogram of log₂|x| before rounding"), parent) {
  setObjectName(QStringLiteral("gradientHistogram"));
  connect(plot(), &QCustomPlot::afterLayout, this, &GradientHistogramPlot::placeFormatRanges);
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Layer")));
  layer_ = new QComboBox;
  layer_->setObjectName(QStringLiteral("histogramLayer"));
  layer_->setMinimumContentsLength(16);
  controls->addWidget(layer_);
  kind_ = new QComboBox;
  kind_->setObjectName(QStringLiteral("histogramKind"));
  kind_->addItem(tr("gradients"), int(StatsKind::gradient));
  kind_->addItem(tr("activations"), int(StatsKind::activation));
  controls->addWidget(kind_);
  controls->addWidget(new QLabel(tr("Step")));
  step_ = new QSlider(Qt::Horizontal);
  step_->setObjectName(QStringLiteral("histogramStep"));
  step_->setToolTip(tr("Which statistics step to show; rightmost follows the run"));
  controls->addWidget(step_, 1);
  stepLabel_ = new QLabel;
  stepLabel_->setObjectName(QStringLiteral("histogramStepShown"));
  controls->addWidget(stepLabel_);
  static_cast<QVBoxLayout*>(layout())->insertLayout(0, controls);
  shares_ = new QLabel;
  shares_->setObjectName(QStringLiteral("histogramShares"));
  shares_->setWordWrap(true);  // a long line wraps rather than running past a small window
  // Never squeezed below its wrapped height: the plot under it gives way instead.
  shares_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
  static_cast<QVBoxLayout*>(layout())->insertWidget(1, shares_);

  // What is counted (engine/core/tensor_stats.h, docs/user-guide.md "Gradients"): each
  // value as the layer computed it in fp32, before it was rounded to the layer's format,
  // gradients still multiplied by the loss scale. So bars left of a format's band are
  // the values that rounding turned to zero, not values the format held.
  plot()->xAxis->setLabel(tr("log₂|x| before rounding to the layer's format (gradients × loss scale)"));
  plot()->yAxis->setLabel(tr("share of values"));
  plot()->xAxis->setRange(kLeftEdge, 20);
  // The line above the plot names layer, step and format for each run: no legend
  // box to cover the format bands.
  plot()->legend->setVisible(false);
  auto rebuildSoon = [this] { rebuild(); };
  connect(layer_, &QComboBox::currentTextChanged, this, rebuildSoon);
  connect(kind_, &QComboBox::currentIndexChanged, this, rebuildSoon);
  connect(step_, &QSlider::valueChanged, this, [this](int v) {
    followLatest_ = v == step_->maximum();
    rebuild();
  });
}

void GradientHistogramPlot::setLayer(const QString& layerName) { layer_->setCurrentText(layerName); }
void GradientHistogramPlot::setKind(StatsKind kind) { kind_->setCurrentIndex(kind_->findData(int(kind))); }
QString GradientHistogramPlot::layer() const { return layer_->currentText(); }
QString GradientHistogramPlot::sharesText() const { return shares_->text(); }

void GradientHistogramPlot::clearSeries() {
  plot()->clearPlottables();
  zeroBar_ = shadowZeroBar_ = nullptr;
  shadowOutline_ = nullptr;
  clearDataItems();
  formatRows_.clear();  // the items went with the others
  seenRevision_.clear();
}

void GradientHistogramPlot::resetView() {
  plot()->xAxis->setRange(kLeftEdge, 20);
  fitY();
  requestDraw();
}

std::vector<const LayerStatsRecord*> GradientHistogramPlot::recordsFor(const RunData& run) const {
  std::vector<const LayerStatsRecord*> out;
  const std::string name = layer_->currentText().toStdString();
  const auto kind = StatsKind(kind_->currentData().toInt());
  for (const auto& r : run.layerStats) {
    if (r.kind == kind && r.layerName == name) out.push_back(&r);
  }
  return out;
}

const LayerStatsRecord* GradientHistogramPlot::shownRecord(int runIndex) const {
  if (runIndex < 0 || runIndex >= runs_.size()) return nullptr;
  const auto records = recordsFor(*runs_[runIndex].data);
  if (records.empty()) return nullptr;
  if (followLatest_) return records.back();
  return records[std::size_t(std::clamp<int>(step_->value(), 0, int(records.size()) - 1))];
}

const LayerStatsRecord* GradientHistogramPlot::sampledRecord(int runIndex) const {
  const LayerStatsRecord* shown = shownRecord(runIndex);
  if (!shown) return nullptr;
  const LayerStatsRecord* best = nullptr;
  for (const LayerStatsRecord* r : recordsFor(*runs_[runIndex].data))
    if (!r->sample.empty() && r->step <= shown->step) best = r;
  return best;
}

void GradientHistogramPlot::syncLayerChoices() {
  QStringList names;
  for (const PlotRun& run : runs_) {
    for (const auto& n : run.data->statsLayerNames()) {
      if (!names.contains(QString::fromStdString(n))) names << QString::fromStdString(n);
    }
  }
  QStringList current;
  for (int i = 0; i < layer_->count(); ++i) current << layer_->itemText(i);
  if (names == current) return;
  const QSignalBlocker block(layer_);
  const QString keep = layer_->currentText();
  layer_->clear();
  layer_->addItems(names);
  // Default to the first layer: in backward order its gradients are the smallest.
  layer_->setCurrentIndex(std::max(0, int(names.indexOf(keep))));
}

void GradientHistogramPlot::drawFormatRanges() {
  // Ranges from the numerics core: min subnormal .. min normal (light), .. max (darker),
  // one row a format (placeFormatRanges sets the rows' heights).
  formatRows_.clear();
  for (Precision p : {Precision::fp16, Precision::bf16, Precision::fp8_e4m3, Precision::fp8_e5m2}) {
    const FormatInfo& f = formatInfo(p);
    QColor c = precisionColour(p);
    auto band = [&](double from, double to, int alpha) {
      auto* rect = new QCPItemRect(plot());
      rect->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
      rect->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
      rect->topLeft->setCoords(std::log2(from), 0);
      rect->bottomRight->setCoords(std::log2(to), 0);
      c.setAlpha(alpha);
      rect->setBrush(c);
      rect->setPen(Qt::NoPen);
      rect->setLayer(QStringLiteral("background"));
      rect->setSelectable(false);
      return rect;
    };
    QCPItemRect* subnormal = band(f.minSubnormal, f.minNormal, 70);
    QCPItemRect* normal = band(f.minNormal, f.maxFinite, 170);
    auto* label = new QCPItemText(plot());
    label->position->setType(QCPItemPosition::ptAxisRectRatio);  // pinned to the left edge
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    label->setBrush(QColor(255, 255, 255, 210));
    label->setPadding(QMargins(2, 0, 2, 0));
    label->setFont(font());  // the widget's own size: readable on a projector
    label->setText(precisionName(p));
    label->setColor(precisionColour(p).darker(130));
    label->setSelectable(false);
    label->setClipToAxisRect(true);
    formatRows_.append({subnormal, normal, label});
  }
  placeFormatRanges();
}

void GradientHistogramPlot::placeFormatRanges() {
  const int height = plot()->axisRect()->rect().height();
  if (formatRows_.isEmpty() || height <= 0) return;
  // A row is one label line high (the band two thirds of it), from the top down.
  const double pitch = double(QFontMetrics(font()).height() + 2) / height;
  for (int row = 0; row < formatRows_.size(); ++row) {
    const double top = 0.01 + pitch * row, middle = top + pitch / 2;
    const FormatRow& r = formatRows_[row];
    for (QCPItemRect* band : {r.subnormal, r.normal}) {
      band->topLeft->setCoords(band->topLeft->coords().x(), middle - pitch / 3);
      band->bottomRight->setCoords(band->bottomRight->coords().x(), middle + pitch / 3);
    }
    r.label->position->setCoords(0.005, middle);
  }
  const double share = std::min(0.6, 0.02 + pitch * formatRows_.size());
  if (std::abs(share - rowsShare_) > 1e-3) {
    rowsShare_ = share;
    fitY();
  }
}

namespace {

// Shares of all values: each log2 bin, and the values that were exactly zero.
QVector<double> binShares(const std::array<std::int64_t, kLog2HistBins>& bins, double total) {
  QVector<double> values;
  for (int b = 0; b < kLog2HistBins; ++b) values << (total > 0 ? double(bins[std::size_t(b)]) / total : 0.0);
  return values;
}

QVector<double> binKeys() {
  QVector<double> keys;
  for (int b = 0; b < kLog2HistBins; ++b) keys << double(kLog2HistMin + b) + 0.5;  // bin b: floor(log2|x|) == kLog2HistMin + b
  return keys;
}

// Values that were zero before rounding: TensorStats::zeros counts them after rounding,
// underflows included, and the underflows are in the log2 bins already.
std::int64_t exactZeros(const TensorStats& s) { return std::max<std::int64_t>(0, s.zeros - s.underflows); }

}  // namespace

QCPBars* GradientHistogramPlot::addZeroBar(double share, const QColor& colour, bool outline) {
  auto* bar = new QCPBars(plot()->xAxis, plot()->yAxis);
  bar->setWidth(outline ? 2.2 : 1.6);
  bar->setData({kZeroBarKey}, {share}, true);
  bar->setPen(outline ? QPen(colour, 2, Qt::DashLine) : QPen(colour, 1));
  QColor fill = colour;
  fill.setAlpha(outline ? 0 : 150);
  bar->setBrush(fill);
  bar->setName(outline ? tr("exact zeros (fp32 shadow)") : tr("exact zeros"));
  if (!outline) {
    auto* label = new QCPItemText(plot());
    label->position->setCoords(kZeroBarKey, share);
    label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    label->setText(tr("0"));
    label->setColor(colour.darker(130));
    label->setSelectable(false);
  }
  return bar;
}

namespace {

// How a layer's gradients are rounded into its format ("rounding" in the run's
// experiment; docs/architecture.md, "Stochastic rounding"): stochastic rounding makes
// a gradient small enough to underflow to nearest land on the smallest subnormal now
// and then, so the shares read differently.
QString roundingOf(const RunData& run, std::int32_t layer) {
  const nlohmann::json* layers = nullptr;
  if (run.config.is_object() && run.config.contains("network") && run.config["network"].is_object() &&
      run.config["network"].contains("layers") && run.config["network"]["layers"].is_array())
    layers = &run.config["network"]["layers"];
  if (!layers || layer < 0 || std::size_t(layer) >= layers->size()) return QString();
  const nlohmann::json& l = (*layers)[std::size_t(layer)];
  if (!l.is_object() || !l.contains("rounding") || !l["rounding"].is_string()) return QString();
  return QString::fromStdString(l["rounding"].get<std::string>());
}

}  // namespace

void GradientHistogramPlot::drawRecord(const PlotRun& run, const LayerStatsRecord& r) {
  const TensorStats& s = r.stats;
  double total = double(exactZeros(s));
  for (auto c : s.log2Hist) total += double(c);
  QCPGraph* g = plot()->addGraph();
  g->setLineStyle(QCPGraph::lsStepCenter);
  const QColor colour = overlay() ? run.colour : precisionColour(QString::fromStdString(r.precision)).darker(110);
  g->setPen(QPen(colour, 2));
  QColor fill = colour;
  fill.setAlpha(overlay() ? 40 : 90);
  g->setBrush(fill);
  g->setData(binKeys(), binShares(s.log2Hist, total), true);
  const bool stochastic = r.kind == StatsKind::gradient && roundingOf(*run.data, r.layerIndex) == QLatin1String("stochastic");
  g->setName(QStringLiteral("%1%2 at step %3 (%4)")
                 .arg(overlay() ? run.data->label() + QStringLiteral(": ") : QString(), QString::fromStdString(r.layerName))
                 .arg(r.step)
                 .arg(QString::fromStdString(r.precision) + (stochastic ? tr(", stochastic rounding") : QString())));
  QCPBars* zeros = addZeroBar(total > 0 ? double(exactZeros(s)) / total : 0.0, colour, false);
  if (!zeroBar_) zeroBar_ = zeros;
}

void GradientHistogramPlot::drawShadow(const PlotRun& run, const LayerStatsRecord& r) {
  const ShadowStats& s = r.shadow;
  double total = double(s.zeros);
  for (auto c : s.log2Hist) total += double(c);
  const QColor colour = overlay() ? run.colour.darker(150) : QColor(40, 40, 40);
  QCPGraph* g = plot()->addGraph();
  g->setLineStyle(QCPGraph::lsStepCenter);
  g->setPen(QPen(colour, 1.5, Qt::DashLine));
  g->setBrush(Qt::NoBrush);
  g->setData(binKeys(), binShares(s.log2Hist, total), true);
  g->setName(tr("%1 fp32 shadow at step %2").arg(QString::fromStdString(r.layerName)).arg(r.step));
  QCPBars* zeros = addZeroBar(total > 0 ? double(s.zeros) / total : 0.0, colour, true);
  if (!shadowOutline_) {
    shadowOutline_ = g;
    shadowZeroBar_ = zeros;
  }
}

QString GradientHistogramPlot::sharesLine(const PlotRun& run, const LayerStatsRecord& r) const {
  const QString prefix = overlay() ? run.data->label() + QStringLiteral(": ") : QString();
  const QString format = QString::fromStdString(r.precision);
  QString line = tr("%1became zero when rounded to %2 %3% · became inf %4% · zeros %5% · max|x| %6")
                     .arg(prefix, format)
                     .arg(r.underflowShare() * 100, 0, 'f', 2)
                     .arg(r.overflowShare() * 100, 0, 'f', 2)
                     .arg(r.zeroShare() * 100, 0, 'f', 2)
                     .arg(double(r.stats.maxAbs), 0, 'g', 4);
  // Gradients are where a layer's rounding option applies: say which one it was.
  const QString rounding = roundingOf(*run.data, r.layerIndex);
  if (r.kind == StatsKind::gradient && !rounding.isEmpty())
    line += rounding == QLatin1String("stochastic") ? tr(" · rounding: stochastic") : tr(" · rounding: to nearest");
  if (!r.hasShadow) return line;
  line += tr("\n%1fp32 shadow (dashed): would underflow in %2 %3% · would overflow %4% · "
             "would lose over half its bits %5% · relative error of the run's values %6")
              .arg(prefix, format)
              .arg(r.shadowUnderflowShare() * 100, 0, 'f', 2)
              .arg(r.shadowOverflowShare() * 100, 0, 'f', 2)
              .arg(r.shadowPrecisionLossShare() * 100, 0, 'f', 2)
              .arg(r.shadow.relError, 0, 'g', 3);
  return line;
}

void GradientHistogramPlot::updateSeries() {
  syncLayerChoices();
  bool changed = plot()->plottableCount() == 0;
  for (const PlotRun& run : runs_) changed = changed || seenRevision_[run.data.get()] != run.data->revision;
  if (!changed) return;
  plot()->clearPlottables();
  zeroBar_ = shadowZeroBar_ = nullptr;
  shadowOutline_ = nullptr;
  clearDataItems();
  drawFormatRanges();
  QStringList shares;
  int maxRecords = 0;
  for (int i = 0; i < runs_.size(); ++i) {
    const PlotRun& run = runs_[i];
    seenRevision_[run.data.get()] = run.data->revision;
    maxRecords = std::max(maxRecords, int(recordsFor(*run.data).size()));
    const LayerStatsRecord* r = shownRecord(i);
    if (!r) continue;
    drawRecord(run, *r);
    if (r->hasShadow) drawShadow(run, *r);
    shares << sharesLine(run, *r);
  }
  {
    const QSignalBlocker block(step_);
    step_->setRange(0, std::max(0, maxRecords - 1));
    if (followLatest_) step_->setValue(step_->maximum());
  }
  stepLabel_->setText(shownStepsText());
  shares_->setText(shares.isEmpty() ? tr("No statistics yet (they are recorded every stats_interval steps).")
                                    : shares.join(QStringLiteral("\n")));
  fitY();
}

QString GradientHistogramPlot::shownStepsText() const {
  QStringList steps;
  for (int i = 0; i < runs_.size(); ++i) {
    const LayerStatsRecord* r = shownRecord(i);
    if (r && !steps.contains(QString::number(r->step))) steps << QString::number(r->step);
  }
  if (steps.isEmpty()) return tr("no step");
  return tr("step %1%2").arg(steps.join(QStringLiteral(" / ")), followLatest_ ? tr(" (latest)") : QString());
}

void GradientHistogramPlot::fitY() {
  // Headroom: the top of the plot holds the format rows (rowsShare_ of its height).
  plot()->yAxis->rescale();
  plot()->yAxis->setRange(0, std::max(1e-3, plot()->yAxis->range().upper / (1.0 - rowsShare_)));
}

void GradientHistogramPlot::addContextActions(QMenu* menu) {
  const LayerStatsRecord* r = shownRecord(0);
  if (!r) return;
  const double maxAbs = double(r->stats.maxAbs);
  menu->addAction(tr("Explore max |x| = %1 in the Precision Explorer").arg(maxAbs, 0, 'g', 6), this,
                  [this, maxAbs] { emit valuePicked(maxAbs); });
  const LayerStatsRecord* sampled = sampledRecord(0);
  if (!sampled) return;  // a run stored before samples were kept
  const std::vector<float> sample = sampled->sample;
  const QString source = sampleSource(*sampled);
  menu->addAction(tr("Quantise its first %1 values in the Precision Explorer").arg(sample.size()), this,
                  [this, sample, source] { emit blockPicked(sample, source); });
}

QString GradientHistogramPlot::sampleSource(const LayerStatsRecord& r) {
  return tr("%1 %2 at step %3: the first %4 values as computed in fp32, before rounding into %5")
      .arg(QString::fromStdString(r.layerName),
           r.kind == StatsKind::activation ? tr("activations") : tr("gradients"))
      .arg(r.step)
      .arg(r.sample.size())
      .arg(QString::fromStdString(r.precision));
}

QString GradientHistogramPlot::readout(double x, double y) const {
  if (std::abs(x - kZeroBarKey) < 1.1) return tr("exact zeros\nshare %1").arg(y, 0, 'g', 3);
  return tr("|x| ≈ 2^%1 = %2\nshare %3").arg(std::floor(x)).arg(std::exp2(std::floor(x)), 0, 'g', 3).arg(y, 0, 'g', 3);
}

}  // namespace plab::ui
