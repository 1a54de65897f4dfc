#pragma once
// The shadow pass (docs/architecture.md, "Shadow statistics"): on a statistics step,
// before the run's own step, the same forward and backward once more in fp32, from the
// same weights and batch, with the loss times the run's current loss scale. Its values
// are measured against each layer's format and compared with the run's own tensors of
// that step where both live (Backend::measureShadow): nothing is copied to the host.
// It never writes into the run's network or step state, so the run's step and its
// rounding are untouched. Built on the Backend interface only: it runs wherever the
// run does.
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
  // times lossScale, and backward, keeping a handle on every layer's values (they stay
  // in the shadow network's buffers until its next run). Syncs.
  void run(Network& real, const StepBuffers& buffers, LossKind loss, float lossScale, std::int64_t step);

  // Gives each record of the run's step its ShadowStats: the shadow tensors of the same
  // layer and kind measured against the record's format (fp8: as scaled by the run
  // tensor's scale), and the relative error of `real` (the run network's captures of
  // that step, Network::takeCaptured) against them. Syncs once.
  void attach(std::vector<LayerStatsRecord>& records, const std::vector<Network::CapturedTensors>& real);

  double lastMilliseconds() const { return lastMs_; }  // wall time of the last run, synced
  // The last run's captures (layer outputs, gradients), valid until the next run.
  const std::vector<Network::CapturedTensors>& tensors() const { return values_; }

  // The shadow network's bytes at `batchSize`: its fp32 weights, gradients and layer
  // outputs, counted as the run's own are (core/records.h MemoryUse).
  std::int64_t memoryBytes(std::int32_t batchSize) const;

 private:
  void copyWeights(std::size_t index, const Tensor& from, Tensor& to);

  Backend& backend_;
  LossScaleRule rule_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<StepState> state_;  // kept while the loss scale stays the same
  float stateScale_ = 0;
  Tensor dOutput_;
  std::vector<Tensor> wide_;  // per parameter: an fp32 copy before a layout change (CUDA)
  std::vector<Network::CapturedTensors> values_;
  double lastMs_ = 0;
};

}  // namespace plab
