#include "plots/layer_heat_map.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>
#include <qcustomplot.h>

namespace plab::ui {

namespace {

StatsKind kindOf(LayerHeatMap::Measure m) {
  using M = LayerHeatMap::Measure;
  return m == M::activationUnderflow || m == M::shadowActivationUnderflow ? StatsKind::activation : StatsKind::gradient;
}

// A record's value for a measure of layer statistics (not overflowEvents).
double valueOf(LayerHeatMap::Measure m, const LayerStatsRecord& r) {
  using M = LayerHeatMap::Measure;
  switch (m) {
    case M::gradientUnderflow:
    case M::activationUnderflow: return r.underflowShare();
    case M::gradientOverflow: return r.overflowShare();
    case M::gradientZeros: return r.zeroShare();
    case M::shadowGradientUnderflow:
    case M::shadowActivationUnderflow: return r.shadowUnderflowShare();
    case M::shadowGradientOverflow: return r.shadowOverflowShare();
    case M::shadowGradientPrecisionLoss: return r.shadowPrecisionLossShare();
    case M::overflowEvents: return 0;
  }
  return 0;
}

}  // namespace

LayerHeatMap::LayerHeatMap(QWidget* parent) : RunPlot(tr("Per-layer overflow / underflow over time"), parent) {
  setObjectName(QStringLiteral("layerHeatMap"));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Measure")));
  measure_ = new QComboBox;
  measure_->setObjectName(QStringLiteral("heatMeasure"));
  // In-format shares (what rounding did) and, from the fp32 shadow, what it would do
  // to values computed without rounding (docs/user-guide.md, "Shadow statistics").
  measure_->addItem(tr("gradients that became zero when rounded"), int(Measure::gradientUnderflow));
  measure_->addItem(tr("gradients that became inf when rounded"), int(Measure::gradientOverflow));
  measure_->addItem(tr("activations that became zero when rounded"), int(Measure::activationUnderflow));
  measure_->addItem(tr("gradients that are zero"), int(Measure::gradientZeros));
  measure_->addItem(tr("gradients that would underflow in the layer's format (fp32 shadow)"),
                    int(Measure::shadowGradientUnderflow));
  measure_->addItem(tr("gradients that would overflow in the layer's format (fp32 shadow)"),
                    int(Measure::shadowGradientOverflow));
  measure_->addItem(tr("gradients that would lose over half their bits (fp32 shadow)"),
                    int(Measure::shadowGradientPrecisionLoss));
  measure_->addItem(tr("activations that would underflow in the layer's format (fp32 shadow)"),
                    int(Measure::shadowActivationUnderflow));
  measure_->addItem(tr("overflow events naming the layer"), int(Measure::overflowEvents));
  controls->addWidget(measure_);
  controls->addStretch(1);
  static_cast<QVBoxLayout*>(layout())->insertLayout(0, controls);
  connect(measure_, &QComboBox::currentIndexChanged, this, [this] { rebuild(); });
  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("layer"));
  // Row 0 (the first layer of the first run) at the top, as in the network editor.
  plot()->yAxis->setRangeReversed(true);
  plot()->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  // The room per row changes with the widget's size and the zoom: thin the names anew
  // before every draw.
  connect(plot(), &QCustomPlot::beforeReplot, this, [this] {
    if (!bands_.empty()) thinRowLabels();
  });
}

void LayerHeatMap::setMeasure(Measure m) { measure_->setCurrentIndex(measure_->findData(int(m))); }

void LayerHeatMap::clearSeries() {
  plot()->clearPlottables();
  clearDataItems();
  bands_.clear();
}

double LayerHeatMap::cell(int layerRow, int column, int run) const {
  if (run < 0 || run >= bandCount() || !bands_[std::size_t(run)].map) return 0.0;
  return bands_[std::size_t(run)].map->data()->cell(column, layerRow);
}

int LayerHeatMap::layerCount(int run) const { return run >= 0 && run < bandCount() ? int(bands_[std::size_t(run)].layers.size()) : 0; }

int LayerHeatMap::stepCount(int run) const { return run >= 0 && run < bandCount() ? int(bands_[std::size_t(run)].steps.size()) : 0; }

QString LayerHeatMap::rowLabel(int layerRow, int run) const {
  if (run < 0 || run >= bandCount()) return {};
  return rowNames_.value(bands_[std::size_t(run)].firstRow + layerRow);
}

