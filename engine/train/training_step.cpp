#include "train/training_step.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>
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

namespace {

// FNV-1a over the bytes of each value, in the order they are added.
class KeyHash {
 public:
  template <class T>
  KeyHash& add(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    for (unsigned char b : bytes) hash_ = (hash_ ^ b) * 0x100000001B3ull;
    return *this;
  }
  // A tensor as a captured kernel sees it: where its values and its fp8 scale and amax
  // live, its shape, its format and its memory layout. An undefined tensor adds a null
  // address and no dimensions.
  KeyHash& add(const Tensor& t) {
    add(t.data()).add(t.scale()).add(t.amax()).add(t.precision()).add(t.layout());
    add(t.shape().rank());
    for (std::int64_t d : t.shape().dims) add(d);
    return *this;
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xCBF29CE484222325ull;
};

}  // namespace

// Everything a captured step bakes in, hashed in one place:
// - the network and the step state (their addresses: their device memory is theirs);
// - the step's buffers (input, target, output gradient) and every parameter slot's
//   tensors (working, master, gradient, optimizer state), each as KeyHash::add(Tensor)
//   sees it: address, fp8 scale and amax slots, shape, format, layout;
// - the loss, and every optimizer setting but the learning rate (each replay passes it);
// - the backend's convolution layout setting, which picks the kernels.
// The layers' own buffers are not listed: they move only by allocating, which
// allocationCount catches (StepRunner::run).
static_assert(sizeof(OptimizerHyper) == 36,
              "OptimizerHyper changed: hash its new setting in stepCaptureKey, then update this size");
std::uint64_t stepCaptureKey(const Backend& backend, Network& network, const StepState& state,
                             const StepBuffers& buffers, LossKind loss, const OptimizerHyper& hyper) {
  KeyHash h;
  h.add(static_cast<const void*>(&network)).add(static_cast<const void*>(&state));
  h.add(buffers.input).add(buffers.target).add(buffers.dOutput);
  for (const ParamSlot& p : network.parameters())
    h.add(p.working).add(p.master).add(p.grad).add(p.state1).add(p.state2);
  h.add(loss);
  h.add(hyper.kind).add(hyper.momentum).add(hyper.nesterov).add(hyper.beta1).add(hyper.beta2).add(hyper.eps);
  h.add(hyper.weightDecay).add(hyper.clipNorm);
  h.add(backend.convLayout());
  return h.value();
}

StepRunner::StepRunner(Backend& backend, bool captureEnabled) : backend_(backend), enabled_(captureEnabled) {
  if (!captureEnabled) offReason_ = "not asked for (PLAB_STEP_CAPTURE=on or bench --step-capture on)";
}

StepRunner::~StepRunner() = default;

void StepRunner::run(Network& network, StepState& state, StepBuffers& buffers, LossKind loss,
                     const OptimizerHyper& hyper, std::int64_t step) {
  // A replayed step runs no host code, so it would record no statistics, timings or
  // captured tensors (the shadow pass's).
  const bool eligible = enabled_ && !network.statsEnabled() && !network.timingEnabled() && !network.captureEnabled();
  const Key key = stepCaptureKey(backend_, network, state, buffers, loss, hyper);
  const std::uint64_t allocations = backend_.allocationCount();
  // Something the capture holds may have moved: forget it (a later step captures anew).
  if (captured_ && (key != capturedKey_ || allocations != capturedAllocations_)) captured_.reset();
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
  lastKey_ = stepCaptureKey(backend_, network, state, buffers, loss, hyper);  // dOutput exists after the first step
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
