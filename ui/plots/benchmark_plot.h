#pragma once
#include "plots/run_plot.h"

namespace plab::ui {

// The speed benchmark: median step time of fp32 / tf32 / fp16-mixed / bf16-mixed /
// the run's own assignment as bars, each labelled with its speedup over fp32; and
// beside it per-layer forward and backward times of one configuration.
class BenchmarkPlot : public RunPlot {
  Q_OBJECT
 public:
  void resetView() override;
  explicit BenchmarkPlot(QWidget* parent = nullptr);
  // "fp16-mixed: ×1.82" lines, as drawn (tests, reports).
  QStringList speedupLabels() const { return labels_; }

 protected:
  void updateSeries() override;
  void clearSeries() override;

 private:
  QStringList labels_;
  std::uint64_t seen_ = ~0ull;
};

}  // namespace plab::ui
