#pragma once
// Per-layer histogram of log2|x| (gradients, times the loss scale, or activations, as
// the layer computed them before rounding to its format) at a chosen statistics step,
// with the ranges that fp16, bf16 and fp8 can represent shaded: from the smallest subnormal to the largest finite value, the
// subnormal part lighter. What falls left of a range underflows in that format.
// Values that were exactly zero before rounding are a bar of their own at the left
// edge (kZeroBarKey), so an all-zero tensor is a tall bar, not an empty plot. With
// shadow_stats on, the fp32 shadow's histogram (and its zero bar) is drawn as an
// outline over the run's own (docs/user-guide.md, "Shadow statistics").
#include <map>

#include "plots/run_plot.h"

class QComboBox;
class QSlider;
class QLabel;
class QCPBars;
class QCPGraph;
class QCPItemRect;
class QCPItemText;

namespace plab::ui {

class GradientHistogramPlot : public RunPlot {
  Q_OBJECT
 public:
  static constexpr double kZeroBarKey = -42;  // where the zero bar stands, left of the log2 bins shown
  static constexpr double kLeftEdge = -44;    // the x axis starts here: the zero bar is in view
  void resetView() override;
  explicit GradientHistogramPlot(QWidget* parent = nullptr);
  void setLayer(const QString& layerName);
  void setKind(StatsKind kind);
  QString layer() const;
  // The records shown for run i (latest step, or the step the slider picked).
  const LayerStatsRecord* shownRecord(int runIndex) const;
  // The shown record if it kept a sample, else the latest earlier one of the same layer
  // and kind that did (samples are kept on every tenth statistics step); null if none.
  const LayerStatsRecord* sampledRecord(int runIndex) const;
  QString sharesText() const;
  // "layers[0] linear gradients at step 200: the first 64 values ..." (blockPicked's source).
  static QString sampleSource(const LayerStatsRecord& r);
  // Which statistics step is shown ("step 120 (latest)"), as the label beside the slider says.
  QString shownStepsText() const;
  QSlider* stepSlider() const { return step_; }
  // The bars drawn for exact zeros (tests): the run's own, and the shadow's outline.
  QCPBars* zeroBar() const { return zeroBar_; }
  QCPBars* shadowZeroBar() const { return shadowZeroBar_; }
  QCPGraph* shadowOutline() const { return shadowOutline_; }

 signals:
  // The user asked to see this value (max |x| of the shown tensor) in every format.
  void valuePicked(double value);
  // The shown record's sample (its first values before rounding) and where it is from.
  void blockPicked(const std::vector<float>& values, const QString& source);

 protected:
  void updateSeries() override;
  void clearSeries() override;
  QString readout(double x, double y) const override;
  void addContextActions(QMenu* menu) override;

 private:
  void drawFormatRanges();
  // After each layout: the format rows one text line apart from the top of the axis
  // rect, whatever its height, so that their labels never run into each other.
  void placeFormatRanges();
  void drawRecord(const PlotRun& run, const LayerStatsRecord& r);
  void drawShadow(const PlotRun& run, const LayerStatsRecord& r);
  QCPBars* addZeroBar(double share, const QColor& colour, bool outline);
  QString sharesLine(const PlotRun& run, const LayerStatsRecord& r) const;
  void fitY();
  void syncLayerChoices();
  std::vector<const LayerStatsRecord*> recordsFor(const RunData& run) const;
  QComboBox* layer_;
  QComboBox* kind_;
  QSlider* step_;
  QLabel* shares_;
  QLabel* stepLabel_;
  std::map<const RunData*, std::uint64_t> seenRevision_;
  bool followLatest_ = true;
  QCPBars* zeroBar_ = nullptr;        // of the first run shown
  QCPBars* shadowZeroBar_ = nullptr;
  QCPGraph* shadowOutline_ = nullptr;
  struct FormatRow {
    QCPItemRect* subnormal;
    QCPItemRect* normal;
    QCPItemText* label;
  };
  QList<FormatRow> formatRows_;  // fp16, bf16, fp8_e4m3, fp8_e5m2, top down
  double rowsShare_ = 0.31;      // of the axis rect's height the rows take, at the last layout
};

}  // namespace plab::ui
