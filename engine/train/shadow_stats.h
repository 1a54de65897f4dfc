#pragma once
// What rounding into a format would do to fp32 values that have not been rounded yet:
// the measurement behind the shadow pass (docs/architecture.md, "Shadow statistics"),
// on host values. The shadow pass itself measures on the backend
// (Backend::measureShadow); this is the same definition (backend/shadow_measure.h,
// measureShadowReference) for host arrays.
#include <span>

#include "core/records.h"
#include "numerics/precision.h"

namespace plab {

// shadow: the fp32 values; real: the same tensor as the run computed it, element for
// element (empty: no relative error); fp8Scale: the scale the run's fp8 tensor used
// (values are measured as shadow * scale). Throws std::invalid_argument when both are
// given and their sizes differ.
ShadowStats measureShadow(std::span<const float> shadow, std::span<const float> real, Precision format,
                          float fp8Scale = 1.0f);

// "Precision loss": a value the format holds only as a subnormal with fewer than half
// of its significant bits (mantissa + 1); fp16 keeps 11, so below 2^-19 it keeps 5 or fewer.
bool losesMostBits(float value, Precision format);

}  // namespace plab
