// The block-scaled formats' reference (block_format.h states the rules), in double:
// inputs are fp32 and scales are powers of two (MX) or values with at most 4 + 19
// significant bits (NVFP4), so an MX value / X is exact, and NVFP4's x / (s t) is
// correctly rounded in double, 2^-53 from the exact quotient, while a quotient that is
// not exactly on an e2m1 midpoint is at least ~2^-27 (relatively) away from it: each
// rounding to an element or a scale happens once, on the exact value's side.
#include "numerics/block_format.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "numerics/convert_bits.h"

namespace plab {
namespace {

using detail::bitsOf;
using detail::floatOf;

// How one small format (an element, or the e4m3 block scale of NVFP4) lays out its bits.
struct SmallRules {
  int totalBits;
  int mantissaBits;
  int exponentBits;
  int bias;
  double maxFinite;
  bool integer;        // mxint8: two's complement times 2^-mantissaBits
  bool ieeeSpecials;   // the top exponent holds inf and NaN (e5m2)
  bool nanAllOnes;     // only S.1...1 is NaN, no inf (e4m3)
};

SmallRules rulesOf(const FormatInfo& f) {
  return {f.totalBits, f.mantissaBits, f.exponentBits, f.bias, f.maxFinite, f.exponentBits == 0,
          f.hasInfinity, !f.hasInfinity && f.hasNaN};
}

const SmallRules& elementRules(const char* where, Precision p) {
  static const auto table = [] {
    std::array<SmallRules, kAllPrecisions.size()> rules{};
    for (Precision q : kBlockPrecisions) rules[std::size_t(q)] = rulesOf(formatInfo(q));
    return rules;
  }();
  if (!isBlockScaled(p)) {
    throw std::invalid_argument(std::string(where) + ": " + std::string(toString(p)) +
                                " is not a block-scaled format (its values round one by one: numerics/convert.h)");
  }
  return table[std::size_t(p)];
}

const SmallRules& e4m3ScaleRules() {
  static const SmallRules rules = rulesOf(formatInfo(Precision::fp8_e4m3));
  return rules;
}

const SmallRules& e2m1Rules() {
  static const SmallRules rules = rulesOf(formatInfo(Precision::nvfp4));
  return rules;
}

// n >= 0 (an integer count plus a fraction, below 2^52) rounded to an integer, ties to even.
double roundHalfEven(double n) {
  const double whole = std::floor(n);
  const double fraction = n - whole;
  if (fraction > 0.5 || (fraction == 0.5 && std::fmod(whole, 2.0) == 1.0)) return whole + 1.0;
  return whole;
}

std::uint32_t signBitOf(const SmallRules& r) { return 1u << (r.totalBits - 1); }
std::uint32_t magnitudeMask(const SmallRules& r) { return signBitOf(r) - 1u; }

// The magnitude pattern of a >= 0 (finite) rounded to nearest, ties to even, saturating
// at maxFinite. Floats: sign-magnitude, so the pattern's low bit is the significand's
// and "even pattern" is "even significand". Integers: the magnitude count itself.
std::uint32_t encodeMagnitude(const SmallRules& r, double a) {
  if (r.integer) {
    const double count = std::min(roundHalfEven(std::ldexp(a, r.mantissaBits)), std::ldexp(r.maxFinite, r.mantissaBits));
    return static_cast<std::uint32_t>(count);
  }
  if (a == 0) return 0;
  // Saturation. Below it, rounding cannot pass maxFinite, which is itself a value.
  if (a > r.maxFinite) a = r.maxFinite;
  int exponent = 0;
  std::frexp(a, &exponent);
  exponent -= 1;  // a in [2^exponent, 2^(exponent + 1))
  const int minExponent = 1 - r.bias;
  exponent = std::max(exponent, minExponent);  // below it, the subnormals' fixed step
  const double steps = roundHalfEven(std::ldexp(a, r.mantissaBits - exponent));
  const double implicitOne = std::ldexp(1.0, r.mantissaBits);
  if (steps < implicitOne) return static_cast<std::uint32_t>(steps);  // subnormal (or zero)
  // steps is in [2^m, 2^(m+1)]; 2^(m+1) (a carry) is the next binade with fraction 0,
  // which the addition below produces.
  const auto field = static_cast<std::uint32_t>(exponent + r.bias - 1);
  return (field << r.mantissaBits) + static_cast<std::uint32_t>(steps);
}

double decodeMagnitudeFloat(const SmallRules& r, std::uint32_t magnitude) {
  const std::uint32_t fraction = magnitude & ((1u << r.mantissaBits) - 1u);
  const int field = static_cast<int>(magnitude >> r.mantissaBits);
  if (field == 0) return std::ldexp(double(fraction), 1 - r.bias - r.mantissaBits);
  return std::ldexp(double(fraction | (1u << r.mantissaBits)), field - r.bias - r.mantissaBits);
}

bool isNanPattern(const SmallRules& r, std::uint32_t magnitude) {
  if (r.integer) return false;
  const std::uint32_t topField = (1u << r.exponentBits) - 1u;
  if (r.ieeeSpecials) return (magnitude >> r.mantissaBits) == topField && (magnitude & ((1u << r.mantissaBits) - 1u)) != 0;
  return r.nanAllOnes && magnitude == magnitudeMask(r);
}

bool isInfPattern(const SmallRules& r, std::uint32_t magnitude) {
  return r.ieeeSpecials && magnitude == ((1u << r.exponentBits) - 1u) << r.mantissaBits;
}

double decodeSmall(const SmallRules& r, std::uint32_t bits) {
  bits &= (1u << r.totalBits) - 1u;
  if (r.integer) {
    const auto count = static_cast<std::int64_t>(bits) - ((bits & signBitOf(r)) ? (std::int64_t(1) << r.totalBits) : 0);
    return std::ldexp(double(count), -r.mantissaBits);
  }
  const std::uint32_t magnitude = bits & magnitudeMask(r);
  const bool negative = (bits & signBitOf(r)) != 0;
  if (isNanPattern(r, magnitude)) return std::numeric_limits<double>::quiet_NaN();
  if (isInfPattern(r, magnitude)) return negative ? -INFINITY : INFINITY;
  const double v = decodeMagnitudeFloat(r, magnitude);
  return negative ? -v : v;
}

// Finite magnitudes saturate; inf and NaN are not clamped (OCP MX): inf stays inf where
// the element has it (e5m2), else becomes its NaN (e4m3); an element with neither
// (e3m2, e2m3, e2m1, int8) cannot take them.
std::uint32_t encodeSmall(const SmallRules& r, double x, const char* where, Precision p) {
  const bool negative = std::signbit(x);
  if (!std::isfinite(x)) {
    if (std::isinf(x) && r.ieeeSpecials) {
      return (negative ? signBitOf(r) : 0u) | (((1u << r.exponentBits) - 1u) << r.mantissaBits);
    }
    if (r.ieeeSpecials || r.nanAllOnes) return magnitudeMask(r);  // S=0, all ones: a NaN in e4m3 and e5m2
    throw std::invalid_argument(std::string(where) + ": " + std::string(toString(p)) + " elements have no " +
                                (std::isnan(x) ? "NaN" : "inf") +
                                " (a block holding one gets a NaN scale instead)");
  }
  const std::uint32_t magnitude = encodeMagnitude(r, std::fabs(x));
  if (r.integer) {
    const std::uint32_t mask = (1u << r.totalBits) - 1u;
    return negative ? ((0u - magnitude) & mask) : magnitude;
  }
  return (negative ? signBitOf(r) : 0u) | magnitude;
}

// ---- block scales ------------------------------------------------------------------

// Largest magnitude of count values `stride` floats apart, and whether one is NaN or inf.
struct BlockAmax {
  double amax = 0;
  bool nonFinite = false;
};

BlockAmax blockAmax(const float* x, std::size_t count, std::size_t stride) {
  BlockAmax b;
  for (std::size_t i = 0; i < count; ++i) {
    const float v = x[i * stride];
    if (!std::isfinite(v)) {
      b.nonFinite = true;
      if (std::isnan(v)) b.amax = std::numeric_limits<double>::quiet_NaN();
      else if (!std::isnan(b.amax)) b.amax = INFINITY;
    } else if (!b.nonFinite) {
      b.amax = std::max(b.amax, double(std::fabs(v)));
    }
  }
  return b;
}

// floor(log2(a)) for a finite a > 0, exactly (fp32 subnormals included).
int floorLog2(double a) {
  int exponent = 0;
  std::frexp(a, &exponent);
  return exponent - 1;
}

// The e8m0 exponent of an MX block, or nullopt-like `nan` when the scale is NaN.
struct MxScale {
  bool nan = false;
  int exponent = kE8m0MinExponent;
};

MxScale mxScaleOf(const BlockAmax& b, int emax) {
  if (b.nonFinite) return {true, 0};
  if (b.amax == 0) return {false, kE8m0MinExponent};  // floor(log2 0) = -inf, clamped
  const int k = floorLog2(b.amax) - emax;
  // Unreachable from fp32 inputs (floor(log2) <= 127 and emax >= 0), but the rule is
  // that a scale beyond e8m0's range is NaN.
  if (k > kE8m0MaxExponent) return {true, 0};
  return {false, std::max(k, kE8m0MinExponent)};
}

constexpr double kNvfp4ElementMax = 6.0;   // e2m1
constexpr double kNvfp4ScaleMax = 448.0;   // e4m3
constexpr int kTensorScaleBits = 19;       // 2688 = 21 * 2^7 takes 5 of fp32's 24 bits

// t = amax / 2688 rounded down to 19 significant bits, at least 2^-126 (block_format.h).
float nvfp4TensorScale(double amax) {
  double t = amax / (kNvfp4ElementMax * kNvfp4ScaleMax);
  if (t > 0) {
    const double unit = std::ldexp(1.0, floorLog2(t) + 1 - kTensorScaleBits);
    t = std::floor(t / unit) * unit;
  }
  const double smallest = std::ldexp(1.0, -126);
  return static_cast<float>(std::max(t, smallest));
}

struct NvScale {
  bool nan = false;
  std::uint32_t bits = 0;  // e4m3 magnitude pattern (0x7F for NaN)
  double value = 0;
  bool steppedDown = false;
};

NvScale nvfp4ScaleOf(const BlockAmax& b, float tensorScale) {
  const SmallRules& e4m3 = e4m3ScaleRules();
  if (b.nonFinite) return {true, magnitudeMask(e4m3), std::numeric_limits<double>::quiet_NaN(), false};
  const double t = tensorScale;
  NvScale s;
  s.bits = encodeMagnitude(e4m3, b.amax / (kNvfp4ElementMax * t));
  s.value = decodeMagnitudeFloat(e4m3, s.bits);
  if (s.value > 0) {
    // The block's largest value must become e2m1's largest element, 6: otherwise the
    // decoded block has a smaller amax and quantising it again picks another scale.
    const std::uint32_t top = encodeMagnitude(e2m1Rules(), b.amax / (s.value * t));
    if (decodeMagnitudeFloat(e2m1Rules(), top) != kNvfp4ElementMax) {
      s.bits -= 1;
      s.value = decodeMagnitudeFloat(e4m3, s.bits);
      s.steppedDown = true;
    }
  }
  return s;
}

// NVFP4's tensor amax: the largest magnitude in the blocks (along rows of a rows x cols
// view) that hold no NaN or inf. Those blocks decode as NaN, so counting their finite
// values would give a tensor scale that the decoded tensor cannot reproduce.
double finiteBlocksAmax(const float* in, std::size_t rows, std::size_t cols, std::size_t stride,
                        std::size_t blockSize) {
  double amax = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t first = 0; first < cols; first += blockSize) {
      const BlockAmax b = blockAmax(in + r * stride + first, std::min(blockSize, cols - first), 1);
      if (!b.nonFinite) amax = std::max(amax, b.amax);
    }
  }
  return amax;
}

