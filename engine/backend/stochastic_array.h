#pragma once
// Stochastic rounding of a tensor's values with the counter-based generator: element
// `first + i` draws counterUniform(stream, first + i), so the result depends only on the
// stream (seed, step) and the element's index, never on how the work is split.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/counter_rng.h"
#include "numerics/convert.h"
#include "numerics/stochastic_rounding.h"

namespace plab {

// roundStochastic(bf16, x, u) by its bits: the 16 bits fp32 drops against the top 16 of
// the 24-bit uniform. u < dropped / 2^16 exactly when u's top 16 bits are below the
// dropped bits, so the decision is roundStochastic's (tested), without its neighbour
// search. Magnitudes from bf16's largest finite value up, inf and NaN round to nearest.
inline float roundStochasticBf16(float x, float u) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x7F7F0000u) return roundTo(Precision::bf16, x);
  const auto u24 = static_cast<std::uint32_t>(u * 16777216.0f);
  std::uint32_t kept = magnitude & 0xFFFF0000u;
  if ((u24 >> 8) < (magnitude & 0xFFFFu)) kept += 0x10000u;
  bits = (bits & 0x80000000u) | kept;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

inline void roundStochasticArray(Precision p, const float* in, float* out, std::size_t n, std::uint64_t stream,
                                 std::uint64_t first = 0) {
  if (p == Precision::bf16) {
    for (std::size_t i = 0; i < n; ++i) out[i] = roundStochasticBf16(in[i], counterUniform(stream, first + i));
    return;
  }
  if (p == Precision::fp32) {
    if (in != out) std::memmove(out, in, n * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = roundStochastic(p, in[i], counterUniform(stream, first + i));
}

}  // namespace plab
