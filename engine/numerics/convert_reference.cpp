// The scalar reference conversions: written for clarity, one format rule at a time.
// The array fast paths (convert_array.cpp, convert_x86.cpp) are checked against these
// bit for bit by tests/numerics.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "numerics/convert.h"
#include "numerics/convert_bits.h"

namespace plab {
namespace {

using detail::bitsOf;
using detail::floatOf;

// Rounds a finite, non-negative fp32 magnitude (its bits) to a small binary format with
// mantissaBits explicit fraction bits and the given bias, to nearest, ties to even,
// keeping the format's subnormals. Returns the magnitude bits in the small format
// (exponent field << mantissaBits | fraction); the result may exceed the format's
// largest finite value, and the caller decides what overflow means (inf or saturate).
std::uint32_t roundMagnitudeToSmallFormat(std::uint32_t absBits, int mantissaBits, int bias) {
  if (absBits == 0) return 0;
  const int minExponent = 1 - bias;  // exponent of the smallest normal
  std::uint32_t significand;          // 24-bit significand with the hidden bit
  int exponent;                       // value = significand * 2^(exponent - 23)
  if (absBits >= 0x00800000u) {
    significand = (absBits & 0x007FFFFFu) | 0x00800000u;
    exponent = static_cast<int>(absBits >> 23) - 127;
  } else {  // an fp32 subnormal
    significand = absBits;
    exponent = -126;
  }
  int shift = 23 - mantissaBits;  // fraction bits dropped in the normal range
  if (exponent < minExponent) shift += minExponent - exponent;  // and more below it
  // significand < 2^24, so with a shift past 24 the value is below half the smallest
  // subnormal (never a tie) and rounds to zero.
  if (shift > 24) return 0;
  std::uint32_t kept = significand >> shift;
  const std::uint32_t dropped = significand & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  if (dropped > half || (dropped == half && (kept & 1u))) ++kept;
  if (exponent < minExponent) return kept;  // subnormal (or, after a carry, min normal)
  // kept = 2^m + fraction, possibly 2^(m+1) after a carry, which the addition below
  // turns into the next exponent with fraction zero.
  const std::uint32_t exponentField = static_cast<std::uint32_t>(exponent + bias - 1);
  return (exponentField << mantissaBits) + kept;
}

std::uint32_t encodeFp16(float x) {
  const std::uint32_t bits = bitsOf(x);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t absBits = bits & 0x7FFFFFFFu;
  if (absBits > 0x7F800000u) {
    // NaN: quiet it and keep the top 9 payload bits, as F16C's vcvtps2ph does.
    return sign | 0x7E00u | ((absBits >> 13) & 0x03FFu);
  }
  if (absBits == 0x7F800000u) return sign | 0x7C00u;
  const std::uint32_t magnitude = roundMagnitudeToSmallFormat(absBits, 10, 15);
  return sign | (magnitude > 0x7BFFu ? 0x7C00u : magnitude);  // overflow -> inf
}

// CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...): NaN becomes the canonical
// positive NaN 0x7F (the sign is dropped: CUDA replaces any NaN by 0x7FFFFFFF first);
// +-inf and finite values beyond the largest finite one saturate to +-max finite.
std::uint32_t encodeFp8(float x, int mantissaBits, int bias, std::uint32_t maxMagnitude) {
  const std::uint32_t bits = bitsOf(x);
  const std::uint32_t sign = (bits >> 24) & 0x80u;
  const std::uint32_t absBits = bits & 0x7FFFFFFFu;
  if (absBits > 0x7F800000u) return 0x7Fu;
  if (absBits == 0x7F800000u) return sign | maxMagnitude;
  const std::uint32_t magnitude = roundMagnitudeToSmallFormat(absBits, mantissaBits, bias);
  return sign | (magnitude > maxMagnitude ? maxMagnitude : magnitude);
}

// Value of a small-format pattern whose exponent field is not the reserved top one.
float decodeFiniteSmall(std::uint32_t magnitude, int mantissaBits, int bias) {
  const std::uint32_t fraction = magnitude & ((1u << mantissaBits) - 1u);
  const int exponentField = static_cast<int>(magnitude >> mantissaBits);
  if (exponentField == 0) {
    return std::ldexp(static_cast<float>(fraction), 1 - bias - mantissaBits);
  }
  const float significand = static_cast<float>(fraction | (1u << mantissaBits));
  return std::ldexp(significand, exponentField - bias - mantissaBits);
}

float withSign(std::uint32_t signBit, float magnitude) {
  return signBit ? -magnitude : magnitude;
}

float decodeFp16(std::uint32_t bits) {
  const std::uint32_t sign = bits & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7FFFu;
  if ((magnitude & 0x7C00u) == 0x7C00u) {
    const std::uint32_t fraction = magnitude & 0x03FFu;
    if (fraction == 0) return withSign(sign, INFINITY);
    // NaN: payload kept, quiet bit set, as F16C's vcvtph2ps does.
    return floatOf((sign << 16) | 0x7FC00000u | (fraction << 13));
  }
  return withSign(sign, decodeFiniteSmall(magnitude, 10, 15));
}

float decodeFp8E4m3(std::uint32_t bits) {
  const std::uint32_t sign = bits & 0x80u;
  const std::uint32_t magnitude = bits & 0x7Fu;
  if (magnitude == 0x7Fu) return floatOf((sign << 24) | 0x7FC00000u);  // the only NaN
  return withSign(sign, decodeFiniteSmall(magnitude, 3, 7));
}

float decodeFp8E5m2(std::uint32_t bits) {
  const std::uint32_t sign = bits & 0x80u;
  const std::uint32_t magnitude = bits & 0x7Fu;
  if ((magnitude & 0x7Cu) == 0x7Cu) {
    const std::uint32_t fraction = magnitude & 0x3u;
    if (fraction == 0) return withSign(sign, INFINITY);
    return floatOf((sign << 24) | 0x7FC00000u | (fraction << 21));
  }
  return withSign(sign, decodeFiniteSmall(magnitude, 2, 15));
}

}  // namespace

std::uint32_t encode(Precision p, float x) {
  switch (p) {
    case Precision::fp32: return bitsOf(x);
    case Precision::tf32: return detail::tf32Bits(bitsOf(x));
    case Precision::fp16: return encodeFp16(x);
    case Precision::bf16: return detail::bf16Bits(bitsOf(x));
    case Precision::fp8_e4m3: return encodeFp8(x, 3, 7, 0x7Eu);
    case Precision::fp8_e5m2: return encodeFp8(x, 2, 15, 0x7Bu);
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("encode", p);
  }
  throwUnknownPrecision("encode", p);
}

float decode(Precision p, std::uint32_t bits) {
  switch (p) {
    case Precision::fp32:
    case Precision::tf32: return floatOf(bits);
    case Precision::fp16: return decodeFp16(bits & 0xFFFFu);
    case Precision::bf16: return floatOf((bits & 0xFFFFu) << 16);
    case Precision::fp8_e4m3: return decodeFp8E4m3(bits & 0xFFu);
    case Precision::fp8_e5m2: return decodeFp8E5m2(bits & 0xFFu);
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("decode", p);
  }
  throwUnknownPrecision("decode", p);
}

float roundTo(Precision p, float x) { return decode(p, encode(p, x)); }

ValueClass classify(Precision p, std::uint32_t bits) {
  if (isBlockScaled(p)) throwBlockScaled("classify", p);
  const FormatInfo& f = formatInfo(p);
  const int fractionBits = p == Precision::tf32 ? 23 : f.mantissaBits;  // tf32 lives in fp32 bits
  const int exponentBits = f.exponentBits;
  const std::uint32_t fraction = bits & ((1u << fractionBits) - 1u);
  const std::uint32_t exponentField = (bits >> fractionBits) & ((1u << exponentBits) - 1u);
  const std::uint32_t topExponent = (1u << exponentBits) - 1u;
  if (p == Precision::fp8_e4m3) {
    if (exponentField == topExponent && fraction == 0x7u) return ValueClass::nan;
  } else if (exponentField == topExponent) {
    return fraction == 0 ? ValueClass::inf : ValueClass::nan;
  }
  if (exponentField == 0) return fraction == 0 ? ValueClass::zero : ValueClass::subnormal;
  return ValueClass::normal;
}

const char* toString(ValueClass c) {
  switch (c) {
    case ValueClass::zero: return "zero";
    case ValueClass::subnormal: return "subnormal";
    case ValueClass::normal: return "normal";
    case ValueClass::inf: return "inf";
    case ValueClass::nan: return "nan";
  }
  return "unknown";
}

}  // namespace plab