// The whole quantisation of one block, shared by the reference and the fast path: calls
// emit(i, elementBits, value) for each of its values and returns the block's record.
template <class Emit>
BlockScaleRecord quantiseBlock(Precision p, const SmallRules& r, const float* x, std::size_t count,
                               float tensorScale, Emit&& emit) {
  const BlockAmax b = blockAmax(x, count, 1);
  BlockScaleRecord record;
  record.count = count;
  record.amax = b.amax;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (formatInfo(p).family == FormatFamily::nvfp4) {
    const NvScale s = nvfp4ScaleOf(b, tensorScale);
    record.scaleBits = s.bits;
    record.scale = s.value;
    record.steppedDown = s.steppedDown;
    for (std::size_t i = 0; i < count; ++i) {
      if (s.nan) {
        emit(i, 0u, nan);
      } else if (s.value == 0) {
        const bool negative = std::signbit(x[i]);
        emit(i, negative ? signBitOf(r) : 0u, negative ? -0.0f : 0.0f);
      } else {
        const double unit = s.value * double(tensorScale);  // exact: 4 + 19 significant bits
        const std::uint32_t bits = encodeSmall(r, double(x[i]) / unit, "quantiseBlocks", p);
        emit(i, bits, static_cast<float>(decodeSmall(r, bits) * unit));
      }
    }
    return record;
  }
  const MxScale s = mxScaleOf(b, elementMaxExponent(p));
  record.scaleBits = s.nan ? kE8m0Nan : static_cast<std::uint32_t>(s.exponent + 127);
  record.scale = s.nan ? std::numeric_limits<double>::quiet_NaN() : std::ldexp(1.0, s.exponent);
  for (std::size_t i = 0; i < count; ++i) {
    if (s.nan) {
      emit(i, 0u, nan);
    } else {
      const std::uint32_t bits = encodeSmall(r, std::ldexp(double(x[i]), -s.exponent), "quantiseBlocks", p);
      // Exact in fp32: at most 7 significant bits, between 2^-143 and 2^128 (see the header).
      emit(i, bits, static_cast<float>(std::ldexp(decodeSmall(r, bits), s.exponent)));
    }
  }
  return record;
}

