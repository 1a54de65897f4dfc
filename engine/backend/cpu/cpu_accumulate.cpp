#include "backend/cpu/cpu_accumulate.h"

#include <algorithm>

namespace plab::cpu {
namespace {

constexpr std::int64_t kBlock = 256;  // outputs advanced together (on the stack)

// sum + term for each of n outputs, rounded to odd in fp32 (see addRounded): TwoSum's
// exact error says whether the fp32 sum was inexact and on which side of the exact
// value it lies. Truncating towards zero and setting the last bit when inexact is
// rounding to odd. Branch-free, so the loop vectorises; inf and NaN sums pass as they are.
void sumsRoundedToOdd(const float* sums, float a, const float* b, std::int64_t n, float* out) {
  for (std::int64_t j = 0; j < n; ++j) {
    const float term = a * b[j];
    const float s = sums[j] + term;
    const float termPart = s - sums[j];
    const float error = (sums[j] - (s - termPart)) + (term - termPart);
    const auto bits = std::bit_cast<std::uint32_t>(s), errorBits = std::bit_cast<std::uint32_t>(error);
    const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
    const std::uint32_t finite = 0u - static_cast<std::uint32_t>(magnitude < 0x7F800000u);
    const std::uint32_t inexact = finite & (0u - static_cast<std::uint32_t>(error != 0.0f));
    // |s| overshoots the exact value when the error points the other way from s.
    const std::uint32_t overshoot = inexact & (0u - ((bits ^ errorBits) >> 31));
    const std::uint32_t truncated = magnitude - (overshoot & 1u);
    const std::uint32_t odd = (truncated | (inexact & 1u)) | (bits & 0x80000000u);
    out[j] = std::bit_cast<float>((odd & finite) | (bits & ~finite));
  }
}

}  // namespace

void multiplyRounded(Precision format, bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k,
                     const float* a, std::int64_t lda, const float* b, std::int64_t ldb, bool onto, float* c,
                     float* packB) {
  // op(B) as [k, n] rows contiguous along n: B itself, or its transpose copied.
  const float* rowsB = b;
  std::int64_t ldRows = ldb;
  if (transB) {
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t p = 0; p < k; ++p) packB[p * n + j] = b[j * ldb + p];
    rowsB = packB;
    ldRows = n;
  }
  float odd[kBlock];
  for (std::int64_t i = 0; i < m; ++i) {
    float* ci = c + i * n;
    if (!onto) std::fill_n(ci, n, 0.0f);
    for (std::int64_t j0 = 0; j0 < n; j0 += kBlock) {
      const std::int64_t width = std::min(kBlock, n - j0);
      for (std::int64_t p = 0; p < k; ++p) {
        const float aip = transA ? a[p * lda + i] : a[i * lda + p];
        sumsRoundedToOdd(ci + j0, aip, rowsB + p * ldRows + j0, width, odd);
        roundArray(format, odd, ci + j0, static_cast<std::size_t>(width));
      }
    }
  }
}

}  // namespace plab::cpu
