#include "backend/shadow_measure.h"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "numerics/convert.h"

namespace plab {

namespace {

float fromBits(std::uint32_t b) { return std::bit_cast<float>(b); }
constexpr std::uint32_t kInfBits = 0x7f800000u;

// The largest non-negative float that rounds to zero: round(0) == 0 and round(inf) != 0,
// and the set of those that round to zero is an interval starting at 0.
float largestRoundingToZero(Precision p) {
  std::uint32_t lo = 0, hi = kInfBits;
  while (hi - lo > 1) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    (roundTo(p, fromBits(mid)) == 0.0f ? lo : hi) = mid;
  }
  return fromBits(lo);
}

// The smallest non-negative float that rounds to inf; +inf when none does (fp8 saturates).
float smallestRoundingToInf(Precision p) {
  if (!std::isinf(roundTo(p, std::numeric_limits<float>::infinity()))) return std::numeric_limits<float>::infinity();
  std::uint32_t lo = 0, hi = kInfBits;  // round(lo) finite, round(hi) inf
  while (hi - lo > 1) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    (std::isinf(roundTo(p, fromBits(mid))) ? hi : lo) = mid;
  }
  return fromBits(hi);
}

// A subnormal k * minSubnormal keeps floor(log2 k) + 1 significant bits, fewer than
// half of mantissaBits + 1 exactly when k < 2^(mantissaBits / 2): below this bound
// (a power of two, at most the smallest normal, so exact in fp32).
float precisionLossBound(Precision format) {
  const FormatInfo& f = formatInfo(format);
  return float(std::ldexp(f.minSubnormal, f.mantissaBits / 2));
}

ShadowBounds computeBounds(Precision p) {
  ShadowBounds b;
  b.underflowMax = largestRoundingToZero(p);
  b.overflowFrom = smallestRoundingToInf(p);
  b.saturateAbove = isFp8(p) ? float(formatInfo(p).maxFinite) : std::numeric_limits<float>::infinity();
  b.precisionLossBelow = precisionLossBound(p);
  return b;
}

// The bin of a nonzero finite value, as the CPU backend bins TensorStats::log2Hist
// (from the exponent field: fp32 subnormals land in bin 0 either way).
std::size_t log2Bin(float value) {
  const int e = int((std::bit_cast<std::uint32_t>(value) >> 23) & 0xffu) - 127;
  const int bin = e - kLog2HistMin;
  if (bin < 0) return 0;
  if (bin >= kLog2HistBins) return std::size_t(kLog2HistBins - 1);
  return std::size_t(bin);
}

}  // namespace

const ShadowBounds& shadowBounds(Precision format) {
  // Indexed by Precision; only the formats that round one value at a time have bounds
  // (a block-scaled format has no per-value rounding, and no layer may use one).
  static const std::array<ShadowBounds, kAllPrecisions.size()> table = [] {
    std::array<ShadowBounds, kAllPrecisions.size()> t{};
    for (Precision p : kScalarPrecisions) t[std::size_t(p)] = computeBounds(p);
    return t;
  }();
  const std::size_t i = std::size_t(format);
  if (i >= table.size()) throwUnknownPrecision("shadowBounds", format);
  if (isBlockScaled(format)) throwBlockScaled("measureShadow", format);
  return table[i];
}

ShadowStats finishShadow(const ShadowTally& t) {
  ShadowStats s;
  s.count = t.count;
  s.zeros = t.zeros;
  s.underflows = t.underflows;
  s.overflows = t.overflows;
  s.precisionLoss = t.precisionLoss;
  s.log2Hist = t.log2Hist;
  if (!t.compared) return s;
  const double diff = t.diffSquares, norm = t.shadowSquares;
  if (!std::isfinite(diff))
    s.relError = std::numeric_limits<double>::infinity();
  else if (norm == 0)
    s.relError = diff == 0 ? 0 : std::numeric_limits<double>::infinity();
  else
    s.relError = std::sqrt(diff / norm);
  return s;
}

void measureShadowReference(std::span<const float> shadow, std::span<const float> real, Precision format,
                            float scale, ShadowTally& t) {
  if (!real.empty() && real.size() != shadow.size())
    throw std::invalid_argument("measureShadow: " + std::to_string(shadow.size()) + " shadow values but " +
                                std::to_string(real.size()) + " real ones");
  const float lossBound = precisionLossBound(format);
  const bool fp8 = isFp8(format);
  const double maxFinite = formatInfo(format).maxFinite;
  std::vector<float> scaled(shadow.size()), rounded(shadow.size());
  for (std::size_t i = 0; i < shadow.size(); ++i) scaled[i] = shadow[i] * scale;
  roundArray(format, scaled.data(), rounded.data(), shadow.size());
  t.count += std::int64_t(shadow.size());
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const float v = shadow[i];
    if (!std::isfinite(v)) {
      ++t.overflows;
      continue;
    }
    if (v == 0) {
      ++t.zeros;
      continue;
    }
    ++t.log2Hist[log2Bin(v)];
    const float w = scaled[i];
    if (rounded[i] == 0)
      ++t.underflows;
    else if (std::isinf(rounded[i]) || (fp8 && std::fabs(double(w)) > maxFinite))
      ++t.overflows;
    else if (std::fabs(w) < lossBound)
      ++t.precisionLoss;
  }
  if (real.empty()) return;
  t.compared = true;
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const double d = double(real[i]) - double(shadow[i]);
    t.diffSquares += d * d;
    t.shadowSquares += double(shadow[i]) * double(shadow[i]);
  }
}

}  // namespace plab
