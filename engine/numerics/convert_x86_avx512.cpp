// AVX-512 kernels ("avx512" path): the AVX2 rules on 16 lanes, with masked loads and
// stores for the tail instead of a scalar loop. The AVX512_BF16 instruction
// vcvtneps2bf16 is deliberately not used: it flushes subnormal inputs to zero, which
// the numerics contract forbids; the integer rounding below keeps them.
#include "numerics/convert_x86.h"

#if PLAB_X86_KERNELS
// GCC 12's AVX-512 intrinsics start from deliberately "undefined" registers (__Y = __Y),
// which -Wmaybe-uninitialized reports at every use; and lambdas returning __m512i trip
// -Wpsabi although they are always inlined into AVX-512 code. Both are noise here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include <immintrin.h>

#include <cstring>

#include "numerics/convert_bits.h"

#define PLAB_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,avx2")))

namespace plab::detail {
namespace {

PLAB_AVX512 inline __m512i splat(std::uint32_t v) {
  return _mm512_set1_epi32(static_cast<int>(v));
}
// Mask of the first `count` of 16 lanes (count <= 16).
PLAB_AVX512 inline __mmask16 firstLanes(std::size_t count) {
  return static_cast<__mmask16>((1u << count) - 1u);
}
PLAB_AVX512 inline __m512i loadBits(const float* p, __mmask16 m) {
  return _mm512_castps_si512(_mm512_maskz_loadu_ps(m, p));
}
PLAB_AVX512 inline void storeBits(float* p, __mmask16 m, __m512i v) {
  _mm512_mask_storeu_ps(p, m, _mm512_castsi512_ps(v));
}

template <int Drop>
PLAB_AVX512 inline __m512i roundLowBitsKeepingNan(__m512i bits) {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, Drop), splat(1));
  const __m512i increment = _mm512_add_epi32(lsb, splat((1u << (Drop - 1)) - 1u));
  const __m512i keepMask = splat(~((1u << Drop) - 1u));
  const __m512i rounded = _mm512_and_si512(_mm512_add_epi32(bits, increment), keepMask);
  const __m512i absBits = _mm512_and_si512(bits, splat(0x7FFFFFFFu));
  const __mmask16 isNan = _mm512_cmpgt_epi32_mask(absBits, splat(0x7F800000u));
  const __m512i quietNan = _mm512_and_si512(_mm512_or_si512(bits, splat(0x00400000u)), keepMask);
  return _mm512_mask_blend_epi32(isNan, rounded, quietNan);
}

template <int Drop>
PLAB_AVX512 inline __m512i roundFp8Bits(__m512i bits, const SmallFormatRounding& f) {
  const __m512i signBit = _mm512_and_si512(bits, splat(0x80000000u));
  const __m512i absBits = _mm512_and_si512(bits, splat(0x7FFFFFFFu));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(absBits, Drop), splat(1));
  const __m512i increment = _mm512_add_epi32(lsb, splat((1u << (Drop - 1)) - 1u));
  const __m512i normal =
      _mm512_and_si512(_mm512_add_epi32(absBits, increment), splat(~((1u << Drop) - 1u)));
  const __m512 anchor = _mm512_set1_ps(f.subnormalAnchor);
  const __m512 anchored =
      _mm512_sub_ps(_mm512_add_ps(_mm512_castsi512_ps(absBits), anchor), anchor);
  const __mmask16 belowNormal = _mm512_cmplt_epu32_mask(absBits, splat(f.minNormalBits));
  __m512i rounded = _mm512_mask_blend_epi32(belowNormal, normal, _mm512_castps_si512(anchored));
  rounded = _mm512_min_epu32(rounded, splat(f.maxFiniteBits));  // saturate, inf included
  const __mmask16 isNan = _mm512_cmpgt_epu32_mask(absBits, splat(0x7F800000u));
  return _mm512_mask_blend_epi32(isNan, _mm512_or_si512(rounded, signBit), splat(f.nanBits));
}

