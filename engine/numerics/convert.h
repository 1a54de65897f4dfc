#pragma once
// Conversion between fp32 and each format: round-to-nearest-even, subnormals kept,
// fp16/bf16 overflow to +-inf, NaN stays NaN, fp8 saturates to the largest finite
// value as CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...) does, tf32 keeps
// 10 mantissa bits. The scalar functions are the reference; the array functions are
// the fast path (F16C / AVX-512 where the CPU has them, chosen at run time) and must
// agree with the reference bit for bit.
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
void forcePortableConversion(bool portable);
// For tests and benchmarks: every path this CPU can run, best first ("portable" last),
// and forcing one by name; false (and no change) when this CPU cannot run it. An empty
// name restores the automatic choice.
std::vector<std::string> availableConversionPaths();
bool forceConversionPath(std::string_view name);

}  // namespace plab
