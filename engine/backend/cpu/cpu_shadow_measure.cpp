// CpuBackend::measureShadow (backend/shadow_measure.h): the shadow pass's measure over
// the tensors in place, no copies. Blocks of a few KiB are read from memory once and
// then gone over in three light loops while they sit in L1: the classes, by comparing
// magnitude bits with the format's bounds instead of a round trip (equal results,
// shadowBounds), branch-free so that the compiler vectorises it; the histogram from the
// exponent field alone; the squares in four interleaved double accumulators. The two
// vectorisable loops are also built for AVX2 and chosen at run time (target_clones);
// neither contracts nor reorders an operation, so every build gives the same sums.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PLAB_SHADOW_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define PLAB_SHADOW_CLONES
#endif

namespace plab {

namespace {

constexpr int kLanes = 4;                  // interleaved partial sums of squares
constexpr std::size_t kBlock = 2048;       // values per block (8 KiB of shadow, 8 KiB of real)
static_assert(kBlock % kLanes == 0);

// The magnitude bits of |x|: for non-negative floats, ordered as the values are (inf
// above every finite value, NaN patterns above inf), so the bounds compare as integers.
inline std::uint32_t magnitudeBits(float x) { return std::bit_cast<std::uint32_t>(x) & 0x7fffffffu; }

struct Bounds {
  std::uint32_t underflowMax, overflowFrom, lossBelow;
};

struct Classes {
  std::uint32_t zeros = 0, under = 0, over = 0, lost = 0;
};

// scale: 1, or the fp8 real tensor's scale (values are classified as v * scale).
PLAB_SHADOW_CLONES
void classifyBlock(const float* s, std::size_t n, float scale, Bounds b, Classes& out) {
  std::uint32_t zeros = 0, under = 0, over = 0, lost = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t bits = magnitudeBits(s[i]);
    const std::uint32_t a = magnitudeBits(s[i] * scale);  // exact for scale 1
    const std::uint32_t counted = (bits != 0) & (bits < 0x7f800000u);  // nonzero and finite
    const std::uint32_t u = a <= b.underflowMax;
    const std::uint32_t o = (1u - u) & (a >= b.overflowFrom);
    zeros += bits == 0;
    under += counted & u;
    over += counted & o;
    lost += counted & (1u - u) & (1u - o) & (a < b.lossBelow);
  }
  out.zeros += zeros;
  out.under += under;
  out.over += over;
  out.lost += lost;
}

// real's logical values: stored / scale for fp8 (as CpuBackend::download), else stored.
// Element i goes to lane i % kLanes (blocks start at multiples of kLanes); the lanes
// are locals so that the compiler sees they alias nothing.
template <bool Fp8>
inline void sumLanes(const float* s, const float* r, std::size_t n, float scale, double* diffOut, double* normOut) {
  double diff[kLanes], norm[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    diff[k] = diffOut[k];
    norm[k] = normOut[k];
  }
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const double sv = s[i + k];
      const double rv = Fp8 ? r[i + k] / scale : r[i + k];
      const double d = rv - sv;
      diff[k] += d * d;
      norm[k] += sv * sv;
    }
  for (int k = 0; i < n; ++i, ++k) {
    const double sv = s[i];
    const double rv = Fp8 ? r[i] / scale : r[i];
    const double d = rv - sv;
    diff[k] += d * d;
    norm[k] += sv * sv;
  }
  for (int k = 0; k < kLanes; ++k) {
    diffOut[k] = diff[k];
    normOut[k] = norm[k];
  }
}

PLAB_SHADOW_CLONES
void sumBlock(const float* s, const float* r, std::size_t n, bool fp8, float scale, double* diff, double* norm) {
  if (fp8)
    sumLanes<true>(s, r, n, scale, diff, norm);
  else
    sumLanes<false>(s, r, n, scale, diff, norm);
}

}  // namespace

void CpuBackend::measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) {
  cpu::requireDefined("measureShadow", "shadow", shadow);
  if (shadow.precision() != Precision::fp32)
    cpu::fail("measureShadow", "the shadow is " + std::string(toString(shadow.precision())) + ", not fp32");
  if (real) {
    cpu::requireDefined("measureShadow", "real", *real);
    cpu::requireShape("measureShadow", "real", *real, shadow.shape());
  }
  const ShadowBounds& sb = shadowBounds(format);
  // fp8 saturates: beyond its max is an overflow too, so the overflow bound is the
  // smaller of the two (the next float above the max, or the first that rounds to inf).
  const Bounds bounds{magnitudeBits(sb.underflowMax),
                      std::min(magnitudeBits(sb.overflowFrom), magnitudeBits(std::nextafter(sb.saturateAbove, INFINITY))),
                      magnitudeBits(sb.precisionLossBelow)};
  const std::size_t n = std::size_t(shadow.numel());
  const float* s = cpu::slots(shadow);
  const float* r = real ? cpu::slots(*real) : nullptr;
  const bool fp8Real = real && isFp8(real->precision());
  const float scale = fp8Real ? *real->scale() : 1.0f;

  // 64-bit totals; per block 32-bit counts.
  std::int64_t zeros = 0, under = 0, over = 0, lost = 0;
  std::int64_t exponents[256] = {};
  double diff[kLanes] = {}, norm[kLanes] = {};
  for (std::size_t at = 0; at < n; at += kBlock) {
    const std::size_t m = std::min(kBlock, n - at);
    Classes c;
    classifyBlock(s + at, m, scale, bounds, c);
    zeros += c.zeros;
    under += c.under;
    over += c.over;
    lost += c.lost;
    // The histogram from the exponent field: two sets of counters, so that runs of one
    // exponent do not wait on one counter.
    std::uint32_t e0[256] = {}, e1[256] = {};
    std::size_t i = at;
    for (; i + 2 <= at + m; i += 2) {
      ++e0[magnitudeBits(s[i]) >> 23];
      ++e1[magnitudeBits(s[i + 1]) >> 23];
    }
    if (i < at + m) ++e0[magnitudeBits(s[i]) >> 23];
    for (int e = 0; e < 256; ++e) exponents[e] += std::int64_t(e0[e]) + e1[e];
    if (r) sumBlock(s + at, r + at, m, fp8Real, scale, diff, norm);
  }
  // Exponent 255 is inf/NaN (an overflow, not binned), exponent 0 the zeros (not
  // binned) and the fp32 subnormals (bin 0, with everything below the first bin).
  for (int e = 0; e < 255; ++e) {
    const std::int64_t c = exponents[e] - (e == 0 ? zeros : 0);
    tally.log2Hist[std::size_t(std::clamp(e - 127 - kLog2HistMin, 0, kLog2HistBins - 1))] += c;
  }
  tally.count += std::int64_t(n);
  tally.zeros += zeros;
  tally.underflows += under;
  tally.overflows += over + exponents[255];
  tally.precisionLoss += lost;
  if (!r) return;
  tally.compared = true;
  tally.diffSquares += (diff[0] + diff[1]) + (diff[2] + diff[3]);
  tally.shadowSquares += (norm[0] + norm[1]) + (norm[2] + norm[3]);
}

}  // namespace plab
