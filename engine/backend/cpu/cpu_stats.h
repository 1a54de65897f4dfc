#pragma once
// TensorStats from fp32 values: what rounding did (before/after pairs) or what a
// tensor holds (after == nullptr).
#include <cstddef>

#include "backend/backend.h"

namespace plab::cpu {

// Histogram bin of a finite nonzero x: floor(log2|x|) - kLog2HistMin, clamped to the
// bins (bin 0 also holds everything smaller, the last bin everything larger).
int log2Bin(float x);

// Overwrites out. before: values presented to the format (fp8: already times the
// scale). after: the rounded values, or nullptr to describe `before` as it is.
// saturationLimit > 0 (fp8): |before| beyond it counts as an overflow.
void computeStats(const float* before, const float* after, std::size_t n, float saturationLimit,
                  TensorStats& out);

}  // namespace plab::cpu
