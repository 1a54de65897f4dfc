#include "run_plot.h"

#include <qcustomplot.h>

namespace plab::ui {

void RunPlot::setRuns(const QList<PlotRun>& runs) {
  runs_ = runs;
  rebuild();
}

void RunPlot::followLiveRuns(bool logY) {
  bool anyLive = false;
  for (const PlotRun& run : runs_) anyLive = anyLive || run.data->isLive();
  if (!anyLive || extent_.yMin > extent_.yMax) return;
  // A user who zoomed or dragged keeps their view; reset (R) follows again.
  if (plot()->xAxis->range().lower > 1 || (plot()->xAxis->range().upper > extent_.xMax * 1.5 + 10)) return;
  plot()->xAxis->setRange(0, std::max(1.0, extent_.xMax));
  double lo = extent_.yMin, hi = extent_.yMax;
  if (logY) {
    lo = std::max(lo, 1e-12);
    plot()->yAxis->setRange(lo / 1.5, hi * 1.5);
  } else {
    const double pad = std::max(1e-9, (hi - lo) * 0.05);
    plot()->yAxis->setRange(lo - pad, hi + pad);
  }
}

void RunPlot::rebuild() {
  extent_ = Extent{};
  clearSeries();
  refresh();
  resetView();
}

}  // namespace plab::ui
