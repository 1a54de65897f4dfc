#pragma once
// What a run reports, as it happens. The trainer knows nothing of SQLite, pipes or
// terminals: the store recorder, the worker's event stream and the CLI's progress
// line are each one RunObserver, and a run fans out to all of them.
//
// Calls come from the training thread, in step order. Observers must be quick (the
// trainer waits for them) and may throw: an observer's error ends the run `failed`.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "core/records.h"

namespace plab {

struct RunStartInfo {
  std::string title;
  nlohmann::json config;           // the experiment file as run
  BackendInfo backend;
  std::string backendNote;         // why this backend ("no CUDA device: cpu"), may be ""
  std::int64_t totalSteps = 0;
  std::int32_t epochs = 0;
  std::int64_t stepsPerEpoch = 0;
  std::vector<std::string> layerNames;   // forward order, "layers[0] linear"
  std::string networkSummary;
};

struct RunProgress {
  std::int64_t step = 0;
  std::int64_t totalSteps = 0;
  std::int32_t epoch = 0;
  double lastLoss = 0;
  double lossScale = 1;
  double stepsPerSecond = 0;       // over the recent window
  double etaSeconds = 0;
  bool paused = false;
};

struct RunOutcome {
  RunStatus status = RunStatus::running;
  std::string error;               // failed: what happened, with step and layer
  std::string failedLayer;         // failed: the layer the error names ("layers[0] batchnorm1d"), if one
  std::int64_t steps = 0;          // optimizer steps attempted
  std::int64_t skippedSteps = 0;
  std::int64_t overflowEvents = 0;
  double finalLossScale = 1;
  double finalTrainLoss = 0;       // mean loss of the last logged window of steps
  double testLoss = 0;             // last evaluation (NaN if none)
  double testAccuracy = -1;        // -1: none or not classification
  double medianStepMs = 0;         // the run's own steps: shadow passes are not in it
  std::int64_t shadowPasses = 0;   // shadow_stats: fp32 shadow passes run (one per statistics step)
  double medianShadowMs = 0;       // wall time of one, synced
  std::string stepCapture;         // StepRunner::summary(): how many steps were replayed
  MemoryUse memory;                // what the network holds (Network::memoryUse), after any promotions
  std::vector<PrecisionPromotion> promotions;  // adaptive precision, in step order
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void onStarted(const RunStartInfo&) {}
  virtual void onSteps(std::span<const StepMetrics>) {}
  virtual void onOverflow(const OverflowEvent&) {}
  virtual void onScaleGrowth(const ScaleGrowthEvent&) {}
  virtual void onPromotion(const PrecisionPromotion&) {}
  virtual void onEpoch(const EpochMetrics&) {}
  virtual void onLayerStats(std::span<const LayerStatsRecord>) {}
  virtual void onSpeed(std::span<const SpeedResult>) {}
  virtual void onProgress(const RunProgress&) {}
  virtual void onFinished(const RunOutcome&) {}
};

// Forwards every call to each observer in turn, in the order added.
class ObserverList final : public RunObserver {
 public:
  void add(RunObserver* observer) { observers_.push_back(observer); }
  void onStarted(const RunStartInfo& i) override { for (auto* o : observers_) o->onStarted(i); }
  void onSteps(std::span<const StepMetrics> s) override { for (auto* o : observers_) o->onSteps(s); }
  void onOverflow(const OverflowEvent& e) override { for (auto* o : observers_) o->onOverflow(e); }
  void onScaleGrowth(const ScaleGrowthEvent& e) override { for (auto* o : observers_) o->onScaleGrowth(e); }
  void onPromotion(const PrecisionPromotion& p) override { for (auto* o : observers_) o->onPromotion(p); }
  void onEpoch(const EpochMetrics& e) override { for (auto* o : observers_) o->onEpoch(e); }
  void onLayerStats(std::span<const LayerStatsRecord> s) override { for (auto* o : observers_) o->onLayerStats(s); }
  void onSpeed(std::span<const SpeedResult> s) override { for (auto* o : observers_) o->onSpeed(s); }
  void onProgress(const RunProgress& p) override { for (auto* o : observers_) o->onProgress(p); }
  void onFinished(const RunOutcome& r) override { for (auto* o : observers_) o->onFinished(r); }

 private:
  std::vector<RunObserver*> observers_;
};

}  // namespace plab
