// Conformance cases: products that accumulate in the layer's format (fp16, bf16;
// Backend::setAccumulation, docs/architecture.md "Accumulation"), against a reference
// that rounds the running sum after every addition in order along the inner dimension.
//
// Tolerances. The CPU backend implements exactly that order: bit-identical. The CUDA
// backend's cuBLAS (CUBLAS_COMPUTE_16F) sums in its own order (blocks along K on
// tensor cores), so it is held to a bound that any order meets: recursive summation
// of K terms with unit roundoff u errs by at most (K - 1) u sum|terms| (first order,
// Higham, "Accuracy and Stability of Numerical Algorithms", 4.2), so two orders
// differ by at most 2 (K - 1) u sum|terms|, plus one ulp for the output's rounding.
// That bound alone would also pass a product that ignored the option, so a second
// check asks that at least 10% of the outputs differ from the fp32-accumulated,
// once-rounded product: with K = 300 and inputs in [-1, 1] the running sums carry
// rounding errors of several output ulps (the CPU differs in well over half of them).
// The CUDA figures have not been run on a GPU yet (docs/gpu-testing.md).
#include <bit>
#include <cmath>
#include <limits>

#include "backend/conformance_suite.h"
#include "numerics/convert.h"

namespace plab::conformance {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// round_p(sum + term) with one rounding of the exact value, computed independently of
// the CPU backend: TwoSum in double gives the exact value as s + e, fp32 rounded to
// odd keeps the sticky information, then one rounding into p (fp32's 24 bits are at
// least two more than fp16's 11 and bf16's 8, so rounding to odd first is harmless).
double addRoundedReference(Precision p, double sum, double term) {
  const double s = sum + term;
  const double termPart = s - sum;
  const double e = (sum - (s - termPart)) + (term - termPart);
  float f = static_cast<float>(s);
  const double below = double(f) != s ? s - double(f) : e;  // the exact value minus f
  if (below != 0 && (std::bit_cast<std::uint32_t>(f) & 1u) == 0u)
    f = std::nextafter(f, below > 0 ? float(kInf) : -float(kInf));
  return roundTo(p, f);
}

// C = A B^T for A [m, k], B [n, k] in format-p sums, in order along k; optional bias
// added last, as one more rounded addition.
std::vector<double> sequentialProduct(Precision p, int m, int n, int k, const std::vector<double>& a,
                                      const std::vector<double>& b, const std::vector<double>* bias,
                                      std::vector<double>& terms) {
  std::vector<double> c(std::size_t(m) * n);
  terms.assign(c.size(), 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int l = 0; l < k; ++l) {
        const double prod = a[std::size_t(i) * k + l] * b[std::size_t(j) * k + l];
        sum = addRoundedReference(p, sum, prod);
        mag += std::fabs(prod);
      }
      if (bias) {
        sum = addRoundedReference(p, sum, (*bias)[std::size_t(j)]);
        mag += std::fabs((*bias)[std::size_t(j)]);
      }
      c[std::size_t(i) * n + j] = sum;
      terms[std::size_t(i) * n + j] = mag;
    }
  return c;
}

Tolerance accumulationTolerance(const Suite& s, Precision p, int k) {
  if (s.isCpu) return Tolerance::exact();
  const double u = std::ldexp(1.0, -formatInfo(p).mantissaBits - 1);
  return Tolerance::summed(2.0 * (k - 1) * u, 1.0);
}

// The share of outputs that differ from the fp32-accumulated product rounded once:
// recorded as a result that passes at 10% or more.
void recordDifferenceFromFp32(Suite& s, const std::string& op, Precision p, const std::string& shape,
                              const std::vector<float>& got, const std::vector<double>& exact) {
  std::size_t differ = 0;
  for (std::size_t i = 0; i < got.size(); ++i) differ += double(got[i]) != roundRef(p, exact[i]) ? 1 : 0;
  ConformanceResult r;
  r.op = op + ": differs from fp32 accumulation";
  r.format = std::string(toString(p));
  r.shape = shape;
  r.maxError = got.empty() ? 0.0 : double(differ) / double(got.size());
  r.limit = 0.10;
  r.tolerance = "share of outputs unlike the fp32-accumulated product >= 10%";
  r.pass = r.maxError >= r.limit;
  r.detail = std::to_string(differ) + "/" + std::to_string(got.size()) + " differ";
  s.results.push_back(r);
}

