#pragma once
// Per-layer heat map over time: one row per layer, one column per statistics step,
// coloured by the chosen measure (gradient underflow share, overflow share, zeros,
// the fp32 shadow's "would underflow / overflow / lose precision" shares when the run
// had shadow_stats on, or the number of overflow events that named the layer). Overlaid runs are stacked:
// each run is a band of rows, marked on the left in the run's colour, with one colour
// scale for all so the runs compare cell by cell.
#include <QMap>
#include <utility>
#include <vector>

#include "plots/run_plot.h"

class QComboBox;
class QCPColorMap;
class QCPColorScale;

namespace plab::ui {

class LayerHeatMap : public RunPlot {
  Q_OBJECT
 public:
  enum class Measure {
    gradientUnderflow,
    gradientOverflow,
    activationUnderflow,
    gradientZeros,
    shadowGradientUnderflow,  // the fp32 shadow's values that would round to zero in the layer's format
    shadowGradientOverflow,
    shadowGradientPrecisionLoss,
    shadowActivationUnderflow,
    overflowEvents
  };
  explicit LayerHeatMap(QWidget* parent = nullptr);
  void setMeasure(Measure m);
  // What is shown, per run in the order of runs() (tests).
  int bandCount() const { return int(bands_.size()); }
  double cell(int layerRow, int column, int run = 0) const;
  int layerCount(int run = 0) const;
  int stepCount(int run = 0) const;
  // A row's whole name ("#2 layers[0] linear" when several runs are shown).
  QString rowLabel(int layerRow, int run = 0) const;
  // Every how many rows a name is written on the axis (1: every row), as last drawn.
  int labelStride() const { return labelStride_; }
  QColor bandColour(int run) const;
  // The colour scale's range: from 0 to the largest value shown (0 .. 1 when all are 0).
  std::pair<double, double> colourRange() const;

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;

 private:
  // One run's rows: layers from firstRow down, one column per statistics step.
  struct Band {
    const RunData* run = nullptr;
    std::uint64_t revision = 0;
    QColor colour;
    QCPColorMap* map = nullptr;
    int firstRow = 0;
    QStringList layers;
    std::vector<std::int64_t> steps;
  };
  bool upToDate() const;
  void ensureScale();
  void fillBand(Band& band, const RunData& run, Measure measure);
  void labelRows();
  void thinRowLabels();
  const Band* bandAtRow(int row) const;

  QComboBox* measure_;
  QCPColorScale* scale_ = nullptr;
  std::vector<Band> bands_;
  QMap<double, QString> rowNames_;  // by row, as on the axis when there is room
  int labelStride_ = 1;
};

}  // namespace plab::ui
