// CpuBackend::measureShadow (backend/shadow_measure.h): the shadow pass's measure over
// the tensors in place, no copies. Classification by the format's bounds instead of a
// round trip (equal results, shadowBounds), branch-free so that the long runs of zeros
// and subnormals a layer produces cost no mispredictions; the histogram is kept in four
// interleaved copies so that a run of values in one bin does not serialise on one
// counter; the squares are summed in four interleaved double accumulators.
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

namespace {

constexpr int kLanes = 4;
constexpr std::size_t kDiscardBin = kLog2HistBins;  // where zeros and inf/NaN go

template <bool Scaled>
void classify(const float* s, std::size_t n, float scale, const ShadowBounds& b, ShadowTally& t) {
  std::array<std::array<std::int64_t, kLog2HistBins + 1>, kLanes> hist{};
  std::int64_t zeros = 0, nonFinite = 0, under = 0, over = 0, loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = s[i];
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(v) & 0x7fffffffu;
    const bool notFinite = bits >= 0x7f800000u;
    const bool zero = bits == 0;
    const bool counted = !notFinite && !zero;
    int bin = int(bits >> 23) - 127 - kLog2HistMin;
    bin = bin < 0 ? 0 : (bin >= kLog2HistBins ? kLog2HistBins - 1 : bin);
    hist[i % kLanes][counted ? std::size_t(bin) : kDiscardBin] += 1;
    const float a = Scaled ? std::fabs(v * scale) : std::bit_cast<float>(bits);
    const bool u = counted && a <= b.underflowMax;
    const bool o = counted && !u && (a >= b.overflowFrom || a > b.saturateAbove);
    const bool p = counted && !u && !o && a < b.precisionLossBelow;
    zeros += zero;
    nonFinite += notFinite;
    under += u;
    over += o;
    loss += p;
  }
  t.count += std::int64_t(n);
  t.zeros += zeros;
  t.underflows += under;
  t.overflows += over + nonFinite;
  t.precisionLoss += loss;
  for (const auto& h : hist)
    for (int i = 0; i < kLog2HistBins; ++i) t.log2Hist[std::size_t(i)] += h[std::size_t(i)];
}

// real's logical values: stored / scale for fp8 (as CpuBackend::download), else stored.
template <bool Fp8>
void sumSquares(const float* s, const float* r, std::size_t n, float scale, ShadowTally& t) {
  double diff[kLanes] = {}, norm[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const double sv = s[i + k];
      const double rv = Fp8 ? r[i + k] / scale : r[i + k];
      const double d = rv - sv;
      diff[k] += d * d;
      norm[k] += sv * sv;
    }
  for (; i < n; ++i) {
    const double sv = s[i];
    const double rv = Fp8 ? r[i] / scale : r[i];
    const double d = rv - sv;
    diff[0] += d * d;
    norm[0] += sv * sv;
  }
  t.compared = true;
  t.diffSquares += (diff[0] + diff[1]) + (diff[2] + diff[3]);
  t.shadowSquares += (norm[0] + norm[1]) + (norm[2] + norm[3]);
}

}  // namespace

void CpuBackend::measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) {
  cpu::requireDefined("measureShadow", "shadow", shadow);
  if (shadow.precision() != Precision::fp32)
    cpu::fail("measureShadow", "the shadow is " + std::string(toString(shadow.precision())) + ", not fp32");
  const ShadowBounds& bounds = shadowBounds(format);
  const std::size_t n = std::size_t(shadow.numel());
  const float* s = cpu::slots(shadow);
  const bool fp8Real = real && isFp8(real->precision());
  const float scale = fp8Real ? *real->scale() : 1.0f;
  if (real) {
    cpu::requireDefined("measureShadow", "real", *real);
    cpu::requireShape("measureShadow", "real", *real, shadow.shape());
  }
  if (scale != 1.0f)
    classify<true>(s, n, scale, bounds, tally);
  else
    classify<false>(s, n, 1.0f, bounds, tally);
  if (!real) return;
  if (fp8Real)
    sumSquares<true>(s, cpu::slots(*real), n, scale, tally);
  else
    sumSquares<false>(s, cpu::slots(*real), n, 1.0f, tally);
}

}  // namespace plab
