// AVX2 + F16C kernels ("f16c" path). Compiled with function target attributes only, so
// the library still runs on any x86-64; convert_x86.cpp calls in here only after
// __builtin_cpu_supports said yes. Tails (n not a multiple of 8) use the scalar rules.
#include "numerics/convert_x86.h"

#if PLAB_X86_KERNELS
#include <immintrin.h>

#include <cstring>

#include "numerics/convert.h"
#include "numerics/convert_bits.h"

#define PLAB_AVX2 __attribute__((target("avx2,f16c")))

namespace plab::detail {
namespace {

PLAB_AVX2 inline __m256i loadBits(const float* p) {
  return _mm256_castps_si256(_mm256_loadu_ps(p));
}
PLAB_AVX2 inline void storeBits(float* p, __m256i v) {
  _mm256_storeu_ps(p, _mm256_castsi256_ps(v));
}
PLAB_AVX2 inline __m256i splat(std::uint32_t v) {
  return _mm256_set1_epi32(static_cast<int>(v));
}

// Vector form of roundLowBitsRne, NaN quieted as tf32Bits/bf16Bits do.
template <int Drop>
PLAB_AVX2 inline __m256i roundLowBitsKeepingNan(__m256i bits) {
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, Drop), splat(1));
  const __m256i increment = _mm256_add_epi32(lsb, splat((1u << (Drop - 1)) - 1u));
  const __m256i keepMask = splat(~((1u << Drop) - 1u));
  const __m256i rounded = _mm256_and_si256(_mm256_add_epi32(bits, increment), keepMask);
  const __m256i absBits = _mm256_and_si256(bits, splat(0x7FFFFFFFu));
  const __m256i isNan = _mm256_cmpgt_epi32(absBits, splat(0x7F800000u));
  const __m256i quietNan = _mm256_and_si256(_mm256_or_si256(bits, splat(0x00400000u)), keepMask);
  return _mm256_blendv_epi8(rounded, quietNan, isNan);
}

// Vector form of roundToSmallFormatBits for the fp8 formats (canonical NaN).
template <int Drop>
PLAB_AVX2 inline __m256i roundFp8Bits(__m256i bits, const SmallFormatRounding& f) {
  const __m256i signBit = _mm256_and_si256(bits, splat(0x80000000u));
  const __m256i absBits = _mm256_and_si256(bits, splat(0x7FFFFFFFu));
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(absBits, Drop), splat(1));
  const __m256i increment = _mm256_add_epi32(lsb, splat((1u << (Drop - 1)) - 1u));
  const __m256i normal =
      _mm256_and_si256(_mm256_add_epi32(absBits, increment), splat(~((1u << Drop) - 1u)));
  const __m256 anchor = _mm256_set1_ps(f.subnormalAnchor);
  const __m256 anchored =
      _mm256_sub_ps(_mm256_add_ps(_mm256_castsi256_ps(absBits), anchor), anchor);
  const __m256i belowNormal = _mm256_cmpgt_epi32(splat(f.minNormalBits), absBits);
  __m256i rounded = _mm256_blendv_epi8(normal, _mm256_castps_si256(anchored), belowNormal);
  rounded = _mm256_min_epi32(rounded, splat(f.maxFiniteBits));  // saturate, inf included
  const __m256i isNan = _mm256_cmpgt_epi32(absBits, splat(0x7F800000u));
  return _mm256_blendv_epi8(_mm256_or_si256(rounded, signBit), splat(f.nanBits), isNan);
}

// fp8 code of fp32 values already rounded to the format (output of roundFp8Bits).
template <int Drop>
PLAB_AVX2 inline __m256i fp8CodeOfRounded(__m256i rounded, const SmallFormatRounding& f,
                                         int bias) {
  const __m256i absBits = _mm256_and_si256(rounded, splat(0x7FFFFFFFu));
  const __m256i rebased = _mm256_sub_epi32(absBits, splat(static_cast<std::uint32_t>(127 - bias) << 23));
  const __m256i normalCode = _mm256_srli_epi32(rebased, Drop);
  // Below the smallest normal the value is an integer number of subnormal steps.
  const float stepsPerUnit = 8388608.0f / f.subnormalAnchor;  // 1 / smallest subnormal
  const __m256i subnormalCode =
      _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_castsi256_ps(absBits), _mm256_set1_ps(stepsPerUnit)));
  const __m256i belowNormal = _mm256_cmpgt_epi32(splat(f.minNormalBits), absBits);
  __m256i code = _mm256_blendv_epi8(normalCode, subnormalCode, belowNormal);
  code = _mm256_or_si256(code, _mm256_srli_epi32(_mm256_and_si256(rounded, splat(0x80000000u)), 24));
  const __m256i isNan = _mm256_cmpgt_epi32(absBits, splat(0x7F800000u));
  return _mm256_blendv_epi8(code, splat(0x7Fu), isNan);
}

// Writes the low byte of each of 8 int32 lanes to out[0..7].
PLAB_AVX2 inline void storeLowBytes(std::uint8_t* out, __m256i v) {
  const __m256i gatherBytes = _mm256_setr_epi8(
      0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
      0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, gatherBytes),
                                                     _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
}

template <int Drop>
PLAB_AVX2 void roundLowBitsArray(const float* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = roundLowBitsKeepingNan<Drop>(loadBits(in + i));
    const __m256i b = roundLowBitsKeepingNan<Drop>(loadBits(in + i + 8));
    storeBits(out + i, a);
    storeBits(out + i + 8, b);
  }
  for (; i < n; ++i) {
    const std::uint32_t bits = bitsOf(in[i]);
    out[i] = floatOf(Drop == 13 ? tf32Bits(bits) : bf16Bits(bits) << 16);
  }
}

