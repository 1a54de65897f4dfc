// Network at run time: forward, backward, statistics and per-layer timing.
#include <new>
#include <stdexcept>

#include "model/network.h"

namespace plab {

void Network::checkInput(const Tensor& input) const {
  std::vector<std::int64_t> expected{input.shape().rank() ? input.shape()[0] : 0};
  expected.insert(expected.end(), sampleShape_.dims.begin(), sampleShape_.dims.end());
  if (!(input.shape() == Shape(expected))) {
    throw std::invalid_argument("Network::forward: input " + input.shape().toString() +
                                " is not a batch of samples " + sampleShape_.toString());
  }
}

void Network::startTiming() {
  if (timingEnabled_) timer_->start();
}

void Network::stopTiming(std::vector<double>& sums, std::vector<std::int64_t>& calls, std::size_t layer) {
  if (!timingEnabled_) return;
  timer_->stop();
  sums[layer] += timer_->milliseconds();
  calls[layer] += 1;
}

void Network::keepStats(std::size_t layer, StatsKind kind, const detail::LayerIo& io) {
  const bool have = kind == StatsKind::activation ? io.haveActivationStats : io.haveGradientStats;
  if (!statsEnabled_ || !have) return;
  LayerStatsRecord r;
  r.layerIndex = std::int32_t(layer);
  r.layerName = shapes_[layer].name;
  r.kind = kind;
  const auto& l = *layers_[layer];
  r.precision = std::string(toString(kind == StatsKind::activation ? l.forwardFormat() : l.gradFormat()));
  r.stats = kind == StatsKind::activation ? io.activationStats : io.gradientStats;
  if (kind == StatsKind::activation) r.productRelError = io.productRelError;
  r.sample = kind == StatsKind::activation ? io.activationSample : io.gradientSample;
  pendingStats_.push_back(std::move(r));
}

void Network::failAllocation(std::size_t layer, const std::string& what) const {
  throw OutOfMemoryError(shapes_[layer].name + " (" + std::string(toString(shapes_[layer].precision)) +
                         "): out of memory allocating " + what);
}

const Tensor& Network::forwardLayer(std::size_t i, const Tensor& input, bool training, std::int64_t step) {
  detail::Layer& layer = *layers_[i];
  detail::LayerIo io{backend_, statsEnabled_, samplesEnabled_, training, step, &scratch_};
  const Tensor* x = &input;
  startTiming();
  if (x->precision() != layer.forwardFormat()) {
    Tensor& converted = inputCopies_[i].ensure(x->shape());
    backend_.convert(*x, converted);
    x = &converted;
  }
  const Tensor& y = layer.forward(*x, io);
  stopTiming(forwardMsSum_, forwardCalls_, i);
  keepStats(i, StatsKind::activation, io);
  captureActivation(i, y);
  return y;
}

const Tensor* Network::backwardLayer(std::size_t i, const Tensor& gradient) {
  detail::Layer& layer = *layers_[i];
  detail::LayerIo io{backend_, statsEnabled_, samplesEnabled_, trainingForward_, 0, &scratch_};
  const Tensor* g = &gradient;
  startTiming();
  // fp8: always through this layer's own buffer, whose scale updateFp8Scales keeps.
  const bool foreignFp8 = isFp8(g->precision()) && i + 1 == layers_.size();
  if (g->precision() != layer.gradFormat() || foreignFp8) {
    Tensor& converted = gradCopies_[i].ensure(g->shape());
    backend_.convert(*g, converted);
    g = &converted;
  }
  // The first layer's input gradient is nobody's unless asked for: skip it.
  const bool needInputGrad = i > 0 || inputGradientEnabled_;
  g = layer.backward(*g, needInputGrad, io);
  stopTiming(backwardMsSum_, backwardCalls_, i);
  keepStats(i, StatsKind::gradient, io);
  captureGradients(i, g);
  if (!g && needInputGrad) {
    throw std::logic_error("Network::backward: " + shapes_[i].name + " gave no input gradient");
  }
  return g;
}

const Tensor& Network::forward(const Tensor& input, bool training, std::int64_t step) {
  checkInput(input);
  // Delayed scaling: this step's fp8 scales come from the amax history of the steps
  // before it (Transformer Engine's order).
  if (training && !fp8Tensors_.empty() && fp8_.scaling == Fp8Scaling::delayed)
    backend_.updateFp8Scales(fp8Tensors_, fp8_.history, fp8_.margin);
  trainingForward_ = training;
  const Tensor* x = &input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      x = &forwardLayer(i, *x, training, step);
    } catch (const std::bad_alloc&) {
      failAllocation(i, "its input copy, output or statistics for a batch of " + std::to_string(input.shape()[0]) +
                            " (output " + shapes_[i].outputShape.toString() + " per sample)");
    }
  }
  if (x->layout() != MemoryLayout::nchw) {  // the loss and the host read the logical order
    if (!logicalOutput_.defined() || !(logicalOutput_.shape() == x->shape()) ||
        logicalOutput_.precision() != x->precision())
      logicalOutput_ = backend_.empty(x->shape(), x->precision());
    if (x->scale()) logicalOutput_ = logicalOutput_.withFp8ScaleOf(*x);
    backend_.toLayout(*x, logicalOutput_, MemoryLayout::nchw);
    x = &logicalOutput_;
  }
  lastOutput_ = *x;
  return lastOutput_;
}

void Network::backward(const Tensor& dOutput) {
  if (!lastOutput_.defined()) throw std::logic_error("Network::backward before any forward");
  if (!(dOutput.shape() == lastOutput_.shape())) {
    throw std::invalid_argument("Network::backward: dOutput " + dOutput.shape().toString() +
                                " does not match the output " + lastOutput_.shape().toString());
  }
  const Tensor* g = &dOutput;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    try {
      g = backwardLayer(i, *g);
    } catch (const std::bad_alloc&) {
      failAllocation(i, "its gradients for a batch of " + std::to_string(dOutput.shape()[0]) + " (input " +
                            shapes_[i].inputShape.toString() + " per sample)");
    }
  }
  inputGradient_ = inputGradientEnabled_ ? *g : Tensor();
}

std::vector<LayerStatsRecord> Network::takeStats(std::int64_t step) {
  std::vector<LayerStatsRecord> out = std::move(pendingStats_);
  pendingStats_.clear();
  for (auto& r : out) r.step = step;
  return out;
}

std::vector<LayerTiming> Network::layerTimings() const {
  std::vector<LayerTiming> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    LayerTiming t;
    t.layerName = shapes_[i].name;
    t.forwardMs = forwardCalls_[i] ? forwardMsSum_[i] / double(forwardCalls_[i]) : 0.0;
    t.backwardMs = backwardCalls_[i] ? backwardMsSum_[i] / double(backwardCalls_[i]) : 0.0;
    out.push_back(t);
  }
  return out;
}

void Network::resetTimings() {
  std::fill(forwardMsSum_.begin(), forwardMsSum_.end(), 0.0);
  std::fill(backwardMsSum_.begin(), backwardMsSum_.end(), 0.0);
  std::fill(forwardCalls_.begin(), forwardCalls_.end(), 0);
  std::fill(backwardCalls_.begin(), backwardCalls_.end(), 0);
}

}  // namespace plab
