#pragma once
// Training loss per step, raw and smoothed (exponential moving average, slider),
// test loss and accuracy per evaluation, skipped steps marked, adaptive precision's
// promotions as labelled vertical lines, one per step ("layers[0] linear fp16 -> bf16",
// "layers[0-5, 7] fp16 -> bf16"); log-y toggle.
#include <map>

#include "plots/run_plot.h"

class QCPAbstractItem;
class QCPItemText;
class QCPGraph;
class QSlider;
class QCheckBox;

namespace plab::ui {

class LossPlot : public RunPlot {
  Q_OBJECT
 public:
  explicit LossPlot(QWidget* parent = nullptr);
  void setSmoothing(double alpha);  // 0: none, 0.99: heavy
  double smoothing() const { return smoothing_; }
  void setLogY(bool on);
  bool logY() const { return logY_; }
  // Points currently held by the raw series of run i (for tests and the benchmark).
  int pointCount(int runIndex) const;
  // The promotion labels drawn now, one per step with promotions, in step order (for
  // tests): "layers[0] linear fp16 -> bf16", "layers[0-5, 7] fp16 -> bf16".
  QStringList promotionLabels() const;
  // One step's promotions as a label: the layer's name for one, else the layer indices
  // in ranges per (from, to) pair.
  static QString promotionLabel(const std::vector<PrecisionPromotion>& atOneStep);

 protected:
  void updateSeries() override;
  void clearSeries() override;
  void addContextActions(QMenu* menu) override;
  QString readout(double x, double y) const override;

 private:
  struct Series {
    QCPGraph* raw = nullptr;
    QCPGraph* smooth = nullptr;
    QCPGraph* skipped = nullptr;
    QCPGraph* testLoss = nullptr;
    QCPGraph* testAccuracy = nullptr;
    struct PromotionMark {
      std::int64_t step = 0;
      std::vector<PrecisionPromotion> promotions;
      QCPAbstractItem* line = nullptr;
      QCPItemText* label = nullptr;
    };
    std::vector<PromotionMark> promotionMarks;  // one per step with promotions
    std::size_t stepCursor = 0, epochCursor = 0, promotionCursor = 0;
    double ema = 0;
    bool emaStarted = false;
    double lastFinite = 0;
    std::int64_t stride = 0;  // smoothed series keeps steps divisible by stride
  };
  Series makeSeries(const PlotRun& run);
  void addPromotion(Series& s, const PlotRun& run, const PrecisionPromotion& p);
  // Each promotion label beside its line, left of it where it would pass the right
  // edge, staggered in four rows and below the legend where it would meet it.
  void placePromotionLabels();
  std::map<const RunData*, Series> series_;
  double smoothing_ = 0.9;
  bool logY_ = false;
  QSlider* slider_;
  QCheckBox* logBox_;
};

}  // namespace plab::ui
