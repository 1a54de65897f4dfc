#pragma once
// The training loop (docs/architecture.md, "Loss scaling" and "What a run records").
//
// Each step: upload the batch -> Network::forward -> the loss in fp32 with the
// scaled gradient (Backend::softmaxCrossEntropy / meanSquaredError) ->
// Network::backward -> Backend::checkGradients (backward order) ->
// Backend::optimizerStep (rate from the schedule, clipping, skipped on overflow) ->
// Backend::updateLossScale. fp8 delayed scales are updated by Network::forward.
// The host never waits for the device inside a step: step records are drained every
// log_interval steps, evaluations run per epoch (and every eval_interval steps), and
// statistics steps (every stats_interval) sync because the user asked for them.
// With shadow_stats, a statistics step first runs the fp32 shadow pass (train/shadow_pass.h)
// from the weights the step is about to use, outside the step timer.
//
// Failure policy (what ends a run `failed` rather than being handled by the scaler):
// - a non-finite unscaled loss, whatever the loss-scaling mode: the message names the
//   step and the first layer whose activations went non-finite (found by re-running
//   that batch's forward pass with statistics on);
// - with loss scaling `none`, a non-finite gradient: there is no scale to back off,
//   so the message names the step and the culprit layer;
// - with `static` or `dynamic`, kMaxConsecutiveSkips skipped steps in a row (the
//   scale cannot recover), naming the culprit of the last one.
// With `static`/`dynamic`, an overflow is a skipped step and an overflow event.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "model/network.h"
#include "train/loss_scaler.h"
#include "train/precision_policy.h"
#include "train/run_control.h"
#include "train/run_observer.h"
#include "train/shadow_pass.h"
#include "train/training_step.h"

namespace plab {

// Training-set accuracy per epoch is measured on at most this many examples (eval mode).
inline constexpr std::int64_t kTrainEvalLimit = 10000;
inline constexpr std::int64_t kMaxConsecutiveSkips = 200;

// The number of optimizer steps a run of e on data takes.
std::int64_t plannedSteps(const Experiment& e, const Dataset& data);

class Trainer {
 public:
  // Builds the network (shape errors throw ShapeError here, before any training).
  Trainer(const Experiment& experiment, const Dataset& data, Backend& backend, RunObserver& observer,
          RunControl& control, std::string backendNote = {});
  ~Trainer();

  // Trains to the end, a stop request or a failure, reporting through the observer
  // (onStarted first, onFinished last). Errors during training end the run `failed`
  // (reported, not thrown); an observer that throws in onFinished propagates.
  RunOutcome run();

  Network& network() { return *network_; }
  std::int64_t totalSteps() const { return totalSteps_; }

 private:
  struct Pending;  // a step whose record has not been drained yet
  struct EvalTotals { double loss = 0; double accuracy = -1; };

  void trainAll();
  void trainStep(std::int64_t step, std::int32_t epoch);
  void runShadow(std::int64_t step);
  void reportStats(std::int64_t step);
  void adaptPrecision(const std::vector<LayerStatsRecord>& records);
  void drain(bool force);
  void handleRecord(const StepRecord& r, const Pending& p, std::vector<StepMetrics>& rows);
  void evaluateEpoch(std::int32_t epoch, std::int64_t step, bool includeTrain);
  EvalTotals evaluateOn(const std::vector<float>& x, const std::vector<float>& y, std::int64_t count);
  std::string diagnoseNonFinite(std::int64_t step);
  std::string inputBeyondRange(const LayerStatsRecord& culprit, const std::vector<LayerStatsRecord>& records) const;
  void waitWhilePaused(std::int64_t step);
  void keepPace();
  void reportProgress(std::int64_t step, bool force);

  const Experiment& experiment_;
  const Dataset& data_;
  Backend& backend_;
  RunObserver& observer_;
  RunControl& control_;
  std::string backendNote_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<StepState> state_;
  std::unique_ptr<StepRunner> runner_;  // replays the captured step where the backend can
  std::unique_ptr<ShadowPass> shadow_;  // shadow_stats on
  std::unique_ptr<PrecisionPromoter> promoter_;  // precision_policy adaptive
  std::vector<double> shadowMs_;
  LossScaler scaler_;
  std::vector<std::string> gradientOwners_;
  std::int64_t totalSteps_ = 0;

  // Per-step buffers, reused.
  std::vector<float> hostX_, hostY_;
  StepBuffers buffers_;
  std::vector<std::unique_ptr<Backend::Timer>> timers_;
  std::vector<Pending> pending_;

  // What the run has seen so far.
  RunOutcome outcome_;
  std::vector<double> stepMs_;
  double epochLossSum_ = 0;
  std::int64_t epochLossCount_ = 0;
  std::int64_t consecutiveSkips_ = 0;
  std::int64_t lastStepDone_ = 0;
  std::int32_t currentEpoch_ = 0;
  std::string failure_;
  std::string failedLayer_;  // the layer failure_ names, when it names one
  double lastLoss_ = 0;
  double progressClock_ = -1;
  double paceNext_ = -1;  // keepPace: when the next step may end; -1: not pacing
  std::int64_t progressStep_ = 0;
  double stepsPerSecond_ = 0;
};

}  // namespace plab
