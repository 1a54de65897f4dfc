#pragma once
// Per-layer histogram of log2|x| (gradients or activations, as recorded before
// rounding) at a chosen statistics step, with the ranges that fp16, bf16 and fp8 can
// represent shaded: from the smallest subnormal to the largest finite value, the
// subnormal part lighter. What falls left of a range underflows in that format.
#include <map>

#include "plots/run_plot.h"

class QComboBox;
class QSlider;
class QLabel;

namespace plab::ui {

class GradientHistogramPlot : public RunPlot {
  Q_OBJECT
 public:
  void resetView() override;
  explicit GradientHistogramPlot(QWidget* parent = nullptr);
  void setLayer(const QString& layerName);
  void setKind(StatsKind kind);
  QString layer() const;
  // The records shown for run i (latest step, or the step the slider picked).
  const LayerStatsRecord* shownRecord(int runIndex) const;
  QString sharesText() const;

 signals:
  // The user asked to see this value (max |x| of the shown tensor) in every format.
  void valuePicked(double value);

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;
  void addContextActions(QMenu* menu) override;

 private:
  void drawFormatRanges();
  void fitY();
  void syncLayerChoices();
  std::vector<const LayerStatsRecord*> recordsFor(const RunData& run) const;
  QComboBox* layer_;
  QComboBox* kind_;
  QSlider* step_;
  QLabel* shares_;
  std::map<const RunData*, std::uint64_t> seenRevision_;
  bool followLatest_ = true;
};

}  // namespace plab::ui