// ---- the fast path (quantiseDequantise): the same results as quantiseBlock, checked
// bit for bit by tests/numerics/tst_block_formats.cpp, in fp32 where that is exact.

// MX with float elements: x * 2^-k is exact in fp32 (the block's amax keeps it below
// 2^(emax+1); a product that falls into fp32's subnormals is far below half the
// element's smallest subnormal, 2^-17 or more, and becomes a zero of its sign either
// way), so convert_bits.h's branch-free rounding applies with the element's constants;
// the rounded element times 2^k is exact too (at most 4 significant bits, at least
// 2^-143). Assumes the default rounding mode and no flush-to-zero, as convert.h does.
detail::SmallFormatRounding mxElementRounding(const FormatInfo& f) {
  const auto maxBits = bitsOf(static_cast<float>(f.maxFinite));
  return {23 - f.mantissaBits, bitsOf(static_cast<float>(f.minNormal)),
          static_cast<float>(std::ldexp(f.minSubnormal, 23)), maxBits, maxBits, true, 0x7FC00000u};
}

// 2^e as a float for e in [-149, 127], exactly.
float pow2f(int e) { return e >= -126 ? floatOf(static_cast<std::uint32_t>(e + 127) << 23) : floatOf(1u << (e + 149)); }

// floor(log2) of a finite, non-zero fp32 magnitude given by its bits.
int floorLog2Bits(std::uint32_t absBits) {
  if (absBits >= 0x00800000u) return static_cast<int>(absBits >> 23) - 127;
  int top = 31;
  while (!((absBits >> top) & 1u)) --top;
  return top - 149;
}

