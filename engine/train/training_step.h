#pragma once
// One training step, the sequence of "Loss scaling" in docs/architecture.md, in one place: the
// trainer and the speed benchmark both run exactly this.
//
// forward -> fp32 loss with the gradient times the loss scale -> backward -> one
// check over every gradient (backward order) -> optimizer step (skipped by the
// backend on overflow) -> loss-scale update. Nothing here waits for the device.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "data/dataset.h"
#include "model/network.h"

namespace plab {

struct StepBuffers {
  Tensor input;      // [N, sample...] fp32, filled by the caller
  Tensor target;     // [N] class indices or [N, targetSize], fp32
  Tensor dOutput;    // allocated on first use in the network's output-gradient format
};

// Allocates input and target tensors for batches of n examples of data.
StepBuffers makeStepBuffers(Backend& backend, const Dataset& data, std::int64_t n);
Shape batchShape(std::int64_t n, const Shape& sample);   // [n, sample...]
Shape targetShape(std::int64_t n, const Dataset& data);  // [n] labels or [n, targetSize]

// The median of v (the mean of the two middle values for an even count); 0 when empty.
double medianOf(std::vector<double> v);

void runTrainingStep(Network& network, Backend& backend, StepState& state, StepBuffers& buffers,
                     LossKind loss, const OptimizerHyper& hyper, std::int64_t step);

// Whether training and the benchmark capture steps when nothing else says: only when
// the environment says PLAB_STEP_CAPTURE=on (or 1). Capture stays opt-in until its
// selftest check and its speed have been measured on a GPU (docs/gpu-testing.md);
// `precisionlab-cli bench --step-capture on|off` chooses per command.
bool stepCaptureEnabledByDefault();

// What decides whether a captured step may be replayed: one hash of every input that
// shapes the captured graph (the buffers' and parameters' addresses, shapes, formats
// and layouts, the loss, the optimizer settings but the learning rate, the backend's
// convolution layout; training_step.cpp lists them). Equal keys: the graph still fits.
std::uint64_t stepCaptureKey(const Backend& backend, Network& network, const StepState& state,
                             const StepBuffers& buffers, LossKind loss, const OptimizerHyper& hyper);

// Runs training steps, replaying a captured step (Backend::captureStep: a CUDA graph)
// where the backend can and nothing the capture baked in may have changed. A step
// runs as usual (eagerly) when capture is off or unsupported, on statistics and
// layer-timing steps (they read results back on the host), and whenever the
// network, the buffers, the optimizer settings other than the learning rate, or any
// device allocation differ from the capture's. After such a step, once one eager step
// has run without allocating anything, the next eligible step is captured afresh.
// Replayed and eager steps compute the same thing: the same kernels in the same order.
class StepRunner {
 public:
  StepRunner(Backend& backend, bool captureEnabled);
  ~StepRunner();
  StepRunner(const StepRunner&) = delete;
  StepRunner& operator=(const StepRunner&) = delete;

  void run(Network& network, StepState& state, StepBuffers& buffers, LossKind loss, const OptimizerHyper& hyper,
           std::int64_t step);

  struct Counts {
    std::int64_t eager = 0;     // steps run operation by operation
    std::int64_t replayed = 0;  // steps run as one captured launch
    std::int64_t captures = 0;  // times the step was (re)captured
  };
  const Counts& counts() const { return counts_; }
  // One line for logs: "step capture: 980 of 1000 steps replayed, 3 captures".
  std::string summary() const;

 private:
  using Key = std::uint64_t;  // stepCaptureKey

  Backend& backend_;
  bool enabled_;
  std::string offReason_;
  Counts counts_;
  std::unique_ptr<Backend::CapturedStep> captured_;
  Key capturedKey_ = 0;
  std::uint64_t capturedAllocations_ = 0;
  bool lastEagerClean_ = false;  // the last step ran eagerly, allocated nothing, and was eligible
  Key lastKey_ = 0;
  std::uint64_t allocationsAfterLast_ = 0;
};

}  // namespace plab
