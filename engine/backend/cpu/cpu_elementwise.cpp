// CpuBackend: activations and dropout. fp32 math (core/activations.h), one rounding.
#include "backend/counter_rng.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

template <class F>
void mapUnary(const float* x, float* y, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class F>
void mapBinary(const float* a, const float* b, float* out, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

}  // namespace

void CpuBackend::activationForward(Activation a, float param, const Tensor& x, Tensor& y) {
  const auto n = x.numel();
  requireNumel("activationForward", "y", y, n);
  const float* in = logicalValues(x, scratch(0, static_cast<std::size_t>(n)));
  float* out = slots(y);
  visitActivation(a, [&](auto op) {
    using Op = decltype(op);
    mapUnary(in, out, n, [param](float v) { return Op::forward(v, param); });
  });
  finishOutput(y);
}

void CpuBackend::activationBackward(Activation a, float param, const Tensor& x, const Tensor& y, const Tensor& dy,
                                    Tensor& dx) {
  const auto n = dy.numel();
  requireNumel("activationBackward", "dx", dx, n);
  const auto count = static_cast<std::size_t>(n);
  const float* g = logicalValues(dy, scratch(1, count));
  float* out = slots(dx);
  const bool usesOutput = gradFromOutput(a);
  const Tensor& source = usesOutput ? y : x;
  requireNumel("activationBackward", usesOutput ? "y" : "x", source, n);
  const float* v = logicalValues(source, scratch(0, count));
  visitActivation(a, [&](auto op) {
    using Op = decltype(op);
    mapBinary(v, g, out, n, [param](float s, float d) { return Op::grad(s, d, param); });
  });
  finishOutput(dx);
}

void CpuBackend::dropoutForward(float p, std::uint64_t seed, std::uint64_t step, const Tensor& x, Tensor& y,
                                Tensor& mask) {
  if (!(p >= 0.0f && p <= 1.0f)) fail("dropoutForward", "p = " + std::to_string(p) + " is outside [0, 1]");
  const auto n = x.numel();
  requireNumel("dropoutForward", "y", y, n);
  requireNumel("dropoutForward", "mask", mask, n);
  if (mask.precision() != Precision::fp32) fail("dropoutForward", "mask must be fp32");
  const float* in = logicalValues(x, scratch(0, static_cast<std::size_t>(n)));
  float* out = slots(y);
  float* m = slots(mask);
  const std::uint64_t stream = counterStream(seed, step);
  const float keepScale = dropoutKeepScale(p);
  for (std::int64_t i = 0; i < n; ++i) {
    m[i] = dropoutKeeps(stream, static_cast<std::uint64_t>(i), p) ? 1.0f : 0.0f;
    out[i] = in[i] * m[i] * keepScale;
  }
  finishOutput(y);
}

void CpuBackend::dropoutBackward(float p, const Tensor& dy, const Tensor& mask, Tensor& dx) {
  const auto n = dy.numel();
  requireNumel("dropoutBackward", "dx", dx, n);
  requireNumel("dropoutBackward", "mask", mask, n);
  const float* g = logicalValues(dy, scratch(0, static_cast<std::size_t>(n)));
  const float* m = slots(mask);
  float* out = slots(dx);
  const float keepScale = dropoutKeepScale(p);
  for (std::int64_t i = 0; i < n; ++i) out[i] = g[i] * m[i] * keepScale;
  finishOutput(dx);
}

}  // namespace plab
