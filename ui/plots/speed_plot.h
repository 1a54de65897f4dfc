#pragma once
// Speed over the run: step time (ms, left axis) and samples/s (right axis) per step.
// Above the plot, for a finished run with shadow statistics, the cost of its fp32
// shadow passes, which the step times leave out (docs/architecture.md, "Shadow statistics").
#include <map>

#include "plots/run_plot.h"

class QCPGraph;
class QLabel;

namespace plab::ui {

class SpeedPlot : public RunPlot {
  Q_OBJECT
 public:
  explicit SpeedPlot(QWidget* parent = nullptr);
  QString shadowCostText() const;

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;

 private:
  struct Series {
    QCPGraph* stepMs = nullptr;
    QCPGraph* samples = nullptr;
    std::size_t cursor = 0;
  };
  void showShadowCost();
  std::map<const RunData*, Series> series_;
  QLabel* shadowCost_;
  double samplesMax_ = 0;
};

}  // namespace plab::ui
