#include "numerics/stochastic_rounding.h"

#include <cmath>

#include "numerics/convert.h"

namespace plab {
namespace {

// The next value of p after magnitude `a` (>= 0, a value of p) away from zero (+1) or
// toward zero (-1): one step of its pattern, which for a 32-bit pattern (tf32) is one
// unit of its last kept mantissa bit.
float neighbour(Precision p, const FormatInfo& f, float a, int direction) {
  const std::uint32_t step = f.totalBits == 32 ? (1u << (23 - f.mantissaBits)) : 1u;
  const std::uint32_t bits = encode(p, a);
  return decode(p, direction > 0 ? bits + step : bits - step);
}

}  // namespace

float roundStochastic(Precision p, float x, float u) {
  const FormatInfo& f = formatInfo(p);
  if (isBlockScaled(p)) throwBlockScaled("roundStochastic", p);
  const float nearest = roundTo(p, x);
  if (nearest == x || !std::isfinite(x)) return nearest;
  const float a = std::fabs(x);
  const float an = std::fabs(nearest);
  if (a >= f.maxFinite) return nearest;
  const float lo = an < a ? an : neighbour(p, f, an, -1);
  const float hi = an < a ? neighbour(p, f, an, +1) : an;
  // a - lo is exact in double, hi - lo a power of two: frac is exact.
  const double frac = (double(a) - lo) / (double(hi) - lo);
  const float magnitude = double(u) < frac ? hi : lo;
  return std::copysign(magnitude, x);
}

}  // namespace plab
