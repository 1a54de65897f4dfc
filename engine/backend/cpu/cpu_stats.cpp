#include "backend/cpu/cpu_stats.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace plab::cpu {

int log2Bin(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x) & 0x7fffffffu;
  // Subnormals have exponent field 0: floor(log2) < -126, far below bin 0 anyway.
  const int exponent = static_cast<int>(bits >> 23) - 127;
  int bin = exponent - kLog2HistMin;
  if (bin < 0) bin = 0;
  if (bin >= kLog2HistBins) bin = kLog2HistBins - 1;
  return bin;
}

void computeStats(const float* before, const float* after, std::size_t n, float saturationLimit,
                  TensorStats& out) {
  out = TensorStats{};
  out.count = static_cast<std::int64_t>(n);
  float maxAbs = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float b = before[i];
    const float r = after ? after[i] : b;
    if (r == 0.0f) ++out.zeros;
    if (!std::isfinite(b)) {
      ++out.nonFinite;
      continue;
    }
    const float a = std::fabs(b);
    if (a > maxAbs) maxAbs = a;
    if (b == 0.0f) continue;
    ++out.log2Hist[log2Bin(b)];
    if (!after) continue;
    if (r == 0.0f) ++out.underflows;
    const bool saturated = saturationLimit > 0 && a > saturationLimit;
    if (saturated || std::isinf(r)) ++out.overflows;
  }
  out.maxAbs = maxAbs;
}

}  // namespace plab::cpu
