#include "layer_heat_map.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <map>
#include <qcustomplot.h>

namespace plab::ui {

LayerHeatMap::LayerHeatMap(QWidget* parent) : RunPlot(tr("Per-layer overflow / underflow over time"), parent) {
  setObjectName(QStringLiteral("layerHeatMap"));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Measure")));
  measure_ = new QComboBox;
  measure_->setObjectName(QStringLiteral("heatMeasure"));
  measure_->addItem(tr("gradient underflow share"), int(Measure::gradientUnderflow));
  measure_->addItem(tr("gradient overflow share"), int(Measure::gradientOverflow));
  measure_->addItem(tr("activation underflow share"), int(Measure::activationUnderflow));
  measure_->addItem(tr("gradient zeros share"), int(Measure::gradientZeros));
  measure_->addItem(tr("overflow events naming the layer"), int(Measure::overflowEvents));
  controls->addWidget(measure_);
  controls->addStretch(1);
  static_cast<QVBoxLayout*>(layout())->insertLayout(0, controls);
  connect(measure_, &QComboBox::currentIndexChanged, this, [this] { rebuild(); });
  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("layer"));
  plot()->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
}

void LayerHeatMap::setMeasure(Measure m) { measure_->setCurrentIndex(measure_->findData(int(m))); }

void LayerHeatMap::clearSeries() {
  plot()->clearPlottables();
  for (int i = plot()->plotLayout()->elementCount() - 1; i >= 0; --i) {
    if (auto* scale = qobject_cast<QCPColorScale*>(plot()->plotLayout()->elementAt(i))) {
      plot()->plotLayout()->remove(scale);
    }
  }
  plot()->plotLayout()->simplify();
  map_ = nullptr;
  seenRun_ = nullptr;
  seenRevision_ = 0;
}

double LayerHeatMap::cell(int layerRow, int column) const {
  return map_ ? map_->data()->cell(column, layerRow) : 0.0;
}

void LayerHeatMap::updateSeries() {
  if (runs_.isEmpty()) return;
  const RunData& run = *runs_.first().data;
  if (&run == seenRun_ && run.revision == seenRevision_ && map_) return;
  seenRun_ = &run;
  seenRevision_ = run.revision;
  const auto measure = Measure(measure_->currentData().toInt());

  // Columns are the statistics steps; rows the layers that have statistics.
  std::map<int, QString> layerByIndex;
  std::vector<std::int64_t> steps;
  for (const auto& r : run.layerStats) {
    layerByIndex.emplace(r.layerIndex, QString::fromStdString(r.layerName));
    if (steps.empty() || steps.back() != r.step) steps.push_back(r.step);
  }
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  std::map<int, int> rowOfLayer;
  layerNames_.clear();
  for (auto& [index, name] : layerByIndex) {
    rowOfLayer[index] = int(layerNames_.size());
    layerNames_ << name;
  }
  layers_ = int(layerNames_.size());
  columns_ = int(steps.size());
  columnSteps_ = steps;
  if (!map_) {
    map_ = new QCPColorMap(plot()->xAxis, plot()->yAxis);
    map_->setInterpolate(false);
    auto* scale = new QCPColorScale(plot());
    plot()->plotLayout()->addElement(1, 1, scale);
    scale->setType(QCPAxis::atRight);
    map_->setColorScale(scale);
    QCPColorGradient gradient(QCPColorGradient::gpHot);
    gradient.setLevelCount(100);
    map_->setGradient(gradient.inverted());
    auto* margins = new QCPMarginGroup(plot());
    plot()->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  }
  if (columns_ == 0 || layers_ == 0) {
    map_->data()->clear();
    return;
  }
  map_->data()->setSize(columns_, layers_);
  map_->data()->setRange(QCPRange(double(steps.front()), double(steps.back())), QCPRange(0, layers_ - 1));
  map_->data()->fill(0);
  auto columnOf = [&](std::int64_t step) {
    return int(std::lower_bound(steps.begin(), steps.end(), step) - steps.begin());
  };
  if (measure == Measure::overflowEvents) {
    std::map<QString, int> rowOfName;
    for (int i = 0; i < layerNames_.size(); ++i) rowOfName[layerNames_[i]] = i;
    for (const OverflowEvent& e : run.overflows) {
      // Count each overflow in the first statistics column at or after its step.
      const int column = std::min(columnOf(e.step), columns_ - 1);
      for (const auto& layer : e.layers) {
        const auto row = rowOfName.find(QString::fromStdString(layer));
        if (row != rowOfName.end()) map_->data()->setCell(column, row->second, map_->data()->cell(column, row->second) + 1);
      }
    }
  } else {
    const StatsKind kind = measure == Measure::activationUnderflow ? StatsKind::activation : StatsKind::gradient;
    for (const auto& r : run.layerStats) {
      if (r.kind != kind) continue;
      const double v = measure == Measure::gradientOverflow ? r.overflowShare()
                       : measure == Measure::gradientZeros  ? r.zeroShare()
                                                            : r.underflowShare();
      map_->data()->setCell(columnOf(r.step), rowOfLayer[r.layerIndex], v);
    }
  }
  map_->rescaleDataRange(true);
  if (map_->dataRange().upper <= map_->dataRange().lower) map_->setDataRange(QCPRange(0, 1e-6 + map_->dataRange().upper));
  // Layer names on the y axis.
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  for (int i = 0; i < layerNames_.size(); ++i) ticker->addTick(i, layerNames_[i]);
  plot()->yAxis->setTicker(ticker);
  plot()->rescaleAxes();
  plot()->yAxis->setRange(-0.5, layers_ - 0.5);
}

QString LayerHeatMap::readout(double x, double y) const {
  const int row = int(std::lround(y));
  if (!map_ || row < 0 || row >= layers_ || columnSteps_.empty()) return {};
  int column = 0;
  double best = 1e300;
  for (int c = 0; c < columns_; ++c) {
    const double d = std::abs(double(columnSteps_[std::size_t(c)]) - x);
    if (d < best) {
      best = d;
      column = c;
    }
  }
  return tr("%1\nstep %2\n%3: %4").arg(layerNames_[row]).arg(columnSteps_[std::size_t(column)]).arg(measure_->currentText())
      .arg(cell(row, column), 0, 'g', 4);
}

}  // namespace plab::ui
