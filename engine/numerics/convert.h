#pragma once
// Conversion between fp32 and each format: round-to-nearest-even, subnormals kept,
// fp16/bf16 overflow to +-inf, NaN stays NaN, fp8 saturates to the largest finite
// value as CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...) does, tf32 keeps
// 10 mantissa bits. The scalar functions are the reference; the array functions are
// the fast path (F16C / AVX-512 where the CPU has them, chosen at run time) and must
// agree with the reference bit for bit.
//
// Details a caller may meet (all as CUDA / F16C do them):
// - NaN: fp16/bf16/tf32 keep the sign and the top payload bits and set the quiet bit,
//   so a signalling NaN pattern comes back quiet. fp8 (both) encode every NaN as the
//   canonical 0x7F, sign dropped: CUDA replaces a NaN input by 0x7FFFFFFF first.
// - fp8 saturation (__NV_SATFINITE): finite values beyond the largest one and +-inf
//   become +-max finite (e4m3 +-448 = 0x7E/0xFE, e5m2 +-57344 = 0x7B/0xFB); e5m2 never
//   produces its inf patterns. Checked against cuda_fp8.hpp's host code on all 2^32 inputs.
// - Values below half the smallest subnormal become a zero of the input's sign.
// - The results do not depend on the MXCSR FTZ/DAZ flags (fp32 subnormal inputs round
//   to zero in fp16/fp8 anyway, and no path does arithmetic on subnormal operands that
//   matter); the rounding mode must be the default, round to nearest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "numerics/precision.h"

namespace plab {

// Bit pattern of x in format p (fp32 and tf32: the 32-bit pattern; fp16/bf16: 16 bits;
// fp8: 8 bits), rounded as described above.
std::uint32_t encode(Precision p, float x);
// The value of a bit pattern of format p, exactly, as fp32.
float decode(Precision p, std::uint32_t bits);
// decode(p, encode(p, x)): x rounded to the nearest value of p.
float roundTo(Precision p, float x);

enum class ValueClass { zero, subnormal, normal, inf, nan };
ValueClass classify(Precision p, std::uint32_t bits);
const char* toString(ValueClass c);

// Array forms: out[i] = roundTo(p, in[i]). in and out may be the same buffer.
void roundArray(Precision p, const float* in, float* out, std::size_t n);
// Packs to / unpacks from the format's storage (fp16/bf16: uint16_t, fp8: uint8_t).
void encodeArray16(Precision p, const float* in, std::uint16_t* out, std::size_t n);
void decodeArray16(Precision p, const std::uint16_t* in, float* out, std::size_t n);
void encodeArray8(Precision p, const float* in, std::uint8_t* out, std::size_t n);
void decodeArray8(Precision p, const std::uint8_t* in, float* out, std::size_t n);

// Which fast path the array functions use on this CPU: "avx512", "f16c" or "portable".
const char* conversionPathName();
// For tests and benchmarks: forces the portable path (true) or restores the choice.
// Process-wide; not meant to be switched while other threads convert.
void forcePortableConversion(bool portable);
// For tests and benchmarks: every path this CPU can run, best first ("portable" last),
// and forcing one by name; false (and no change) when this CPU cannot run it. An empty
// name restores the automatic choice.
std::vector<std::string> availableConversionPaths();
bool forceConversionPath(std::string_view name);

}  // namespace plab