std::pair<double, double> LayerHeatMap::colourRange() const {
  return {scale_->dataRange().lower, scale_->dataRange().upper};
}

QColor LayerHeatMap::bandColour(int run) const { return run >= 0 && run < bandCount() ? bands_[std::size_t(run)].colour : QColor(); }

bool LayerHeatMap::upToDate() const {
  if (bands_.size() != std::size_t(runs_.size())) return false;
  for (std::size_t i = 0; i < bands_.size(); ++i) {
    const RunData& run = *runs_[int(i)].data;
    if (bands_[i].run != &run || bands_[i].revision != run.revision) return false;
  }
  return true;
}

void LayerHeatMap::ensureScale() {
  if (scale_) return;
  // One colour scale for every band, so equal colours mean equal values across runs.
  scale_ = new QCPColorScale(plot());
  plot()->plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  QCPColorGradient gradient(QCPColorGradient::gpHot);
  gradient.setLevelCount(100);
  scale_->setGradient(gradient.inverted());
  auto* margins = new QCPMarginGroup(plot());
  plot()->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
}

void LayerHeatMap::updateSeries() {
  if (runs_.isEmpty() || upToDate()) return;
  ensureScale();
  plot()->clearPlottables();
  clearDataItems();
  bands_.clear();
  const auto measure = Measure(measure_->currentData().toInt());
  int nextRow = 0;
  for (const PlotRun& run : runs_) {
    Band band;
    band.run = run.data.get();
    band.revision = run.data->revision;
    band.colour = run.colour;
    band.firstRow = nextRow;
    fillBand(band, *run.data, measure);
    // One empty row between runs keeps the bands apart.
    nextRow += int(band.layers.size()) + (band.layers.isEmpty() ? 0 : 1);
    bands_.push_back(band);
  }
  // Every measure is a share or a count: the colour scale starts at 0 and ends at the
  // largest value shown (QCustomPlot's own rescale centres constant data on it, which
  // drew an all-zero map on -0.4 .. 0.4). An all-zero map gets 0 .. 1.
  double largest = 0;
  for (const Band& b : bands_) {
    if (!b.map) continue;
    b.map->data()->recalculateDataBounds();
    largest = std::max(largest, b.map->data()->dataBounds().upper);
  }
  scale_->setDataRange(QCPRange(0, largest > 0 ? largest : 1.0));
  labelRows();
  double firstStep = HUGE_VAL, lastStep = -HUGE_VAL;
  for (const Band& b : bands_) {
    if (b.steps.empty()) continue;
    firstStep = std::min(firstStep, double(b.steps.front()));
    lastStep = std::max(lastStep, double(b.steps.back()));
  }
  if (firstStep <= lastStep) plot()->xAxis->setRange(firstStep, std::max(lastStep, firstStep + 1));
  plot()->yAxis->setRange(-0.5, std::max(0, nextRow - 1) - 0.5 + (nextRow > 0 ? 0 : 1));
}

void LayerHeatMap::fillBand(Band& band, const RunData& run, Measure measure) {
  // Columns are the statistics steps; rows the layers that have statistics.
  std::map<int, QString> layerByIndex;
  for (const auto& r : run.layerStats) {
    layerByIndex.emplace(r.layerIndex, QString::fromStdString(r.layerName));
    if (band.steps.empty() || band.steps.back() != r.step) band.steps.push_back(r.step);
  }
  std::sort(band.steps.begin(), band.steps.end());
  band.steps.erase(std::unique(band.steps.begin(), band.steps.end()), band.steps.end());
  std::map<int, int> rowOfLayer;
  for (auto& [index, name] : layerByIndex) {
    rowOfLayer[index] = int(band.layers.size());
    band.layers << name;
  }
  const int columns = int(band.steps.size()), rows = int(band.layers.size());
  if (columns == 0 || rows == 0) return;
  band.map = new QCPColorMap(plot()->xAxis, plot()->yAxis);
  band.map->setInterpolate(false);
  band.map->setColorScale(scale_);
  QCPColorMapData* data = band.map->data();
  data->setSize(columns, rows);
  // A single column still needs a key range; it is drawn one step wide.
  data->setRange(QCPRange(double(band.steps.front()), double(std::max(band.steps.back(), band.steps.front() + 1))),
                 QCPRange(band.firstRow, band.firstRow + rows - 1 + (rows == 1 ? 1e-9 : 0)));
  data->fill(0);
  auto columnOf = [&](std::int64_t step) {
    return std::min(int(std::lower_bound(band.steps.begin(), band.steps.end(), step) - band.steps.begin()), columns - 1);
  };
  if (measure == Measure::overflowEvents) {
    std::map<QString, int> rowOfName;
    for (int i = 0; i < rows; ++i) rowOfName[band.layers[i]] = i;
    for (const OverflowEvent& e : run.overflows) {
      // Each overflow counts in the first statistics column at or after its step.
      const int column = columnOf(e.step);
      for (const auto& layer : e.layers) {
        const auto row = rowOfName.find(QString::fromStdString(layer));
        if (row != rowOfName.end()) data->setCell(column, row->second, data->cell(column, row->second) + 1);
      }
    }
  } else {
    const StatsKind kind = kindOf(measure);
    for (const auto& r : run.layerStats) {
      if (r.kind != kind) continue;
      data->setCell(columnOf(r.step), rowOfLayer[r.layerIndex], valueOf(measure, r));
    }
  }
}

