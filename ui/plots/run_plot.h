#pragma once
// A PlotWidget that shows one or several runs (overlay). It keeps, per run, a cursor
// into the run's data so each refresh appends only the new points; setRuns() starts over.
#include <QHash>
#include <QList>
#include <algorithm>
#include <cmath>

#include "plots/plot_widget.h"
#include "runs/run_data.h"

class QCPAxis;
class QCPGraph;
class QCPGraphData;

namespace plab::ui {

class RunPlot : public PlotWidget {
  Q_OBJECT
 public:
  using PlotWidget::PlotWidget;
  void setRuns(const QList<PlotRun>& runs);
  const QList<PlotRun>& runs() const { return runs_; }
  bool overlay() const { return runs_.size() > 1; }

 protected:
  // A graph whose data container can reserve room (see appendPoints).
  QCPGraph* addLiveGraph(QCPAxis* valueAxis = nullptr);
  // Appends points sorted by step to a graph made by addLiveGraph. QCustomPlot grows a
  // graph's data by copying it whole, which at a million points stalls the GUI thread;
  // a live run announces its length, so the first append reserves room for `expected`.
  static void appendPoints(QCPGraph* graph, const QVector<QCPGraphData>& points, std::int64_t expected);
  // Removes every series; called before the runs change.
  virtual void clearSeries() = 0;
  // Rebuilds from scratch on the next refresh (e.g. the smoothing changed).
  void rebuild();
  // Live runs: extents of what was appended, kept as points arrive, so following the
  // run costs O(new points) instead of rescaling over every point each tick.
  struct Extent {
    double xMax = 0, yMin = HUGE_VAL, yMax = -HUGE_VAL;
    void add(double x, double y) {
      xMax = std::max(xMax, x);
      yMin = std::min(yMin, y);
      yMax = std::max(yMax, y);
    }
  };
  Extent extent_;
  // Shows [0, xMax] x [yMin, yMax] of extent_ while any shown run is live and the user
  // has not zoomed or panned since the last reset.
  void followLiveRuns(bool logY = false);
  QList<PlotRun> runs_;
};

// Finite values only: QCustomPlot draws NaN as a gap, but inf would blow up the axis.
inline bool plottable(double v) { return v == v && v != HUGE_VAL && v != -HUGE_VAL; }

}  // namespace plab::ui
