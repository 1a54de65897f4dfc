#include "train/shadow_stats.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "numerics/convert.h"

namespace plab {

namespace {

// The bin a nonzero finite value falls in, as the CPU backend bins TensorStats::log2Hist
// (from the exponent field: fp32 subnormals land in bin 0 either way).
std::size_t log2Bin(float value) {
  const int e = int((std::bit_cast<std::uint32_t>(value) >> 23) & 0xffu) - 127;
  const int bin = e - kLog2HistMin;
  if (bin < 0) return 0;
  if (bin >= kLog2HistBins) return std::size_t(kLog2HistBins - 1);
  return std::size_t(bin);
}

bool overflowsInto(float value, float rounded, Precision format) {
  if (std::isinf(rounded)) return true;
  // fp8 saturates (SATFINITE) instead of going to inf: beyond the max is an overflow.
  return isFp8(format) && std::fabs(double(value)) > formatInfo(format).maxFinite;
}

double relativeError(std::span<const float> shadow, std::span<const float> real) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const double d = double(real[i]) - double(shadow[i]);
    diff += d * d;
    norm += double(shadow[i]) * double(shadow[i]);
  }
  if (!std::isfinite(diff)) return std::numeric_limits<double>::infinity();
  if (norm == 0) return diff == 0 ? 0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

}  // namespace

namespace {

// A subnormal k * minSubnormal keeps floor(log2 k) + 1 significant bits, fewer than
// half of mantissaBits + 1 exactly when k < 2^(mantissaBits / 2): below this bound
// (which is at most the smallest normal).
double precisionLossBound(Precision format) {
  const FormatInfo& f = formatInfo(format);
  return std::ldexp(f.minSubnormal, f.mantissaBits / 2);
}

}  // namespace

bool losesMostBits(float value, Precision format) {
  const double magnitude = std::fabs(double(value));
  return magnitude != 0 && magnitude < precisionLossBound(format);
}

ShadowStats measureShadow(std::span<const float> shadow, std::span<const float> real, Precision format) {
  if (!real.empty() && real.size() != shadow.size())
    throw std::invalid_argument("measureShadow: " + std::to_string(shadow.size()) + " shadow values but " +
                                std::to_string(real.size()) + " real ones");
  ShadowStats s;
  s.count = std::int64_t(shadow.size());
  thread_local std::vector<float> rounded;  // reused: this runs for every layer on every statistics step
  rounded.resize(shadow.size());
  roundArray(format, shadow.data(), rounded.data(), shadow.size());
  const double lossBound = precisionLossBound(format);
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const float v = shadow[i];
    if (!std::isfinite(v)) {
      ++s.overflows;
      continue;
    }
    if (v == 0) {
      ++s.zeros;
      continue;
    }
    ++s.log2Hist[log2Bin(v)];
    if (rounded[i] == 0)
      ++s.underflows;
    else if (overflowsInto(v, rounded[i], format))
      ++s.overflows;
    else if (std::fabs(v) < lossBound)
      ++s.precisionLoss;
  }
  if (!real.empty()) s.relError = relativeError(shadow, real);
  return s;
}

}  // namespace plab
