// CpuBackend::measureShadow (backend/shadow_measure.h): the shadow pass's measure over
// the tensors in place, no copies, in three light passes rather than one heavy one:
// the classes by comparing magnitude bits with the format's bounds instead of a round
// trip (equal results, shadowBounds), branch-free; the histogram from the exponent
// field alone; the squares in four interleaved double accumulators.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

namespace {

constexpr int kLanes = 4;  // interleaved partial sums of squares

// The magnitude bits of |x|: for non-negative floats, ordered as the values are (inf
// above every finite value, NaN patterns above inf), so the bounds compare as integers.
inline std::uint32_t magnitudeBits(float x) { return std::bit_cast<std::uint32_t>(x) & 0x7fffffffu; }

// The histogram, from the exponent field alone: one increment per value into 256
// counters per lane (two lanes, so that runs of one exponent do not serialise), folded
// into the log2 bins afterwards. Exponent 255 is inf/NaN (not binned), exponent 0 the
// zeros (not binned) and the fp32 subnormals (bin 0, as every bin below the first).
void binExponents(const float* s, std::size_t n, std::int64_t zeros, ShadowTally& t, std::int64_t& nonFinite) {
  std::uint32_t counts[2][256] = {};
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    ++counts[0][magnitudeBits(s[i]) >> 23];
    ++counts[1][magnitudeBits(s[i + 1]) >> 23];
  }
  if (i < n) ++counts[0][magnitudeBits(s[i]) >> 23];
  for (int e = 0; e < 255; ++e) {
    std::int64_t c = std::int64_t(counts[0][e]) + counts[1][e];
    if (e == 0) c -= zeros;
    const int bin = std::clamp(e - 127 - kLog2HistMin, 0, kLog2HistBins - 1);
    t.log2Hist[std::size_t(bin)] += c;
  }
  nonFinite = std::int64_t(counts[0][255]) + counts[1][255];
}

// The classes, by comparing magnitude bits with the bounds' (no branches, so the
// compiler may vectorise it).
template <bool Scaled>
void classify(const float* s, std::size_t n, float scale, const ShadowBounds& b, ShadowTally& t) {
  // fp8 saturates: beyond its max is an overflow too, so the overflow bound is the
  // smaller of the two (the next float above the max, or the first that rounds to inf).
  const std::uint32_t uMax = magnitudeBits(b.underflowMax);
  const std::uint32_t oFrom =
      std::min(magnitudeBits(b.overflowFrom), magnitudeBits(std::nextafter(b.saturateAbove, INFINITY)));
  const std::uint32_t loss = magnitudeBits(b.precisionLossBelow);
  std::uint32_t zeros = 0, under = 0, over = 0, lost = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t bits = magnitudeBits(s[i]);
    const std::uint32_t a = Scaled ? magnitudeBits(s[i] * scale) : bits;
    const bool counted = bits != 0 && bits < 0x7f800000u;  // nonzero and finite
    const bool u = a <= uMax;
    const bool o = !u && a >= oFrom;
    zeros += bits == 0;
    under += counted & u;
    over += counted & o;
    lost += counted & !u & !o & (a < loss);
  }
  std::int64_t nonFinite = 0;
  binExponents(s, n, zeros, t, nonFinite);
  t.count += std::int64_t(n);
  t.zeros += zeros;
  t.underflows += under;
  t.overflows += std::int64_t(over) + nonFinite;
  t.precisionLoss += lost;
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
  // 32-bit counters: split what could pass 2^32 elements.
  constexpr std::size_t kChunk = std::size_t(1) << 31;
  for (std::size_t at = 0; at < n; at += kChunk) {
    const std::size_t m = std::min(kChunk, n - at);
    if (scale != 1.0f)
      classify<true>(s + at, m, scale, bounds, tally);
    else
      classify<false>(s + at, m, 1.0f, bounds, tally);
  }
  if (!real) return;
  if (fp8Real)
    sumSquares<true>(s, cpu::slots(*real), n, scale, tally);
  else
    sumSquares<false>(s, cpu::slots(*real), n, 1.0f, tally);
}

}  // namespace plab
