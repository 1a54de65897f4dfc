#include "plots/run_plot.h"

#include <qcustomplot.h>

namespace plab::ui {
namespace {

// QCPDataContainer without a public reserve: its storage is protected, so a subclass
// adds one. Only graphs made by RunPlot::addLiveGraph hold this type.
class ReservableGraphData : public QCPGraphDataContainer {
 public:
  void reserve(std::int64_t points) {
    constexpr std::int64_t kMostReserved = 20'000'000;
    mData.reserve(mPreallocSize + int(std::min(points, kMostReserved)));
  }
};

}  // namespace

QCPGraph* RunPlot::addLiveGraph(QCPAxis* valueAxis) {
  QCPGraph* graph = plot()->addGraph(plot()->xAxis, valueAxis ? valueAxis : plot()->yAxis);
  graph->setData(QSharedPointer<QCPGraphDataContainer>(new ReservableGraphData));
  return graph;
}

void RunPlot::appendPoints(QCPGraph* graph, const QVector<QCPGraphData>& points, std::int64_t expected) {
  if (points.isEmpty()) return;
  const bool first = graph->data()->isEmpty();
  graph->data()->add(points, true);
  // After the first add: adding to an empty container adopts the given vector whole.
  if (first && expected > points.size()) static_cast<ReservableGraphData*>(graph->data().data())->reserve(expected);
}

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
  // With nothing drawn yet, rescaling keeps the previous runs' range, which would then
  // read as a user's zoom and stop the view following the new runs: start at the origin.
  if (extent_.yMin > extent_.yMax) plot()->xAxis->setRange(0, 1);
  resetView();
}

}  // namespace plab::ui
