#include "plots/speed_plot.h"

#include <QLabel>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "core/json_number.h"


namespace plab::ui {

SpeedPlot::SpeedPlot(QWidget* parent) : RunPlot(tr("Speed"), parent) {
  setObjectName(QStringLiteral("speedPlot"));
  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("step time (ms)"));
  plot()->yAxis2->setLabel(tr("samples/s"));
  plot()->yAxis2->setVisible(true);
  plot()->legend->setVisible(true);
  shadowCost_ = new QLabel;
  shadowCost_->setObjectName(QStringLiteral("shadowCost"));
  shadowCost_->setVisible(false);
  static_cast<QVBoxLayout*>(layout())->insertWidget(0, shadowCost_);
}

QString SpeedPlot::shadowCostText() const { return shadowCost_->text(); }

void SpeedPlot::showShadowCost() {
  QStringList lines;
  for (const PlotRun& run : runs_) {
    const auto& summary = run.data->summary;
    const auto passes = summary.find("shadow_passes");
    const auto ms = summary.find("median_shadow_ms");
    if (passes == summary.end() || ms == summary.end() || !passes->is_number()) continue;
    const double median = numberFromJson(*ms).value_or(0);
    lines << tr("%1fp32 shadow passes: %2, median %3 ms each (not in the step time)")
                 .arg(overlay() ? QStringLiteral("#%1 ").arg(run.data->runId) : QString())
                 .arg(passes->get<std::int64_t>())
                 .arg(median, 0, 'g', 3);
  }
  shadowCost_->setText(lines.join(QLatin1Char('\n')));
  shadowCost_->setVisible(!lines.isEmpty());
}

void SpeedPlot::clearSeries() {
  samplesMax_ = 0;
  plot()->clearGraphs();
  series_.clear();
}

void SpeedPlot::updateSeries() {
  showShadowCost();
  for (const PlotRun& run : runs_) {
    auto it = series_.find(run.data.get());
    if (it == series_.end()) {
      Series s;
      const QString prefix = overlay() ? QStringLiteral("#%1 ").arg(run.data->runId) : QString();
      s.stepMs = addLiveGraph();
      s.stepMs->setPen(QPen(overlay() ? run.colour : QColor("#6a1b9a"), 1.2));
      s.stepMs->setName(prefix + tr("step time (ms)"));
      s.samples = addLiveGraph(plot()->yAxis2);
      s.samples->setPen(QPen(overlay() ? run.colour.lighter(130) : QColor("#00897b"), 1.2, Qt::DashLine));
      s.samples->setName(prefix + tr("samples/s"));
      it = series_.emplace(run.data.get(), s).first;
    }
    Series& s = it->second;
    QVector<QCPGraphData> ms, samples;
    const auto& steps = run.data->steps;
    for (; s.cursor < steps.size(); ++s.cursor) {
      const StepMetrics& m = steps[s.cursor];
      if (plottable(m.stepMs) && m.stepMs > 0) {
        ms.append({double(m.step), m.stepMs});
        extent_.add(double(m.step), m.stepMs);
      }
      if (plottable(m.samplesPerSecond) && m.samplesPerSecond > 0) {
        samples.append({double(m.step), m.samplesPerSecond});
        samplesMax_ = std::max(samplesMax_, m.samplesPerSecond);
      }
    }
    const std::int64_t expected = run.data->isLive() ? run.data->totalSteps : 0;
    appendPoints(s.stepMs, ms, expected);
    appendPoints(s.samples, samples, expected);
  }
  if (!extent_.yMax || extent_.yMin > extent_.yMax) return;
  followLiveRuns();
  bool anyLive = false;
  for (const PlotRun& run : runs_) anyLive = anyLive || run.data->isLive();
  if (anyLive) plot()->yAxis2->setRange(0, samplesMax_ * 1.05);
}

QString SpeedPlot::readout(double x, double y) const {
  return tr("step %1\n%2 ms · %3 samples/s").arg(qRound64(x)).arg(y, 0, 'g', 4)
      .arg(plot()->yAxis2->pixelToCoord(plot()->yAxis->coordToPixel(y)), 0, 'f', 0);
}

}  // namespace plab::ui