PLAB_AVX2 void roundFp16Array(const float* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    const __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(in + i + 8), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(out + i + 8, _mm256_cvtph_ps(b));
  }
  for (; i < n; ++i) out[i] = roundTo(Precision::fp16, in[i]);
}

template <int Drop>
PLAB_AVX2 void roundFp8Array(const SmallFormatRounding& f, const float* in, float* out,
                             std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) storeBits(out + i, roundFp8Bits<Drop>(loadBits(in + i), f));
  for (; i < n; ++i) out[i] = floatOf(roundToSmallFormatBits(bitsOf(in[i]), f));
}

PLAB_AVX2 void roundAvx2(Precision p, const float* in, float* out, std::size_t n) {
  switch (p) {
    case Precision::fp32:
      if (in != out) std::memmove(out, in, n * sizeof(float));
      return;
    case Precision::tf32: roundLowBitsArray<13>(in, out, n); return;
    case Precision::bf16: roundLowBitsArray<16>(in, out, n); return;
    case Precision::fp16: roundFp16Array(in, out, n); return;
    case Precision::fp8_e4m3: roundFp8Array<20>(kFp8E4m3Rounding, in, out, n); return;
    case Precision::fp8_e5m2: roundFp8Array<21>(kFp8E5m2Rounding, in, out, n); return;
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("roundArray (avx2)", p);
  }
  throwUnknownPrecision("roundArray (avx2)", p);
}

PLAB_AVX2 void encode16Avx2(Precision p, const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
  if (p == Precision::fp16) {
    for (; i + 8 <= n; i += 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                       _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    }
  } else {  // bf16
    for (; i + 16 <= n; i += 16) {
      const __m256i a = _mm256_srli_epi32(roundLowBitsKeepingNan<16>(loadBits(in + i)), 16);
      const __m256i b = _mm256_srli_epi32(roundLowBitsKeepingNan<16>(loadBits(in + i + 8)), 16);
      // packus works per 128-bit lane: a0 b0 a1 b1 in quarters; the permute restores order.
      const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), packed);
    }
  }
  for (; i < n; ++i) out[i] = static_cast<std::uint16_t>(encode(p, in[i]));
}

PLAB_AVX2 void decode16Avx2(Precision p, const std::uint16_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    if (p == Precision::fp16) {
      _mm256_storeu_ps(out + i, _mm256_cvtph_ps(codes));
    } else {
      storeBits(out + i, _mm256_slli_epi32(_mm256_cvtepu16_epi32(codes), 16));
    }
  }
  for (; i < n; ++i) out[i] = decode(p, in[i]);
}

template <int Drop>
PLAB_AVX2 void encodeFp8Array(const SmallFormatRounding& f, int bias, Precision p,
                              const float* in, std::uint8_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i rounded = roundFp8Bits<Drop>(loadBits(in + i), f);
    storeLowBytes(out + i, fp8CodeOfRounded<Drop>(rounded, f, bias));
  }
  for (; i < n; ++i) out[i] = static_cast<std::uint8_t>(encode(p, in[i]));
}

PLAB_AVX2 void encode8Avx2(Precision p, const float* in, std::uint8_t* out, std::size_t n) {
  if (p == Precision::fp8_e4m3) {
    encodeFp8Array<20>(kFp8E4m3Rounding, 7, p, in, out, n);
  } else {
    encodeFp8Array<21>(kFp8E5m2Rounding, 15, p, in, out, n);
  }
}

// As decodeFp8Lanes in convert_x86_avx512.cpp: e5m2 through F16C, e4m3 by re-biasing
// normal codes and converting subnormal ones from integers (no subnormal arithmetic).
PLAB_AVX2 inline __m256i decodeFp8Lanes(Precision p, __m128i codes) {
  if (p == Precision::fp8_e5m2) {
    return _mm256_castps_si256(_mm256_cvtph_ps(_mm_slli_epi16(_mm_cvtepu8_epi16(codes), 8)));
  }
  const __m256i c = _mm256_cvtepu8_epi32(codes);
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(c, splat(0x80u)), 24);
  const __m256i magnitude = _mm256_and_si256(c, splat(0x7Fu));
  const __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(magnitude, 20), splat(120u << 23));
  const __m256 subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(magnitude), _mm256_set1_ps(0x1p-9f));
  const __m256i isSubnormal = _mm256_cmpgt_epi32(splat(0x08u), magnitude);
  __m256i value = _mm256_blendv_epi8(normal, _mm256_castps_si256(subnormal), isSubnormal);
  const __m256i isNan = _mm256_cmpeq_epi32(magnitude, splat(0x7Fu));
  value = _mm256_blendv_epi8(value, splat(0x7FC00000u), isNan);
  return _mm256_or_si256(value, sign);
}

PLAB_AVX2 void decode8Avx2(Precision p, const std::uint8_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i codes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i));
    storeBits(out + i, decodeFp8Lanes(p, codes));
  }
  decode8ByTable(p, in + i, out + i, n - i);
}

}  // namespace

const ArrayKernels& avx2Kernels() {
  static const ArrayKernels kernels{"f16c", roundAvx2, encode16Avx2, decode16Avx2,
                                    encode8Avx2, decode8Avx2};
  return kernels;
}

}  // namespace plab::detail
#endif  // PLAB_X86_KERNELS
