#include "train/shadow_pass.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace plab {

namespace {

const Network::CapturedTensors* findCapture(const std::vector<Network::CapturedTensors>& all, std::int32_t layer,
                                            StatsKind kind) {
  for (const auto& c : all)
    if (c.layerIndex == layer && c.kind == kind) return &c;
  return nullptr;
}

}  // namespace

ShadowPass::ShadowPass(const Experiment& experiment, const Shape& sampleShape, Backend& backend)
    : backend_(backend), rule_{LossScaleMode::fixed} {
  // The same seed: the same initial values (overwritten by run) and the same dropout streams.
  network_ = std::make_unique<Network>(withUniformPrecision(experiment.network, Precision::fp32), sampleShape,
                                       backend, experiment.seed, false);
  wide_.resize(network_->parameters().size());
}

ShadowPass::~ShadowPass() = default;

void ShadowPass::copyWeights(std::size_t index, const Tensor& from, Tensor& to) {
  // Widening into fp32 is exact. convert keeps the source's memory order (a CUDA
  // conv weight may be channels-last in the run and not in the shadow): reorder then.
  const MemoryLayout wanted = to.layout();
  if (from.layout() == wanted) {
    backend_.convert(from, to);
    return;
  }
  Tensor& wide = wide_[index];
  if (!wide.defined() || !(wide.shape() == from.shape())) wide = backend_.empty(from.shape(), Precision::fp32);
  backend_.convert(from, wide);
  backend_.toLayout(wide, to, wanted);
}

void ShadowPass::run(Network& real, const StepBuffers& buffers, LossKind loss, float lossScale, std::int64_t step) {
  const auto start = std::chrono::steady_clock::now();
  const auto from = real.parameters();
  const auto to = network_->parameters();
  if (from.size() != to.size()) throw std::logic_error("ShadowPass: the shadow network's parameters differ");
  for (std::size_t i = 0; i < from.size(); ++i) copyWeights(i, from[i].working, to[i].working);

  // A fixed scale equal to the run's current one: the shadow's gradients are scaled as
  // the run's are. The loss only reads the state's scale, so one state serves every
  // pass at the same scale.
  if (!state_ || stateScale_ != lossScale) {
    rule_.initScale = lossScale;
    state_ = backend_.createStepState(rule_, int(to.size()));
    stateScale_ = lossScale;
  }
  values_.clear();
  network_->takeCaptured();  // nothing left from a pass that threw half-way
  network_->setCaptureEnabled(true);
  const Tensor& out = network_->forward(buffers.input, true, step);
  if (!dOutput_.defined() || !(dOutput_.shape() == out.shape())) dOutput_ = backend_.empty(out.shape(), Precision::fp32);
  if (loss == LossKind::cross_entropy)
    backend_.softmaxCrossEntropy(out, buffers.target, *state_, dOutput_);
  else
    backend_.meanSquaredError(out, buffers.target, *state_, dOutput_);
  network_->backward(dOutput_);
  network_->setCaptureEnabled(false);
  values_ = network_->takeCaptured();
  backend_.synchronize();
  lastMs_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void ShadowPass::attach(std::vector<LayerStatsRecord>& records, const std::vector<Network::CapturedTensors>& real) {
  // The backend queues each measure; one synchronize() brings every tally in. The
  // tallies must outlive it, also when this throws half-way: the guard, declared after
  // them, synchronises before they go.
  std::vector<ShadowTally> tallies(records.size());
  struct SyncOnExit {
    Backend& backend;
    bool done = false;
    ~SyncOnExit() {
      if (done) return;
      try {
        backend.synchronize();
      } catch (const std::exception& e) {  // already unwinding from the first error: log only
        std::fprintf(stderr, "ShadowPass: synchronising after an error failed too: %s\n", e.what());
      }
    }
  } sync{backend_};
  std::vector<bool> measured(records.size(), false);
  for (std::size_t k = 0; k < records.size(); ++k) {
    const LayerStatsRecord& r = records[k];
    const auto* shadow = findCapture(values_, r.layerIndex, r.kind);
    const auto format = parsePrecision(r.precision);
    if (!shadow || !format) continue;
    const auto* mine = findCapture(real, r.layerIndex, r.kind);
    if (mine && mine->format != *format)
      throw std::logic_error("ShadowPass: " + r.layerName + "'s record is in " + r.precision + ", its capture in " +
                             std::string(toString(mine->format)));
    if (mine && mine->tensors.size() != shadow->tensors.size())
      throw std::logic_error("ShadowPass: " + r.layerName + " captured " + std::to_string(mine->tensors.size()) +
                             " tensors in the run but " + std::to_string(shadow->tensors.size()) + " in the shadow");
    for (std::size_t i = 0; i < shadow->tensors.size(); ++i)
      backend_.measureShadow(shadow->tensors[i], mine ? &mine->tensors[i] : nullptr, *format, tallies[k]);
    measured[k] = true;
  }
  sync.done = true;
  backend_.synchronize();
  for (std::size_t k = 0; k < records.size(); ++k) {
    if (!measured[k]) continue;
    records[k].shadow = finishShadow(tallies[k]);
    records[k].hasShadow = true;
  }
}

std::int64_t ShadowPass::memoryBytes(std::int32_t batchSize) const {
  return network_->memoryUse(batchSize).total();
}

}  // namespace plab
