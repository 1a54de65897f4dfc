#include "model/layers/layer.h"

#include <algorithm>

namespace plab::detail {

void Buffer::init(Backend& backend, Precision precision) {
  backend_ = &backend;
  precision_ = precision;
  if (isFp8(precision_)) owner_ = backend.zeros(Shape{1}, precision);
}

Tensor& Buffer::ensure(const Shape& shape) {
  if (!tensor_.defined() || !(tensor_.shape() == shape)) {
    tensor_ = backend_->empty(shape, precision_);
    if (isFp8(precision_)) tensor_ = tensor_.withFp8ScaleOf(owner_);
  }
  return tensor_;
}

void mergeStats(TensorStats& into, const TensorStats& more) {
  into.count += more.count;
  into.zeros += more.zeros;
  into.underflows += more.underflows;
  into.overflows += more.overflows;
  into.nonFinite += more.nonFinite;
  into.maxAbs = std::max(into.maxAbs, more.maxAbs);
  for (int i = 0; i < kLog2HistBins; ++i) into.log2Hist[i] += more.log2Hist[i];
}

Tensor& LayerIo::begin(Tensor& out, bool needsFp32) {
  const bool viaTemporary = statsEnabled || (needsFp32 && out.precision() != Precision::fp32);
  if (!viaTemporary) return out;
  if (!scratch->defined() || scratch->numel() < out.numel()) {
    *scratch = backend.empty(Shape{out.numel()}, Precision::fp32);
  }
  // A view of the first out.numel() values: the backend reads a tensor's extent
  // from its shape, so a larger storage is fine.
  scratchView = scratch->reshaped(out.shape());
  return scratchView;
}

// Sampled statistics steps only: the values before rounding, for the Precision Explorer.
// The whole tensor comes to the host (a statistics step syncs anyway), the first values stay.
void LayerIo::keepSample(const Tensor& t, StatsKind kind) {
  if (!keepSamples) return;
  std::vector<float>& sample = kind == StatsKind::activation ? activationSample : gradientSample;
  if (!sample.empty() || t.numel() == 0) return;
  std::vector<float> all(std::size_t(t.numel()));
  backend.download(t, all.data());
  sample.assign(all.begin(), all.begin() + std::ptrdiff_t(std::min(all.size(), kStatsSampleValues)));
}

void LayerIo::finish(const Tensor& written, Tensor& out, StatsKind kind) {
  if (written.data() == out.data()) return;
  if (!statsEnabled) {
    backend.convert(written, out);
    return;
  }
  keepSample(written, kind);
  TensorStats s;
  backend.convert(written, out, &s);
  if (kind == StatsKind::activation) {
    mergeStats(activationStats, s);
    haveActivationStats = true;
  } else {
    mergeStats(gradientStats, s);
    haveGradientStats = true;
  }
}

void LayerIo::finishStochastic(const Tensor& written, Tensor& out, StatsKind kind, std::uint64_t seed) {
  if (written.data() == out.data()) return;
  if (statsEnabled) finish(written, out, kind);
  backend.convertStochastic(written, out, seed, std::uint64_t(step));
}

void LayerIo::record(const Tensor& t, StatsKind kind) {
  if (!statsEnabled) return;
  keepSample(t, kind);
  TensorStats s;
  backend.stats(t, s);
  if (kind == StatsKind::activation) {
    mergeStats(activationStats, s);
    haveActivationStats = true;
  } else {
    mergeStats(gradientStats, s);
    haveGradientStats = true;
  }
}

Shape Layer::batched(std::int64_t n, const Shape& sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), sample.dims.begin(), sample.dims.end());
  return Shape(std::move(dims));
}

}  // namespace plab::detail
