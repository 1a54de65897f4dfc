#pragma once
// Per-layer heat map over time: one row per layer, one column per statistics step,
// coloured by the chosen measure (gradient underflow share, overflow share, zeros,
// or the number of overflow events that named the layer). Shows the first run.
#include "run_plot.h"

class QComboBox;
class QCPColorMap;

namespace plab::ui {

class LayerHeatMap : public RunPlot {
  Q_OBJECT
 public:
  enum class Measure { gradientUnderflow, gradientOverflow, activationUnderflow, gradientZeros, overflowEvents };
  explicit LayerHeatMap(QWidget* parent = nullptr);
  void setMeasure(Measure m);
  // The value in the cell of layer row and time column (tests).
  double cell(int layerRow, int column) const;
  int layerCount() const { return layers_; }
  int stepCount() const { return columns_; }

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;

 private:
  QComboBox* measure_;
  QCPColorMap* map_ = nullptr;
  std::uint64_t seenRevision_ = 0;
  const RunData* seenRun_ = nullptr;
  int layers_ = 0, columns_ = 0;
  std::vector<std::int64_t> columnSteps_;
  QStringList layerNames_;
};

}  // namespace plab::ui
