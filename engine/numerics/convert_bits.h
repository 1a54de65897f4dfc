#pragma once
// Internal to engine/numerics: the bit-level rules shared by the scalar reference and
// the portable array loops. Branch-free where it costs nothing, so loops vectorise.
#include <cstdint>
#include <cstring>

namespace plab::detail {

inline std::uint32_t bitsOf(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float floatOf(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

inline bool isNanBits(std::uint32_t bits) { return (bits & 0x7FFFFFFFu) > 0x7F800000u; }

// Rounds away the low `dropBits` bits of an fp32 pattern to nearest, ties to even, by
// integer addition: adding half-an-ulp-minus-one plus the kept lsb carries into the kept
// bits exactly when RNE rounds up. A carry out of the fraction bumps the exponent, which
// is what rounding does at a binade edge and, from the largest finite values, gives inf.
// Subnormals need nothing special (the exponent field is 0 and the carry makes the
// smallest normal). Not valid for NaN, whose payload could carry into the sign.
inline std::uint32_t roundLowBitsRne(std::uint32_t bits, int dropBits) {
  const std::uint32_t lsb = (bits >> dropBits) & 1u;
  const std::uint32_t halfMinusOne = (1u << (dropBits - 1)) - 1u;
  return (bits + halfMinusOne + lsb) & ~((1u << dropBits) - 1u);
}

// tf32: fp32 with the low 13 fraction bits rounded away (stored in 32 bits).
// NaN is quieted (quiet bit set) and keeps the top of its payload.
inline std::uint32_t tf32Bits(std::uint32_t bits) {
  return isNanBits(bits) ? ((bits | 0x00400000u) & 0xFFFFE000u) : roundLowBitsRne(bits, 13);
}

// bf16: the top 16 bits of fp32 after rounding away the low 16.
inline std::uint32_t bf16Bits(std::uint32_t bits) {
  return isNanBits(bits) ? ((bits >> 16) | 0x0040u) : (roundLowBitsRne(bits, 16) >> 16);
}

// How a small format (fp16, fp8) rounds, in fp32 terms, for the branch-free rule below.
struct SmallFormatRounding {
  int dropBits;                 // 23 - mantissa bits: fp32 fraction bits the format lacks
  std::uint32_t minNormalBits;  // fp32 bits of the format's smallest normal
  float subnormalAnchor;        // 2^23 * smallest subnormal: its ulp is the subnormal step
  std::uint32_t maxFiniteBits;  // fp32 bits of the largest finite value
  std::uint32_t overflowBits;   // what a too-large magnitude becomes: inf or max finite
  bool canonicalNan;            // fp8: every NaN becomes nanBits (CUDA drops sign/payload)
  std::uint32_t nanBits;        // fp32 bits of the format's canonical NaN, decoded
};

inline constexpr SmallFormatRounding kFp16Rounding{13, 0x38800000u, 0.5f, 0x477FE000u,
                                                   0x7F800000u, false, 0};
inline constexpr SmallFormatRounding kFp8E4m3Rounding{20, 0x3C800000u, 16384.0f, 0x43E00000u,
                                                      0x43E00000u, true, 0x7FC00000u};
inline constexpr SmallFormatRounding kFp8E5m2Rounding{21, 0x38800000u, 128.0f, 0x47600000u,
                                                      0x47600000u, true, 0x7FE00000u};

// x rounded to a small format, returned as fp32 bits, without branches (so loops over it
// vectorise). Normal range: roundLowBitsRne. Below the smallest normal the format's step
// is fixed (the smallest subnormal), and adding subnormalAnchor, whose ulp is exactly
// that step, makes the fp32 adder round to nearest-even for us; subtracting it again is
// exact. Relies on the default rounding mode (nearest) and on the compiler not folding
// (a + c) - c, which it may not do without -ffast-math. Checked against the reference.
inline std::uint32_t roundToSmallFormatBits(std::uint32_t bits, const SmallFormatRounding& f) {
  const std::uint32_t sign = bits & 0x80000000u;
  const std::uint32_t absBits = bits & 0x7FFFFFFFu;
  const std::uint32_t normal = roundLowBitsRne(absBits, f.dropBits);
  const float anchored = (floatOf(absBits) + f.subnormalAnchor) - f.subnormalAnchor;
  // Selections as masks rather than ?: so that the compiler needs no branch to vectorise.
  const std::uint32_t belowNormal = 0u - static_cast<std::uint32_t>(absBits < f.minNormalBits);
  std::uint32_t rounded = (bitsOf(anchored) & belowNormal) | (normal & ~belowNormal);
  const std::uint32_t overflow = 0u - static_cast<std::uint32_t>(rounded > f.maxFiniteBits);
  rounded = (f.overflowBits & overflow) | (rounded & ~overflow);
  const std::uint32_t nan = f.canonicalNan ? f.nanBits : ((bits | 0x00400000u) & 0xFFFFE000u);
  const std::uint32_t isNan = 0u - static_cast<std::uint32_t>(absBits > 0x7F800000u);
  return (nan & isNan) | ((rounded | sign) & ~isNan);
}

// The code (bit pattern) of a value already rounded to a small format, given as fp32
// bits (the output of roundToSmallFormatBits): normal values by re-biasing the
// exponent and dropping the zero low bits; values below the smallest normal as an
// integer count of subnormal steps (exact, since they are multiples of the step).
// inf/NaN: fp16 keeps the top 10 payload bits (quiet bit included); fp8 has no inf left
// after saturation, and its NaN is the canonical 0x7F.
template <const SmallFormatRounding& F, int Bias, bool IsFp16>
inline std::uint32_t smallCodeOfRoundedBits(std::uint32_t rounded) {
  const std::uint32_t absBits = rounded & 0x7FFFFFFFu;
  const std::uint32_t sign = (rounded >> 31) << (IsFp16 ? 15 : 7);
  const std::uint32_t normal = (absBits - (static_cast<std::uint32_t>(127 - Bias) << 23)) >> F.dropBits;
  // Clamped first so the conversion never sees a value outside uint32's range.
  const std::uint32_t clamped = absBits < F.minNormalBits ? absBits : F.minNormalBits;
  const float stepsPerUnit = 8388608.0f / F.subnormalAnchor;  // 1 / smallest subnormal
  const auto subnormal = static_cast<std::uint32_t>(floatOf(clamped) * stepsPerUnit);
  const std::uint32_t belowNormal = 0u - static_cast<std::uint32_t>(absBits < F.minNormalBits);
  const std::uint32_t finite = (subnormal & belowNormal) | (normal & ~belowNormal);
  const std::uint32_t special = IsFp16 ? (0x7C00u | ((absBits >> 13) & 0x03FFu)) : 0x7Fu;
  const std::uint32_t isSpecial = 0u - static_cast<std::uint32_t>(absBits >= 0x7F800000u);
  return ((special & isSpecial) | (finite & ~isSpecial)) | sign;
}

}  // namespace plab::detail
