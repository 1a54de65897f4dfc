#pragma once
// The shadow pass (docs/architecture.md, "Shadow statistics"): on a statistics step,
// before the run's own step, the same forward and backward once more in fp32, from the
// same weights and batch, with the loss times the run's current loss scale. Its values
// are measured against each layer's format (train/shadow_stats.h) and compared with the
// run's own tensors of that step. It never writes into the run's network or step
// state, so the run's step and its rounding are untouched. Built on the Backend
// interface only: it runs wherever the run does.
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "model/network.h"
#include "train/training_step.h"

namespace plab {

class ShadowPass {
 public:
  // The shadow network: the run's layers, every one in fp32, no master weights.
  ShadowPass(const Experiment& experiment, const Shape& sampleShape, Backend& backend);
  ~ShadowPass();

  // Copies the run network's working weights (exactly, into fp32), then runs forward
  // (training mode, the same dropout masks for `step`), the fp32 loss with its gradient
  // times lossScale, and backward, keeping every layer's values. Syncs.
  void run(Network& real, const StepBuffers& buffers, LossKind loss, float lossScale, std::int64_t step);

  // Gives each record of the run's step its ShadowStats: the shadow values of the same
  // layer and kind against the record's format, and the relative error of `real` (the
  // run network's captured values of that step) against them.
  void attach(std::vector<LayerStatsRecord>& records, const std::vector<Network::CapturedValues>& real) const;

  double lastMilliseconds() const { return lastMs_; }  // wall time of the last run, synced

 private:
  void copyWeights(const Tensor& from, Tensor& to);

  Backend& backend_;
  LossScaleRule rule_;
  std::unique_ptr<Network> network_;
  Tensor dOutput_;
  std::vector<Network::CapturedValues> values_;
  double lastMs_ = 0;
};

}  // namespace plab
