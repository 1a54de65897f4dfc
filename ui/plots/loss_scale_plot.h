#pragma once
// The loss scale per step on a log2 axis, with each overflow as a marker; hovering a
// marker shows the step, the scale before and after, and the layers that overflowed.
#include <map>
#include <optional>

#include "plots/run_plot.h"

class QCPGraph;

namespace plab::ui {

class LossScalePlot : public RunPlot {
  Q_OBJECT
 public:
  explicit LossScalePlot(QWidget* parent = nullptr);
  // The overflow nearest to pixel position pos within radius pixels, or nullptr.
  const OverflowEvent* overflowNear(const QPointF& pos, double radius = 8) const;
  // The text a hover over this overflow shows.
  static QString describeOverflow(const OverflowEvent& e);
  int overflowMarkerCount() const;
  // The loss scale `run` used at `step` (its last recorded step at or before it).
  static std::optional<double> scaleAt(const RunData& run, std::int64_t step);
  void resetView() override;

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;

 private:
  struct Series {
    QCPGraph* scale = nullptr;
    QCPGraph* overflows = nullptr;
    std::size_t stepCursor = 0, overflowCursor = 0;
    double lastScale = -1;
    std::int64_t lastStep = 0;
  };
  void fitScaleAxis(double lo, double hi);
  std::map<const RunData*, Series> series_;
};

}  // namespace plab::ui
