#include "backend/cpu/cpu_accumulate.h"

namespace plab::cpu {
namespace {

// rows x k of op(X) laid out so that row r is contiguous along k: X itself when not
// transposed (then the rows are already contiguous, stride ld), else copied.
const float* rowsAlongK(bool transposed, std::int64_t rows, std::int64_t k, const float* x, std::int64_t ld,
                        float* pack) {
  if (!transposed) {
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t p = 0; p < k; ++p) pack[r * k + p] = x[r * ld + p];
    return pack;
  }
  for (std::int64_t p = 0; p < k; ++p)
    for (std::int64_t r = 0; r < rows; ++r) pack[r * k + p] = x[p * ld + r];
  return pack;
}

}  // namespace

void multiplyRounded(Precision format, bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k,
                     const float* a, std::int64_t lda, const float* b, std::int64_t ldb, bool onto, float* c,
                     float* packA, float* packB) {
  // Row i of op(A) and column j of op(B), each contiguous along the inner dimension.
  const float* rowsA = rowsAlongK(transA, m, k, a, lda, packA);
  const float* colsB = rowsAlongK(!transB, n, k, b, ldb, packB);
  for (std::int64_t i = 0; i < m; ++i) {
    const float* ai = rowsA + i * k;
    for (std::int64_t j = 0; j < n; ++j) {
      const float* bj = colsB + j * k;
      float sum = onto ? c[i * n + j] : 0.0f;
      for (std::int64_t p = 0; p < k; ++p) sum = addRounded(format, sum, ai[p] * bj[p]);
      c[i * n + j] = sum;
    }
  }
}

}  // namespace plab::cpu
