#pragma once
// Speed over the run: step time (ms, left axis) and samples/s (right axis) per step.
#include <map>

#include "plots/run_plot.h"

class QCPGraph;

namespace plab::ui {

class SpeedPlot : public RunPlot {
  Q_OBJECT
 public:
  explicit SpeedPlot(QWidget* parent = nullptr);

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
  std::map<const RunData*, Series> series_;
  double samplesMax_ = 0;
};

}  // namespace plab::ui
