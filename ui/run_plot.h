#pragma once
// A PlotWidget that shows one or several runs (overlay). It keeps, per run, a cursor
// into the run's data so each refresh appends only the new points; setRuns() starts over.
#include <QHash>
#include <QList>

#include "plot_widget.h"
#include "run_data.h"

namespace plab::ui {

class RunPlot : public PlotWidget {
  Q_OBJECT
 public:
  using PlotWidget::PlotWidget;
  void setRuns(const QList<PlotRun>& runs);
  const QList<PlotRun>& runs() const { return runs_; }
  bool overlay() const { return runs_.size() > 1; }

 protected:
  // Removes every series; called before the runs change.
  virtual void clearSeries() = 0;
  // Rebuilds from scratch on the next refresh (e.g. the smoothing changed).
  void rebuild();
  QList<PlotRun> runs_;
};

// Finite values only: QCustomPlot draws NaN as a gap, but inf would blow up the axis.
inline bool plottable(double v) { return v == v && v != HUGE_VAL && v != -HUGE_VAL; }

}  // namespace plab::ui
