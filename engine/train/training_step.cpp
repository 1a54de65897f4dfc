#include "train/training_step.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

namespace plab {

Shape batchShape(std::int64_t n, const Shape& sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), sample.dims.begin(), sample.dims.end());
  return Shape(std::move(dims));
}

// Labels are [N] class indices; regression targets have the prediction's shape.
Shape targetShape(std::int64_t n, const Dataset& data) {
  if (data.isClassification()) return Shape{n};
  return Shape{n, data.targetSize};
}

double medianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + mid));
  return m;
}

StepBuffers makeStepBuffers(Backend& backend, const Dataset& data, std::int64_t n) {
  StepBuffers b;
  b.input = backend.empty(batchShape(n, data.sampleShape), Precision::fp32);
  b.target = backend.empty(targetShape(n, data), Precision::fp32);
  return b;
}

void runTrainingStep(Network& network, Backend& backend, StepState& state, StepBuffers& buffers,
                     LossKind loss, const OptimizerHyper& hyper, std::int64_t step) {
  const Tensor& out = network.forward(buffers.input, true, step);
  if (!buffers.dOutput.defined() || buffers.dOutput.shape() != out.shape())
    buffers.dOutput = backend.empty(out.shape(), network.outputGradPrecision());
  if (loss == LossKind::cross_entropy)
    backend.softmaxCrossEntropy(out, buffers.target, state, buffers.dOutput);
  else
    backend.meanSquaredError(out, buffers.target, state, buffers.dOutput);
  network.backward(buffers.dOutput);
  const std::vector<Tensor> grads = network.gradientsInBackwardOrder();
  backend.checkGradients(grads, state);
  backend.optimizerStep(hyper, network.parameters(), state);
  backend.updateLossScale(state, step);
}

bool stepCaptureEnabledByDefault() {
  const char* v = std::getenv("PLAB_STEP_CAPTURE");
  return v && (std::strcmp(v, "on") == 0 || std::strcmp(v, "1") == 0);
}

bool StepRunner::Key::operator==(const Key& o) const {
  const OptimizerHyper& a = hyper;
  const OptimizerHyper& b = o.hyper;
  return network == o.network && state == o.state && input == o.input && target == o.target &&
         dOutput == o.dOutput && loss == o.loss && a.kind == b.kind && a.momentum == b.momentum &&
         a.nesterov == b.nesterov && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps &&
         a.weightDecay == b.weightDecay && a.clipNorm == b.clipNorm;
}

StepRunner::Key StepRunner::keyOf(const Network& network, const StepState& state, const StepBuffers& buffers,
                                  LossKind loss, const OptimizerHyper& hyper) {
  Key k;
  k.network = &network;
  k.state = &state;
  k.input = buffers.input.data();
  k.target = buffers.target.data();
  k.dOutput = buffers.dOutput.data();
  k.loss = loss;
  k.hyper = hyper;
  k.hyper.lr = 0;
  return k;
}

StepRunner::StepRunner(Backend& backend, bool captureEnabled) : backend_(backend), enabled_(captureEnabled) {
  if (!captureEnabled) offReason_ = "not asked for (PLAB_STEP_CAPTURE=on or bench --step-capture on)";
}

StepRunner::~StepRunner() = default;

void StepRunner::run(Network& network, StepState& state, StepBuffers& buffers, LossKind loss,
                     const OptimizerHyper& hyper, std::int64_t step) {
  const bool eligible = enabled_ && !network.statsEnabled() && !network.timingEnabled();
  const Key key = keyOf(network, state, buffers, loss, hyper);
  const std::uint64_t allocations = backend_.allocationCount();
  // Something the capture holds may have moved: forget it (a later step captures anew).
  if (captured_ && (!(key == capturedKey_) || allocations != capturedAllocations_)) captured_.reset();
  if (eligible && captured_) {
    backend_.replayStep(*captured_, state, step, hyper.lr);
    ++counts_.replayed;
    return;
  }
  if (eligible && lastEagerClean_ && key == lastKey_ && allocations == allocationsAfterLast_) {
    std::string why;
    auto captured = backend_.captureStep(
        state, [&] { runTrainingStep(network, backend_, state, buffers, loss, hyper, step); }, why);
    if (captured && backend_.allocationCount() == allocations) {
      captured_ = std::move(captured);
      capturedKey_ = key;
      capturedAllocations_ = allocations;
      ++counts_.captures;
      backend_.replayStep(*captured_, state, step, hyper.lr);
      ++counts_.replayed;
      return;
    }
    // Nothing ran; from here on every step runs eagerly.
    enabled_ = false;
    offReason_ = captured ? "the training step allocates device memory" : why;
  }
  runTrainingStep(network, backend_, state, buffers, loss, hyper, step);
  ++counts_.eager;
  const std::uint64_t after = backend_.allocationCount();
  lastEagerClean_ = eligible && after == allocations;
  lastKey_ = keyOf(network, state, buffers, loss, hyper);  // dOutput exists after the first step
  allocationsAfterLast_ = after;
}

std::string StepRunner::summary() const {
  std::ostringstream s;
  const std::int64_t total = counts_.eager + counts_.replayed;
  s << "step capture: " << counts_.replayed << " of " << total << " steps replayed, " << counts_.captures
    << (counts_.captures == 1 ? " capture" : " captures");
  if (!offReason_.empty())
    s << " (off: " << offReason_ << ")";
  else if (counts_.captures == 0 && total > 2)
    s << " (no step ran without allocating device memory, so none could be captured)";
  return s.str();
}

}  // namespace plab
