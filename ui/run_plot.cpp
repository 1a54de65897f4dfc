#include "run_plot.h"

#include <qcustomplot.h>

namespace plab::ui {

void RunPlot::setRuns(const QList<PlotRun>& runs) {
  runs_ = runs;
  rebuild();
}

void RunPlot::rebuild() {
  clearSeries();
  refresh();
  resetView();
}

}  // namespace plab::ui
