// What block-scaled training and stochastic rounding build on (engine/numerics):
// - quantiseDequantiseMatrix: rows is quantiseDequantiseRows; columns is the same on the
//   transpose; tiles give a matrix and its transpose the same values; tensor is one block
//   with one scale; NVFP4 keeps one tensor scale in every layout;
// - roundStochastic: exact values stay, results are one of the two neighbours, the
//   probability of rounding up is the distance in units of the gap, it never overflows,
//   and a sum of many small updates is unbiased where rounding to nearest stalls.
#include <QtTest>

#include <cmath>
#include <random>
#include <vector>

#include "numerics/block_format.h"
#include "numerics/convert.h"
#include "numerics/stochastic_rounding.h"
#include "backend/stochastic_array.h"  // the bf16 fast path (header only)

using namespace plab;

namespace {

std::vector<float> randomMatrix(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-12, 4);
  std::vector<float> v(n);
  for (auto& x : v) x = std::ldexp(normal(rng), exponent(rng));
  return v;
}

std::vector<float> transpose(const std::vector<float>& m, std::size_t rows, std::size_t cols) {
  std::vector<float> t(m.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

std::vector<float> quantised(Precision p, BlockLayout layout, const std::vector<float>& m, std::size_t rows,
                             std::size_t cols) {
  std::vector<float> out(m.size());
  quantiseDequantiseMatrix(p, layout, m.data(), out.data(), rows, cols);
  return out;
}

// A tiny deterministic uniform source, multiples of 2^-24.
struct Uniforms {
  std::mt19937_64 rng;
  explicit Uniforms(unsigned seed) : rng(seed) {}
  float next() { return float(rng() >> 40) * (1.0f / 16777216.0f); }
};

}  // namespace

class TestBlockLayoutsRounding : public QObject {
  Q_OBJECT

 private slots:
  void rowsAndColumnsAreTheReductionDimension() {
    const std::size_t rows = 37, cols = 70;  // short last blocks and rows
    for (Precision p : {Precision::mxfp4, Precision::mxfp8_e4m3, Precision::nvfp4}) {
      const auto m = randomMatrix(rows * cols, 1);
      std::vector<float> want(m.size());
      quantiseDequantiseRows(p, m.data(), want.data(), rows, cols, cols);
      QCOMPARE(quantised(p, BlockLayout::rows, m, rows, cols), want);
      // columns: the rows of the transpose, transposed back
      const auto t = transpose(m, rows, cols);
      std::vector<float> wantT(t.size());
      quantiseDequantiseRows(p, t.data(), wantT.data(), cols, rows, rows);
      QCOMPARE(quantised(p, BlockLayout::columns, m, rows, cols), transpose(wantT, cols, rows));
      // the two differ: the blocks run across different values
      QVERIFY(quantised(p, BlockLayout::rows, m, rows, cols) != quantised(p, BlockLayout::columns, m, rows, cols));
    }
  }

  void tilesQuantiseAMatrixAndItsTransposeAlike() {
    const std::size_t rows = 40, cols = 24;  // edge tiles of 8 rows and 8 columns
    for (Precision p : {Precision::mxfp4, Precision::mxfp6_e2m3, Precision::nvfp4}) {
      const auto m = randomMatrix(rows * cols, 2);
      const auto q = quantised(p, BlockLayout::tiles, m, rows, cols);
      const auto qT = quantised(p, BlockLayout::tiles, transpose(m, rows, cols), cols, rows);
      QCOMPARE(transpose(qT, cols, rows), q);
      // rows and columns do not have this property
      const auto r = quantised(p, BlockLayout::rows, m, rows, cols);
      const auto rT = quantised(p, BlockLayout::rows, transpose(m, rows, cols), cols, rows);
      QVERIFY(transpose(rT, cols, rows) != r);
    }
  }

  void aTileIsOneBlock() {
    // One 16x16 tile of mxfp4 equals quantising its 256 values as one block: one scale
    // 2^(floor(log2 amax) - 2).
    std::vector<float> m(16 * 16, 0.25f);
    m[17] = 5.0f;   // amax 5: k = 2 - 2 = 0, elements are the values themselves
    m[200] = 0.2f;  // 0.2 rounds to e2m1's 0 (below 0.25) at scale 1
    const auto q = quantised(Precision::mxfp4, BlockLayout::tiles, m, 16, 16);
    QCOMPARE(q[17], 4.0f);   // 5 -> 4 (ties to even between 4 and 6)
    QCOMPARE(q[0], 0.0f);    // 0.25 is the midpoint of 0 and 0.5: ties to even, 0
    QCOMPARE(q[200], 0.0f);
    // in rows (blocks of 32 along a row), the block without the 5 has scale 2^(-2-2)
    const auto r = quantised(Precision::mxfp4, BlockLayout::rows, m, 16, 16);
    QCOMPARE(r[0], 0.25f);
  }

  void tensorLayoutIsOneScale() {
    // Per-tensor scaling: a value 64 times below the amax is lost in e2m1 (its smallest
    // subnormal is 0.5 against a largest value of 6), where 1d blocks keep it.
    const std::size_t rows = 4, cols = 32;
    std::vector<float> m(rows * cols, 1.0f / 64.0f);
    m[0] = 1.0f;
    const auto tensor = quantised(Precision::mxfp4, BlockLayout::tensor, m, rows, cols);
    const auto blocks = quantised(Precision::mxfp4, BlockLayout::rows, m, rows, cols);
    QCOMPARE(tensor[0], 1.0f);
    QCOMPARE(tensor[cols], 0.0f);        // row 1: all lost with one scale
    QCOMPARE(blocks[cols], 1.0f / 64.0f);  // row 1: its own block keeps it
    std::vector<float> one(m.size());
    quantiseDequantiseRows(Precision::mxfp4, m.data(), one.data(), 1, m.size(), m.size());
    QVERIFY(one != tensor);  // rows of the flat tensor are blocks of 32, not one block
  }

  void exactValuesStayAndResultsAreNeighbours() {
    Uniforms u(3);
    for (Precision p : {Precision::fp16, Precision::bf16, Precision::tf32}) {
      for (float x : {1.0f, -0.5f, 0.0f, 65504.0f, 3.0f}) {
        if (roundTo(p, x) == x) QCOMPARE(roundStochastic(p, x, u.next()), x);
      }
      const auto values = randomMatrix(2000, 4);
      for (float x : values) {
        const float r = roundStochastic(p, x, u.next());
        QCOMPARE(roundTo(p, r), r);  // a value of p
        const float n = roundTo(p, x);
        // the nearest value, or its neighbour on x's other side
        if (r != n) QVERIFY((n < x && r > x) || (n > x && r < x));
      }
    }
    QCOMPARE(roundStochastic(Precision::fp32, 0.1f, 0.99f), 0.1f);
  }

  void probabilityIsTheDistance() {
    // 1 + 0.25 ulp of bf16 (ulp 2^-7): rounds up with probability 1/4, i.e. exactly for
    // the uniforms below 0.25.
    const float x = 1.0f + 0.25f * 0.0078125f;
    QCOMPARE(roundStochastic(Precision::bf16, x, 0.0f), 1.0078125f);
    QCOMPARE(roundStochastic(Precision::bf16, x, 0.2499999f), 1.0078125f);
    QCOMPARE(roundStochastic(Precision::bf16, x, 0.25f), 1.0f);
    QCOMPARE(roundStochastic(Precision::bf16, x, 0.9f), 1.0f);
    QCOMPARE(roundStochastic(Precision::bf16, -x, 0.1f), -1.0078125f);  // symmetric in sign
    // fp16 subnormals: 0.3 of the smallest subnormal goes to 2^-24 with probability 0.3
    const float tiny = 0.3f * std::ldexp(1.0f, -24);
    QCOMPARE(roundStochastic(Precision::fp16, tiny, 0.29f), std::ldexp(1.0f, -24));
    QCOMPARE(roundStochastic(Precision::fp16, tiny, 0.31f), 0.0f);
  }

  void theBf16FastPathIsTheReference() {
    Uniforms u(6);
    auto values = randomMatrix(20000, 7);
    for (float edge : {0.0f, -0.0f, 3.3895314e38f, 3.3961776e38f, -3.39e38f, 1e-40f, -1e-39f, INFINITY, NAN})
      values.push_back(edge);
    for (float x : values) {
      for (int k = 0; k < 4; ++k) {
        const float uk = k == 0 ? 0.0f : k == 1 ? 0.99999994f : u.next();
        const float fast = roundStochasticBf16(x, uk), reference = roundStochastic(Precision::bf16, x, uk);
        if (!(fast == reference || (std::isnan(fast) && std::isnan(reference))) ||
            std::signbit(fast) != std::signbit(reference))
          QFAIL(qPrintable(QString("x %1, u %2: fast %3, reference %4").arg(x).arg(uk).arg(fast).arg(reference)));
      }
    }
  }

  void neverOverflows() {
    for (float u : {0.0f, 0.5f, 0.999f}) {
      QCOMPARE(roundStochastic(Precision::fp16, 65519.0f, u), 65504.0f);
      QVERIFY(std::isinf(roundStochastic(Precision::fp16, 70000.0f, u)));  // as to nearest
      QVERIFY(std::isnan(roundStochastic(Precision::bf16, NAN, u)));
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, roundStochastic(Precision::mxfp4, 1.0f, 0.5f));
  }

  void sumOfSmallUpdatesIsUnbiased() {
    // 4000 updates of 1e-4 onto a bf16 weight of 1 (bf16's ulp in [1, 2) is 2^-7, so an
    // update is 1/39 of half an ulp): to nearest every one vanishes and the weight stalls
    // at 1; stochastically the weight ends near 1.4, the exact sum.
    const int steps = 4000;
    const float update = 1e-4f;
    float nearest = 1.0f, stochastic = 1.0f;
    Uniforms u(5);
    for (int i = 0; i < steps; ++i) {
      nearest = roundTo(Precision::bf16, nearest + update);
      stochastic = roundStochastic(Precision::bf16, stochastic + update, u.next());
    }
    const double exact = 1.0 + double(steps) * update;
    QCOMPARE(nearest, 1.0f);
    // Each step adds a variance of at most ulp^2 / 4: the sum's standard deviation is at
    // most sqrt(4000) * 2^-8 = 0.247 (in fact about 0.056); nearest is 0.4 off.
    QVERIFY2(std::fabs(stochastic - exact) < 0.25, qPrintable(QString::number(stochastic)));
    // The mean error over many independent sums of 400 is near 0 (unbiased), where
    // nearest's is -0.04. Per sum the standard deviation is about 0.018, so over 1000
    // sums the mean's is about 0.0006: the bound is five of those.
    double errorSum = 0;
    const int trials = 1000;
    for (int t = 0; t < trials; ++t) {
      float w = 1.0f;
      for (int i = 0; i < 400; ++i) w = roundStochastic(Precision::bf16, w + update, u.next());
      errorSum += double(w) - (1.0 + 400.0 * update);
    }
    QVERIFY2(std::fabs(errorSum / trials) < 0.003, qPrintable(QString::number(errorSum / trials)));
  }
};

QTEST_APPLESS_MAIN(TestBlockLayoutsRounding)
#include "tst_block_layouts_rounding.moc"
