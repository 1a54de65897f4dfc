#pragma once
// A RunObserver that keeps everything it hears, for tests to inspect, and can ask
// for a stop or a pause after a given step (as the worker's stdin reader would).
#include <cstdint>
#include <vector>

#include "train/run_control.h"
#include "train/run_observer.h"

namespace plab::test {

class RecordingObserver final : public RunObserver {
 public:
  RunStartInfo started;
  std::vector<StepMetrics> steps;
  std::vector<OverflowEvent> overflows;
  std::vector<ScaleGrowthEvent> growths;
  std::vector<PrecisionPromotion> promotions;
  std::vector<EpochMetrics> epochs;
  std::vector<LayerStatsRecord> stats;
  std::vector<RunProgress> progress;
  RunOutcome finished;
  int finishedCalls = 0;

  RunControl* control = nullptr;
  std::int64_t stopAfterStep = 0;  // > 0: request a stop once this step's record arrives

  void onStarted(const RunStartInfo& i) override { started = i; }
  void onSteps(std::span<const StepMetrics> s) override {
    steps.insert(steps.end(), s.begin(), s.end());
    if (control && stopAfterStep > 0 && !steps.empty() && steps.back().step >= stopAfterStep) control->requestStop();
  }
  void onOverflow(const OverflowEvent& e) override { overflows.push_back(e); }
  void onScaleGrowth(const ScaleGrowthEvent& e) override { growths.push_back(e); }
  void onPromotion(const PrecisionPromotion& p) override { promotions.push_back(p); }
  void onEpoch(const EpochMetrics& e) override { epochs.push_back(e); }
  void onLayerStats(std::span<const LayerStatsRecord> s) override { stats.insert(stats.end(), s.begin(), s.end()); }
  void onProgress(const RunProgress& p) override { progress.push_back(p); }
  void onFinished(const RunOutcome& o) override {
    finished = o;
    ++finishedCalls;
  }
};

}  // namespace plab::test
