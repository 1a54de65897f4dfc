#pragma once
// Per-layer forward and backward time of one benchmark configuration, as stacked bars.
#include "run_plot.h"

class QComboBox;

namespace plab::ui {

class LayerTimingPlot : public RunPlot {
  Q_OBJECT
 public:
  explicit LayerTimingPlot(QWidget* parent = nullptr);

 protected:
  void updateSeries() override;
  void clearSeries() override;

 private:
  QComboBox* config_;
  std::uint64_t seen_ = ~0ull;
};

}  // namespace plab::ui