template <int Drop>
PLAB_AVX512 inline __m512i fp8CodeOfRounded(__m512i rounded, const SmallFormatRounding& f,
                                           int bias) {
  const __m512i absBits = _mm512_and_si512(rounded, splat(0x7FFFFFFFu));
  const __m512i rebased =
      _mm512_sub_epi32(absBits, splat(static_cast<std::uint32_t>(127 - bias) << 23));
  const __m512i normalCode = _mm512_srli_epi32(rebased, Drop);
  const float stepsPerUnit = 8388608.0f / f.subnormalAnchor;  // 1 / smallest subnormal
  const __m512i subnormalCode = _mm512_cvttps_epi32(
      _mm512_mul_ps(_mm512_castsi512_ps(absBits), _mm512_set1_ps(stepsPerUnit)));
  const __mmask16 belowNormal = _mm512_cmplt_epu32_mask(absBits, splat(f.minNormalBits));
  __m512i code = _mm512_mask_blend_epi32(belowNormal, normalCode, subnormalCode);
  code = _mm512_or_si512(code,
                         _mm512_srli_epi32(_mm512_and_si512(rounded, splat(0x80000000u)), 24));
  const __mmask16 isNan = _mm512_cmpgt_epu32_mask(absBits, splat(0x7F800000u));
  return _mm512_mask_blend_epi32(isNan, code, splat(0x7Fu));
}

// Applies kernel(bits) to every element, 32 at a time, then the masked tail.
template <typename Kernel>
PLAB_AVX512 inline void mapBits(const float* in, float* out, std::size_t n, Kernel kernel) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i a = kernel(_mm512_castps_si512(_mm512_loadu_ps(in + i)));
    const __m512i b = kernel(_mm512_castps_si512(_mm512_loadu_ps(in + i + 16)));
    _mm512_storeu_si512(out + i, a);
    _mm512_storeu_si512(out + i + 16, b);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = firstLanes(n - i < 16 ? n - i : 16);
    storeBits(out + i, m, kernel(loadBits(in + i, m)));
  }
}

PLAB_AVX512 __m512i roundFp16Bits(__m512i bits) {
  const __m256i half = _mm512_cvtps_ph(_mm512_castsi512_ps(bits), _MM_FROUND_TO_NEAREST_INT);
  return _mm512_castps_si512(_mm512_cvtph_ps(half));
}

PLAB_AVX512 void roundAvx512(Precision p, const float* in, float* out, std::size_t n) {
  switch (p) {
    case Precision::fp32:
      if (in != out) std::memmove(out, in, n * sizeof(float));
      return;
    case Precision::tf32:
      mapBits(in, out, n, [](__m512i b) PLAB_AVX512 { return roundLowBitsKeepingNan<13>(b); });
      return;
    case Precision::bf16:
      mapBits(in, out, n, [](__m512i b) PLAB_AVX512 { return roundLowBitsKeepingNan<16>(b); });
      return;
    case Precision::fp16:
      mapBits(in, out, n, [](__m512i b) PLAB_AVX512 { return roundFp16Bits(b); });
      return;
    case Precision::fp8_e4m3:
      mapBits(in, out, n,
              [](__m512i b) PLAB_AVX512 { return roundFp8Bits<20>(b, kFp8E4m3Rounding); });
      return;
    case Precision::fp8_e5m2:
      mapBits(in, out, n,
              [](__m512i b) PLAB_AVX512 { return roundFp8Bits<21>(b, kFp8E5m2Rounding); });
      return;
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("roundArray (avx512)", p);
  }
  throwUnknownPrecision("roundArray (avx512)", p);
}

// Converts 16 floats to 16-bit codes: fp16 by vcvtps2ph, bf16 by integer rounding.
PLAB_AVX512 inline __m256i encode16Lanes(Precision p, __m512i bits) {
  if (p == Precision::fp16) {
    return _mm512_cvtps_ph(_mm512_castsi512_ps(bits), _MM_FROUND_TO_NEAREST_INT);
  }
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(roundLowBitsKeepingNan<16>(bits), 16));
}

PLAB_AVX512 inline __m512i decode16Lanes(Precision p, __m256i codes) {
  if (p == Precision::fp16) return _mm512_castps_si512(_mm512_cvtph_ps(codes));
  return _mm512_slli_epi32(_mm512_cvtepu16_epi32(codes), 16);
}

// Full vectors unmasked (masked loads and stores cost more on some CPUs), then the tail
// with a lane mask.
PLAB_AVX512 void encode16Avx512(Precision p, const float* in, std::uint16_t* out,
                                std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i bits = _mm512_castps_si512(_mm512_loadu_ps(in + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), encode16Lanes(p, bits));
  }
  if (i < n) {
    const __mmask16 m = firstLanes(n - i);
    _mm256_mask_storeu_epi16(out + i, m, encode16Lanes(p, loadBits(in + i, m)));
  }
}