void fillNan(float* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = std::numeric_limits<float>::quiet_NaN();
}

struct MxFast {
  detail::SmallFormatRounding rounding;
  int emax;
  bool integer;
};

// A run of MX float elements sharing one scale (down = 2^-k, up = 2^k; per column
// when `perColumn`, then down and up are arrays): each x * down rounded to the nearest
// multiple of its binade's quantum, 2^(max(e, emin) - mantissa bits), by adding and
// subtracting 1.5 * 2^23 quanta (the fp32 adder rounds to nearest-even at that ulp),
// then saturated at the element's largest value. Every operation is the same for all
// lanes, so the loop vectorises; the same values as roundToSmallFormatBits, which
// tests/numerics/tst_block_formats.cpp checks bit for bit against the reference.
template <bool perColumn>
void mxFloatElements(const MxFast& m, const float* x, float* y, std::size_t count, const float* down, const float* up) {
  const std::int32_t mantissa = 23 - m.rounding.dropBits;
  const std::int32_t eminBiased = static_cast<std::int32_t>(m.rounding.minNormalBits >> 23);
  const float maxFinite = floatOf(m.rounding.maxFiniteBits);
  for (std::size_t i = 0; i < count; ++i) {
    const float d = perColumn ? down[i] : down[0];
    const float u = perColumn ? up[i] : up[0];
    const std::uint32_t bits = bitsOf(x[i] * d);
    const std::uint32_t sign = bits & 0x80000000u;
    const float a = floatOf(bits & 0x7FFFFFFFu);
    std::int32_t e = static_cast<std::int32_t>((bits >> 23) & 0xFFu);
    e = e < eminBiased ? eminBiased : e;
    const float anchor = floatOf((static_cast<std::uint32_t>(e - mantissa + 23) << 23) | 0x00400000u);
    float r = (a + anchor) - anchor;
    r = r < maxFinite ? r : maxFinite;
    y[i] = floatOf(bitsOf(r) | sign) * u;
  }
}

