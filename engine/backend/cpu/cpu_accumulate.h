#pragma once
// Products that accumulate in a narrow format (docs/architecture.md, "Accumulation"):
// the running sum of each output is rounded into fp16 or bf16 after every addition,
// in order along the inner dimension. A reference, not a fast kernel: plain loops.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "numerics/convert.h"

namespace plab::cpu {

// roundTo(format, sum + term) with a single rounding of the exact sum, for fp16 and
// bf16 and any fp32 sum and term (a term may be a product of two fp16 values, 22
// significant bits, exact in fp32, so s + t is not a sum of two fp16 values).
// The fp32 sum is rounded to odd first: TwoSum gives the exact error of the fp32
// addition, and a nonzero error with an even last bit moves the sum one ulp towards
// it. Rounding an odd-rounded value with at least two more bits (fp32 has 24, fp16
// 11, bf16 8) to nearest-even then equals rounding the exact value (Boldo and
// Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", 2008), which is what a fused multiply-add into fp16 (the GPU's
// HFMA) gives. Needs strict IEEE fp32 arithmetic (no -ffast-math).
inline float addRounded(Precision format, float sum, float term) {
  const float s = sum + term;
  if (!std::isfinite(s)) return roundTo(format, s);
  const float termPart = s - sum;
  const float error = (sum - (s - termPart)) + (term - termPart);
  float odd = s;
  if (error != 0.0f && (std::bit_cast<std::uint32_t>(s) & 1u) == 0u) {
    odd = std::nextafter(s, error > 0.0f ? std::numeric_limits<float>::infinity()
                                          : -std::numeric_limits<float>::infinity());
  }
  return roundTo(format, odd);
}

// c[i][j] = sum over p of opA[i][p] * opB[p][j], row-major, opX = X or X^T (as
// cblas_sgemm's arguments: lda and ldb are the stored row lengths), starting from 0,
// or from c[i][j] when onto is true (a sum continued over several calls), each
// addition rounded as addRounded(format, ...) does, in order p = 0, 1, ... k - 1.
// The outputs of a row advance together, one p at a time, so that the additions of
// many outputs vectorise and the rounding goes through roundArray's fast path.
// packB holds k * n floats (used when transB).
void multiplyRounded(Precision format, bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k,
                     const float* a, std::int64_t lda, const float* b, std::int64_t ldb, bool onto, float* c,
                     float* packB);

}  // namespace plab::cpu