PLAB_AVX512 void decode16Avx512(Precision p, const std::uint16_t* in, float* out,
                                std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    _mm512_storeu_si512(out + i, decode16Lanes(p, codes));
  }
  if (i < n) {
    const __mmask16 m = firstLanes(n - i);
    storeBits(out + i, m, decode16Lanes(p, _mm256_maskz_loadu_epi16(m, in + i)));
  }
}

template <int Drop>
PLAB_AVX512 void encodeFp8Array(const SmallFormatRounding& f, int bias, const float* in,
                                std::uint8_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i rounded = roundFp8Bits<Drop>(_mm512_castps_si512(_mm512_loadu_ps(in + i)), f);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm512_cvtepi32_epi8(fp8CodeOfRounded<Drop>(rounded, f, bias)));
  }
  if (i < n) {
    const __mmask16 m = firstLanes(n - i);
    const __m512i rounded = roundFp8Bits<Drop>(loadBits(in + i, m), f);
    _mm512_mask_cvtepi32_storeu_epi8(out + i, m, fp8CodeOfRounded<Drop>(rounded, f, bias));
  }
}

// e5m2 is the top byte of an fp16, so vcvtph2ps decodes it exactly (subnormals, inf,
// and NaN quieted as the reference does). e4m3: normal codes by moving the 7 magnitude
// bits to the top of an fp32 and re-biasing the exponent (integer add); subnormal codes
// (exponent field 0) as fraction * 2^-9 from an int-to-float conversion. (Multiplying
// the code as an fp32 subnormal by 2^120 is exact too, but subnormal operands cost a
// microcode assist per element on Intel: 10x slower.) 0x7F/0xFF are e4m3's NaN.
PLAB_AVX512 inline __m512i decodeFp8Lanes(Precision p, __m128i codes) {
  if (p == Precision::fp8_e5m2) {
    const __m256i halves = _mm256_slli_epi16(_mm256_cvtepu8_epi16(codes), 8);
    return _mm512_castps_si512(_mm512_cvtph_ps(halves));
  }
  const __m512i c = _mm512_cvtepu8_epi32(codes);
  const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(c, splat(0x80u)), 24);
  const __m512i magnitude = _mm512_and_si512(c, splat(0x7Fu));
  const __m512i normal = _mm512_add_epi32(_mm512_slli_epi32(magnitude, 20), splat(120u << 23));
  const __m512 subnormal = _mm512_mul_ps(_mm512_cvtepi32_ps(magnitude), _mm512_set1_ps(0x1p-9f));
  const __mmask16 isSubnormal = _mm512_cmplt_epu32_mask(magnitude, splat(0x08u));
  __m512i value = _mm512_mask_blend_epi32(isSubnormal, normal, _mm512_castps_si512(subnormal));
  const __mmask16 isNan = _mm512_cmpeq_epi32_mask(magnitude, splat(0x7Fu));
  value = _mm512_mask_blend_epi32(isNan, value, splat(0x7FC00000u));
  return _mm512_or_si512(value, sign);
}

PLAB_AVX512 void decode8Avx512(Precision p, const std::uint8_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm512_storeu_si512(out + i, decodeFp8Lanes(p, codes));
  }
  if (i < n) {
    const __mmask16 m = firstLanes(n - i);
    storeBits(out + i, m, decodeFp8Lanes(p, _mm_maskz_loadu_epi8(m, in + i)));
  }
}

PLAB_AVX512 void encode8Avx512(Precision p, const float* in, std::uint8_t* out,
                               std::size_t n) {
  if (p == Precision::fp8_e4m3) {
    encodeFp8Array<20>(kFp8E4m3Rounding, 7, in, out, n);
  } else {
    encodeFp8Array<21>(kFp8E5m2Rounding, 15, in, out, n);
  }
}

}  // namespace

const ArrayKernels& avx512Kernels() {
  static const ArrayKernels kernels{"avx512", roundAvx512, encode16Avx512, decode16Avx512,
                                    encode8Avx512, decode8Avx512};
  return kernels;
}

}  // namespace plab::detail
#endif  // PLAB_X86_KERNELS