void accumulationCase(Suite& s, Precision p, bool linear, int m, int n, int k) {
  std::string whyNot;
  if (!s.backend.supportsAccumulation(p, Backend::ProductKind::matrix, whyNot)) return;
  // Named "accumulating in ...: ..." so that a filter for the plain ops ("gemm NT",
  // "linear with bias") does not pick these up.
  const std::string op = "accumulating in " + std::string(toString(p)) + ": " +
                         (linear ? "linear + bias" : "gemm A B^T");
  const std::string shape = productShape({m, k}, false, {n, k}, true) + (linear ? " + bias" : "");
  s.run(op, p, shape, [&] {
    std::vector<double> a, b, bias;
    Tensor ta = s.input({m, k}, p, a), tb = s.input({n, k}, p, b);
    Tensor tbias = linear ? s.input({n}, p, bias) : Tensor();
    Tensor c = s.output({m, n}, p);
    {
      AccumulationScope scope(s.backend, p);
      if (linear) s.backend.linear(ta, tb, &tbias, c);
      else s.backend.gemm(false, true, 1.0f, ta, tb, 0.0f, c);
    }
    std::vector<double> terms;
    const std::vector<double> want = sequentialProduct(p, m, n, k, a, b, linear ? &bias : nullptr, terms);
    const std::vector<float> got = s.read(c);
    s.results.push_back(compare({op, shape, p, 1.0f, &got, &want, &terms}, accumulationTolerance(s, p, k)));
    std::vector<double> exact(want.size(), 0.0);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double sum = linear ? bias[std::size_t(j)] : 0.0;
        for (int l = 0; l < k; ++l) sum += a[std::size_t(i) * k + l] * b[std::size_t(j) * k + l];
        exact[std::size_t(i) * n + j] = sum;
      }
    recordDifferenceFromFp32(s, op, p, shape, got, exact);
  });
}

// A convolution's forward product in the CPU's order: per output over (c, r, s).
void convAccumulationCase(Suite& s, Precision p) {
  std::string whyNot;
  if (!s.backend.supportsAccumulation(p, Backend::ProductKind::convolution, whyNot)) return;
  Conv2dGeometry g;
  g.n = 2, g.c = 16, g.h = 8, g.w = 8, g.k = 6, g.r = 3, g.s = 3, g.padH = g.padW = 1;
  const std::string op = "accumulating in " + std::string(toString(p)) + ": conv2d fwd";
  const std::string shape = "x [2, 16, 8, 8], w [6, 16, 3, 3], pad 1";
  s.run(op, p, shape, [&] {
    std::vector<double> x, w;
    Tensor tx = s.input({g.n, g.c, g.h, g.w}, p, x), tw = s.input({g.k, g.c, g.r, g.s}, p, w);
    Tensor y = s.output({g.n, g.k, g.outH(), g.outW()}, p);
    {
      AccumulationScope scope(s.backend, p);
      s.backend.conv2dForward(g, tx, tw, y);
    }
    const int oh = g.outH(), ow = g.outW();
    std::vector<double> want(std::size_t(g.n) * g.k * oh * ow), terms(want.size(), 0.0);
    for (int n = 0; n < g.n; ++n)
      for (int k = 0; k < g.k; ++k)
        for (int i = 0; i < oh; ++i)
          for (int j = 0; j < ow; ++j) {
            double sum = 0;
            for (int c = 0; c < g.c; ++c)
              for (int r = 0; r < g.r; ++r)
                for (int q = 0; q < g.s; ++q) {
                  const int h = i - g.padH + r, col = j - g.padW + q;
                  if (h < 0 || h >= g.h || col < 0 || col >= g.w) continue;
                  const double prod = x[((std::size_t(n) * g.c + c) * g.h + h) * g.w + col] *
                                      w[((std::size_t(k) * g.c + c) * g.r + r) * g.s + q];
                  sum = addRoundedReference(p, sum, prod);
                  terms[((std::size_t(n) * g.k + k) * oh + i) * ow + j] += std::fabs(prod);
                }
            want[((std::size_t(n) * g.k + k) * oh + i) * ow + j] = sum;
          }
    const std::vector<float> got = s.read(y);
    s.results.push_back(compare({op, shape, p, 1.0f, &got, &want, &terms}, accumulationTolerance(s, p, g.c * g.r * g.s)));
  });
}

}  // namespace

void runAccumulationCases(Suite& s) {
  for (Precision p : {Precision::fp16, Precision::bf16}) {
    accumulationCase(s, p, false, 64, 96, 300);
    accumulationCase(s, p, true, 32, 40, 784);
    convAccumulationCase(s, p);
  }
}

}  // namespace plab::conformance