void LayerHeatMap::labelRows() {
  // Layer names on the y axis; with several runs each name carries its run's id and a
  // strip in the run's colour marks the band, as the other plots colour their runs.
  rowNames_.clear();
  for (const Band& b : bands_) {
    const QString prefix = overlay() ? QStringLiteral("#%1 ").arg(b.run->runId) : QString();
    for (int i = 0; i < b.layers.size(); ++i) rowNames_[b.firstRow + i] = prefix + b.layers[i];
    if (!overlay() || b.layers.isEmpty()) continue;
    auto* strip = new QCPItemRect(plot());
    strip->topLeft->setTypeX(QCPItemPosition::ptAxisRectRatio);
    strip->bottomRight->setTypeX(QCPItemPosition::ptAxisRectRatio);
    strip->topLeft->setCoords(0, b.firstRow - 0.5);
    strip->bottomRight->setCoords(0.012, b.firstRow + b.layers.size() - 0.5);
    strip->setBrush(b.colour);
    strip->setPen(Qt::NoPen);
    strip->setSelectable(false);
  }
  thinRowLabels();
}

void LayerHeatMap::thinRowLabels() {
  // Two runs of thirteen layers in a short plot would stack 26 names on each other:
  // name every k-th row of each band, k as small as keeps a line of text per name, each
  // name cut to a width the plot can spare (the readout names every row on hover).
  const QFontMetrics fm(plot()->yAxis->tickLabelFont());
  const double rows = std::max(1.0, plot()->yAxis->range().size());
  const double rowPixels = std::max(1, plot()->axisRect()->height()) / rows;
  const int stride = std::max(1, int(std::ceil(fm.height() * 1.15 / rowPixels)));
  const int widest = std::max(80, plot()->width() / 5);
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  for (const Band& b : bands_) {
    for (int i = 0; i < b.layers.size(); i += stride) {
      ticker->addTick(b.firstRow + i, fm.elidedText(rowNames_.value(b.firstRow + i), Qt::ElideMiddle, widest));
    }
  }
  plot()->yAxis->setTicker(ticker);
  labelStride_ = stride;
}

const LayerHeatMap::Band* LayerHeatMap::bandAtRow(int row) const {
  for (const Band& b : bands_) {
    if (row >= b.firstRow && row < b.firstRow + b.layers.size()) return &b;
  }
  return nullptr;
}

QString LayerHeatMap::readout(double x, double y) const {
  const int row = int(std::lround(y));
  const Band* band = bandAtRow(row);
  if (!band || band->steps.empty()) return {};
  const auto nearest = std::min_element(band->steps.begin(), band->steps.end(), [x](std::int64_t a, std::int64_t b) {
    return std::abs(double(a) - x) < std::abs(double(b) - x);
  });
  const int column = int(nearest - band->steps.begin());
  const int layerRow = row - band->firstRow;
  const QString run = overlay() ? band->run->label() + QLatin1Char('\n') : QString();
  return tr("%1%2\nstep %3\n%4: %5").arg(run, band->layers[layerRow]).arg(*nearest).arg(measure_->currentText())
      .arg(band->map ? band->map->data()->cell(column, layerRow) : 0.0, 0, 'g', 4);
}

}  // namespace plab::ui
