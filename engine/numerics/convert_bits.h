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

}  // namespace plab::detail