// The scale exponent k of an MX block from the largest magnitude's bits (below inf).
int mxScaleExponent(const MxFast& m, std::uint32_t maxAbs) {
  return maxAbs == 0 ? kE8m0MinExponent : std::max(floorLog2Bits(maxAbs) - m.emax, kE8m0MinExponent);
}

// One MX element: x / 2^k (x * down) rounded into the element, times 2^k (up).
inline float mxElement(const MxFast& m, float x, float down, float up) {
  if (m.integer) {
    // int8 elements: x * 2^-k * 64 is exact and below 128 in magnitude; adding and
    // subtracting 1.5 * 2^23 rounds it to an integer, ties to even.
    constexpr float kRoundToInteger = 12582912.0f;
    float n = ((x * down * 64.0f) + kRoundToInteger) - kRoundToInteger;
    n = std::min(std::max(n, -127.0f), 127.0f);
    return (n * (1.0f / 64.0f)) * up;
  }
  return floatOf(detail::roundToSmallFormatBits(bitsOf(x * down), m.rounding)) * up;
}

void mxFastBlock(const MxFast& m, const float* x, float* y, std::size_t count) {
  std::uint32_t maxAbs = 0;
  for (std::size_t i = 0; i < count; ++i) maxAbs = std::max(maxAbs, bitsOf(x[i]) & 0x7FFFFFFFu);
  if (maxAbs >= 0x7F800000u) return fillNan(y, count);  // a NaN or an inf: the scale is NaN
  const int k = mxScaleExponent(m, maxAbs);
  const float down = pow2f(-k);
  const float up = pow2f(k);
  if (!m.integer) return mxFloatElements<false>(m, x, y, count, &down, &up);
  for (std::size_t i = 0; i < count; ++i) y[i] = mxElement(m, x[i], down, up);
}

