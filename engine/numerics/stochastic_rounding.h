#pragma once
// Stochastic rounding into a per-value format (docs/architecture.md, "Stochastic
// rounding"): a value between two neighbours of the format goes to the one away from
// zero with probability equal to its distance from the one toward zero, in units of
// their gap, so that the expected result is the value itself. This is what adding 24
// uniform random bits below the kept mantissa and then truncating does when at most 24
// bits are dropped (fp32 to fp16, bf16 or fp8 drops 13 to 21 normal bits); the uniform
// u is a multiple of 2^-24 in [0, 1) (the backends draw it from the run seed with
// backend/counter_rng.h, so a run is reproducible and every backend draws the same bits).
//
// Exact values stay, NaN and inf round as roundTo does, and so does a value whose
// magnitude reaches the format's largest finite value (its upper neighbour would be
// inf or NaN): stochastic rounding never manufactures an overflow.
#include <cstddef>
#include <cstdint>

#include "numerics/precision.h"

namespace plab {

// p: fp32, tf32, fp16, bf16, fp8_e4m3 or fp8_e5m2 (a block-scaled format throws
// std::invalid_argument). fp32 returns x.
float roundStochastic(Precision p, float x, float u);

}  // namespace plab
