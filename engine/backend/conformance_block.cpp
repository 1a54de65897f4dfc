// Conformance cases: the two host-defined operations that block-scaled training and
// stochastic rounding run on (backend.h, docs/architecture.md "Block-scaled training",
// "Stochastic rounding"), bit for bit against the numerics reference on every backend:
// - blockQuantise of every block-scaled format in every layout, on a matrix with short
//   edge blocks, values over many binades, an all-zero block and a block holding NaN
//   and inf, against quantiseDequantiseMatrix;
// - convertStochastic into fp16, bf16 and tf32 against roundStochastic with the
//   counter-based generator's uniforms, so that a run repeats on any backend.
#include <cmath>
#include <limits>

#include "backend/conformance_suite.h"
#include "backend/counter_rng.h"
#include "numerics/stochastic_rounding.h"

namespace plab::conformance {

namespace {

constexpr std::int64_t kRows = 37, kCols = 70;  // edge blocks and tiles of every size

std::vector<float> matrixValues(Suite& s) {
  std::uniform_int_distribution<int> exponent(-20, 10);
  std::uniform_real_distribution<float> mantissa(-2.0f, 2.0f);
  std::vector<float> v(std::size_t(kRows * kCols));
  for (auto& x : v) x = std::ldexp(mantissa(s.rng), exponent(s.rng));
  for (std::int64_t c = 0; c < 32; ++c) v[std::size_t(2 * kCols + c)] = 0.0f;  // row 2's first block: zeros
  v[std::size_t(5 * kCols + 3)] = std::numeric_limits<float>::infinity();     // row 5's first block: inf, NaN
  v[std::size_t(5 * kCols + 9)] = std::numeric_limits<float>::quiet_NaN();
  return v;
}

const char* layoutName(BlockLayout l) { return toString(l); }

}  // namespace

void runBlockCases(Suite& s) {
  const std::string shape = Shape{kRows, kCols}.toString();
  for (Precision p : kBlockPrecisions) {
    for (BlockLayout layout : {BlockLayout::rows, BlockLayout::columns, BlockLayout::tiles, BlockLayout::tensor}) {
      const std::string op = std::string("blockQuantise/") + layoutName(layout);
      s.run(op, p, shape, [&] {
        const std::vector<float> host = matrixValues(s);
        Tensor src = s.backend.empty(Shape{kRows, kCols}, Precision::fp32);
        s.backend.upload(host.data(), src);
        Tensor dst = s.backend.empty(Shape{kRows, kCols}, Precision::fp32);
        s.backend.blockQuantise(src, dst, p, layout);
        std::vector<float> ref(host.size());
        quantiseDequantiseMatrix(p, layout, host.data(), ref.data(), std::size_t(kRows), std::size_t(kCols));
        const std::vector<double> want(ref.begin(), ref.end());
        const std::vector<float> got = s.read(dst);
        ConformanceResult r = compare({op, shape, Precision::fp32, 1.0f, &got, &want, nullptr}, Tolerance::exact());
        r.format = std::string(toString(p));
        s.results.push_back(r);
      });
    }
  }
  constexpr std::uint64_t kSeed = 0x5EED, kStep = 17;
  for (Precision p : {Precision::fp16, Precision::bf16, Precision::tf32}) {
    s.run("convertStochastic", p, shape, [&] {
      std::vector<float> host = matrixValues(s);
      host[0] = 65519.0f;  // beyond half fp16's last gap: rounds to nearest, never to inf
      host[1] = 1.0f + 0.25f * 0.0078125f;
      Tensor src = s.backend.empty(Shape{kRows, kCols}, Precision::fp32);
      s.backend.upload(host.data(), src);
      Tensor dst = s.backend.empty(Shape{kRows, kCols}, p);
      s.backend.convertStochastic(src, dst, kSeed, kStep);
      const std::uint64_t stream = counterStream(kSeed, kStep);
      std::vector<double> want(host.size());
      for (std::size_t i = 0; i < host.size(); ++i) want[i] = roundStochastic(p, host[i], counterUniform(stream, i));
      s.checkRounded("convertStochastic", shape, dst, want, Tolerance::exact());
    });
  }
}

}  // namespace plab::conformance