// MX blocks running down the columns of a row-major [rows, cols] matrix, blockRows
// values each (the last ones shorter): a strip of blockRows rows at a time, each
// column's block scale from the strip, without transposing. The same values as
// mxFastBlock on each column's blocks. in and out may be the same buffer.
void mxFastColumns(const MxFast& m, const float* in, float* out, std::size_t rows, std::size_t cols,
                   std::size_t blockRows) {
  std::vector<std::uint32_t> maxAbs(cols);
  std::vector<float> down(cols), up(cols);
  for (std::size_t r0 = 0; r0 < rows; r0 += blockRows) {
    const std::size_t r1 = std::min(rows, r0 + blockRows);
    std::fill(maxAbs.begin(), maxAbs.end(), 0u);
    bool anyNan = false;
    for (std::size_t r = r0; r < r1; ++r) {
      const float* x = in + r * cols;
      for (std::size_t c = 0; c < cols; ++c) maxAbs[c] = std::max(maxAbs[c], bitsOf(x[c]) & 0x7FFFFFFFu);
    }
    for (std::size_t c = 0; c < cols; ++c) {
      if (maxAbs[c] >= 0x7F800000u) {
        down[c] = up[c] = std::numeric_limits<float>::quiet_NaN();  // a NaN or an inf: the scale is NaN
        anyNan = true;
        continue;
      }
      const int k = mxScaleExponent(m, maxAbs[c]);
      down[c] = pow2f(-k);
      up[c] = pow2f(k);
    }
    for (std::size_t r = r0; r < r1; ++r) {
      const float* x = in + r * cols;
      float* y = out + r * cols;
      if (!m.integer) {
        mxFloatElements<true>(m, x, y, cols, down.data(), up.data());
        for (std::size_t c = 0; anyNan && c < cols; ++c)
          if (std::isnan(up[c])) y[c] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      for (std::size_t c = 0; c < cols; ++c)
        y[c] = std::isnan(up[c]) ? std::numeric_limits<float>::quiet_NaN() : mxElement(m, x[c], down[c], up[c]);
    }
  }
}

// NVFP4's elements without dividing: |x| / unit against e2m1's midpoints is |x| against
// midpoint * unit, which is exact in double (3 + 23 significant bits), as is the
// quotient's comparison in the reference (it can land on a midpoint only when |x| is
// exactly midpoint * unit). The element is the count of midpoints below, ties to the
// even pattern: 0.75 -> 1, 1.75 -> 2 and 3.5 -> 4 go up; 0.25, 1.25, 2.5 and 5 stay.
void nvfp4FastBlock(const float* x, float* y, std::size_t count, float tensorScale) {
  static constexpr double kValues[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  static constexpr double kMidpoints[7] = {0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0};
  const NvScale s = nvfp4ScaleOf(blockAmax(x, count, 1), tensorScale);
  if (s.nan) return fillNan(y, count);
  if (s.value == 0) {
    for (std::size_t i = 0; i < count; ++i) y[i] = std::signbit(x[i]) ? -0.0f : 0.0f;
    return;
  }
  const double unit = s.value * double(tensorScale);
  double bounds[7];
  for (int j = 0; j < 7; ++j) bounds[j] = kMidpoints[j] * unit;
  for (std::size_t i = 0; i < count; ++i) {
    const double a = std::fabs(double(x[i]));
    int code = (a == bounds[1]) + (a == bounds[3]) + (a == bounds[5]);
    for (double bound : bounds) code += a > bound;
    const double v = kValues[code] * unit;
    y[i] = static_cast<float>(std::signbit(x[i]) ? -v : v);
  }
}

}  // namespace

std::uint32_t encodeElement(Precision p, double x) {
  return encodeSmall(elementRules("encodeElement", p), x, "encodeElement", p);
}

double decodeElement(Precision p, std::uint32_t bits) { return decodeSmall(elementRules("decodeElement", p), bits); }

ValueClass classifyElement(Precision p, std::uint32_t bits) {
  const SmallRules& r = elementRules("classifyElement", p);
  bits &= (1u << r.totalBits) - 1u;
  if (r.integer) return bits == 0 ? ValueClass::zero : ValueClass::normal;
  const std::uint32_t magnitude = bits & magnitudeMask(r);
  if (isNanPattern(r, magnitude)) return ValueClass::nan;
  if (isInfPattern(r, magnitude)) return ValueClass::inf;
  if (magnitude == 0) return ValueClass::zero;
  return (magnitude >> r.mantissaBits) == 0 ? ValueClass::subnormal : ValueClass::normal;
}

std::uint32_t elementPatternCount(Precision p) { return 1u << elementRules("elementPatternCount", p).totalBits; }

int elementMaxExponent(Precision p) { return floorLog2(elementRules("elementMaxExponent", p).maxFinite); }

double decodeScale(ScaleFormat s, std::uint32_t bits) {
  switch (s) {
    case ScaleFormat::e8m0:
      bits &= 0xFFu;
      return bits == kE8m0Nan ? std::numeric_limits<double>::quiet_NaN() : std::ldexp(1.0, int(bits) - 127);
    case ScaleFormat::fp8_e4m3: return decodeSmall(e4m3ScaleRules(), bits & 0x7Fu);
    case ScaleFormat::fp32: {
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    case ScaleFormat::none: throw std::invalid_argument("decodeScale: the scale format \"none\" has no values");
  }
  throwUnknownScaleFormat("decodeScale", s);
}

BlockQuantisation quantiseBlocks(Precision p, std::span<const float> in) {
  const SmallRules& r = elementRules("quantiseBlocks", p);
  const FormatInfo& f = formatInfo(p);
  BlockQuantisation q;
  q.precision = p;
  q.elementBits.resize(in.size());
  q.values.resize(in.size());
  const auto blockSize = static_cast<std::size_t>(f.blockSize);
  if (f.family == FormatFamily::nvfp4) {
    q.tensorAmax = finiteBlocksAmax(in.data(), 1, in.size(), in.size(), blockSize);
    q.tensorScale = nvfp4TensorScale(q.tensorAmax);
  }
  for (std::size_t first = 0; first < in.size(); first += blockSize) {
    const std::size_t count = std::min(blockSize, in.size() - first);
    BlockScaleRecord record = quantiseBlock(p, r, in.data() + first, count, q.tensorScale,
                                            [&](std::size_t i, std::uint32_t bits, float value) {
                                              q.elementBits[first + i] = bits;
                                              q.values[first + i] = value;
                                            });
    record.first = first;
    q.blocks.push_back(record);
  }
  return q;
}

std::vector<float> dequantiseBlocks(const BlockQuantisation& q) {
  const SmallRules& r = elementRules("dequantiseBlocks", q.precision);
  const FormatInfo& f = formatInfo(q.precision);
  std::vector<float> out(q.elementBits.size());
  for (const BlockScaleRecord& b : q.blocks) {
    if (b.first + b.count > out.size()) {
      throw std::invalid_argument("dequantiseBlocks: block at " + std::to_string(b.first) + " of " +
                                  std::to_string(b.count) + " values runs past the " +
                                  std::to_string(out.size()) + " elements");
    }
    const double scale = decodeScale(f.blockScale, b.scaleBits);
    for (std::size_t i = b.first; i < b.first + b.count; ++i) {
      const double element = decodeSmall(r, q.elementBits[i]);
      if (f.family == FormatFamily::nvfp4) {
        out[i] = static_cast<float>(element * (scale * double(q.tensorScale)));
      } else {
        out[i] = static_cast<float>(element * scale);
      }
      if (std::isnan(scale)) out[i] = std::numeric_limits<float>::quiet_NaN();
    }
  }
  return out;
}

namespace {

// quantiseDequantiseRows with blocks of `blockSize` values (the format's own, or a whole
// tensor for BlockLayout::tensor).
void quantiseRowsInBlocksOf(Precision p, const float* in, float* out, std::size_t rows, std::size_t cols,
                            std::size_t stride, std::size_t blockSize) {
  const SmallRules& r = elementRules("quantiseDequantise", p);
  const FormatInfo& f = formatInfo(p);
  if (rows > 1 && stride < cols) {
    throw std::invalid_argument("quantiseDequantise: rows of " + std::to_string(cols) + " values overlap (stride " +
                                std::to_string(stride) + ")");
  }
  blockSize = std::max<std::size_t>(blockSize, 1);
  const bool nvfp4 = f.family == FormatFamily::nvfp4;
  const float tensorScale = nvfp4 ? nvfp4TensorScale(finiteBlocksAmax(in, rows, cols, stride, blockSize)) : 1.0f;
  const MxFast mx{mxElementRounding(f), nvfp4 ? 0 : elementMaxExponent(p), r.integer};
  for (std::size_t row = 0; row < rows; ++row) {
    const float* x = in + row * stride;
    float* y = out + row * stride;
    for (std::size_t first = 0; first < cols; first += blockSize) {
      const std::size_t count = std::min(blockSize, cols - first);
      // Each block reads all its inputs (for the scale) before it writes, and writes
      // value i after reading input i: in == out is fine.
      if (nvfp4) {
        nvfp4FastBlock(x + first, y + first, count, tensorScale);
      } else {
        mxFastBlock(mx, x + first, y + first, count);
      }
    }
  }
}

}  // namespace

void quantiseDequantiseRows(Precision p, const float* in, float* out, std::size_t rows, std::size_t cols,
                            std::size_t stride) {
  quantiseRowsInBlocksOf(p, in, out, rows, cols, stride, static_cast<std::size_t>(formatInfo(p).blockSize));
}

void quantiseDequantise(Precision p, const float* in, float* out, std::size_t n) {
  quantiseDequantiseRows(p, in, out, 1, n, n);
}

const char* toString(BlockLayout layout) {
  switch (layout) {
    case BlockLayout::rows: return "rows";
    case BlockLayout::columns: return "columns";
    case BlockLayout::tiles: return "tiles";
    case BlockLayout::tensor: return "tensor";
  }
  throw std::invalid_argument("toString: unknown BlockLayout " + std::to_string(int(layout)));
}

namespace {

// out [cols, rows] = in [rows, cols] transposed, in 32 x 32 tiles to stay in cache.
void transposeInto(const float* in, float* out, std::size_t rows, std::size_t cols) {
  constexpr std::size_t kTile = 32;
  for (std::size_t r0 = 0; r0 < rows; r0 += kTile)
    for (std::size_t c0 = 0; c0 < cols; c0 += kTile)
      for (std::size_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (std::size_t c = c0; c < std::min(cols, c0 + kTile); ++c) out[c * rows + r] = in[r * cols + c];
}

// Quantises the blocks that `blocks` lists (each a list of indices into the matrix) with
// one scale each: the tiles layout. NVFP4's tensor scale comes from the
// blocks without NaN or inf, as quantiseDequantiseRows takes it.
void quantiseIndexBlocks(Precision p, const float* in, float* out,
                         const std::vector<std::vector<std::size_t>>& blocks) {
  const SmallRules& r = elementRules("quantiseDequantiseMatrix", p);
  const FormatInfo& f = formatInfo(p);
  const bool nvfp4 = f.family == FormatFamily::nvfp4;
  std::vector<float> x, y;
  float tensorScale = 1.0f;
  if (nvfp4) {
    double amax = 0;
    for (const auto& block : blocks) {
      x.clear();
      for (std::size_t i : block) x.push_back(in[i]);
      const BlockAmax b = blockAmax(x.data(), x.size(), 1);
      if (!b.nonFinite) amax = std::max(amax, b.amax);
    }
    tensorScale = nvfp4TensorScale(amax);
  }
  const MxFast mx{mxElementRounding(f), nvfp4 ? 0 : elementMaxExponent(p), r.integer};
  for (const auto& block : blocks) {
    x.clear();
    for (std::size_t i : block) x.push_back(in[i]);
    y.resize(x.size());
    if (nvfp4) {
      nvfp4FastBlock(x.data(), y.data(), x.size(), tensorScale);
    } else {
      mxFastBlock(mx, x.data(), y.data(), x.size());
    }
    for (std::size_t k = 0; k < block.size(); ++k) out[block[k]] = y[k];
  }
}

}  // namespace

void quantiseDequantiseMatrix(Precision p, BlockLayout layout, const float* in, float* out, std::size_t rows,
                              std::size_t cols) {
  const std::size_t n = rows * cols;
  switch (layout) {
    case BlockLayout::rows:
      quantiseDequantiseRows(p, in, out, rows, cols, cols);
      return;
    case BlockLayout::columns: {
      if (formatInfo(p).family == FormatFamily::mx) {
        const FormatInfo& f = formatInfo(p);
        const MxFast mx{mxElementRounding(f), elementMaxExponent(p), elementRules("quantiseDequantiseMatrix", p).integer};
        mxFastColumns(mx, in, out, rows, cols, static_cast<std::size_t>(f.blockSize));
        return;
      }
      std::vector<float> t(n);
      transposeInto(in, t.data(), rows, cols);
      quantiseDequantiseRows(p, t.data(), t.data(), cols, rows, rows);
      transposeInto(t.data(), out, cols, rows);
      return;
    }
    case BlockLayout::tiles: {
      std::vector<std::vector<std::size_t>> tiles;
      for (std::size_t r0 = 0; r0 < rows; r0 += kBlockTileSide) {
        for (std::size_t c0 = 0; c0 < cols; c0 += kBlockTileSide) {
          std::vector<std::size_t> tile;
          for (std::size_t r = r0; r < std::min(rows, r0 + kBlockTileSide); ++r)
            for (std::size_t c = c0; c < std::min(cols, c0 + kBlockTileSide); ++c) tile.push_back(r * cols + c);
          tiles.push_back(std::move(tile));
        }
      }
      quantiseIndexBlocks(p, in, out, tiles);
      return;
    }
    case BlockLayout::tensor:
      quantiseRowsInBlocksOf(p, in, out, 1, n, n, n);
      return;
  }
  throw std::invalid_argument("quantiseDequantiseMatrix: unknown BlockLayout " + std::to_string(int(layout)));
}

}  // namespace plab
