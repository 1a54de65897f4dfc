#pragma once
// Small helpers shared by the CPU backend's op files: reading a tensor's logical
// values, finishing an output (the one rounding into its format), shape checks.
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "backend/tensor.h"
#include "numerics/convert.h"

namespace plab::cpu {

// The fp32 slots of a tensor (CPU storage is always fp32 slots).
inline float* slots(const Tensor& t) { return t.dataAs<float>(); }

// Multiplier that turns stored values into logical ones: 1 / scale for fp8, else 1.
inline float inverseScale(const Tensor& t) { return t.scale() ? 1.0f / *t.scale() : 1.0f; }

// Rounds n values at v (logical results of t's op) in place into t's format. fp8:
// records amax, multiplies by the scale, then rounds (saturating).
void roundInto(const Tensor& t, float* v, std::size_t n);
// The same over the whole tensor.
inline void finishOutput(Tensor& t) { roundInto(t, slots(t), static_cast<std::size_t>(t.numel())); }
// Whether an fp8 tensor held inf or NaN before its rounding saturated it: fp8 converts
// as SATFINITE (docs/architecture.md, "Numerics"), so an infinity is stored as the
// format's max and only the amax (the largest |x| before rounding) still says so.
// False for other formats, which keep their infinities.
inline bool saturatedNonFinite(const Tensor& t) { return t.amax() && !std::isfinite(*t.amax()); }
// Turns t's stored fp8 values into logical ones in place (no-op for other formats),
// for ops that read their output before writing it (beta != 0, accumulation).
void decodeInPlace(Tensor& t);
// Pointer to t's logical values: t's own slots, or (fp8) `buffer` filled with stored / scale.
const float* logicalValues(const Tensor& t, float* buffer);

// Throws std::invalid_argument "<op>: <what> has shape [..], expected [..]".
void requireShape(const char* op, const char* what, const Tensor& t, const Shape& expected);
void requireNumel(const char* op, const char* what, const Tensor& t, std::int64_t expected);
void requireDefined(const char* op, const char* what, const Tensor& t);
[[noreturn]] void fail(const char* op, const std::string& message);

}  // namespace plab::cpu
