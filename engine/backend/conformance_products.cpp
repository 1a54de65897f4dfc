// Conformance cases: gemm, linear, bias, convolution, against double-accumulation references.
#include <cmath>
#include <cstdio>

#include "backend/conformance_suite.h"
#include "numerics/convert.h"

namespace plab::conformance {

namespace {

struct Product {
  std::vector<double> value, terms;
};

// op(A) [M, K] times op(B) [K, N] in double; terms = sum |products|.
Product referenceGemm(bool ta, bool tb, int m, int n, int k, double alpha, const std::vector<double>& a,
                      const std::vector<double>& b, double beta, const std::vector<double>& c0) {
  Product r{std::vector<double>(std::size_t(m) * n), std::vector<double>(std::size_t(m) * n)};
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0, mag = 0;
      for (int l = 0; l < k; ++l) {
        const double x = ta ? a[std::size_t(l) * m + i] : a[std::size_t(i) * k + l];
        const double y = tb ? b[std::size_t(j) * k + l] : b[std::size_t(l) * n + j];
        sum += x * y;
        mag += std::fabs(x * y);
      }
      const std::size_t o = std::size_t(i) * n + j;
      const double prior = beta != 0 ? beta * c0[o] : 0.0;
      r.value[o] = alpha * sum + prior;
      r.terms[o] = std::fabs(alpha) * mag + std::fabs(prior);
    }
  return r;
}

std::vector<double> roundAll(Precision p, std::vector<double> v) {
  for (double& x : v) x = roundTo(p, static_cast<float>(x));
  return v;
}

void gemmCase(Suite& s, Precision p, bool ta, bool tb, int m, int n, int k, float alpha, float beta,
              Precision inputFormat) {
  std::string op = std::string("gemm ") + (ta ? "T" : "N") + (tb ? "T" : "N");
  if (beta != 0) op += " alpha/beta";
  if (inputFormat != p) op += std::string(" (") + std::string(toString(inputFormat)) + " inputs)";
  const Shape sa = ta ? Shape{k, m} : Shape{m, k}, sb = tb ? Shape{n, k} : Shape{k, n};
  const std::string shape = productShape(sa, ta, sb, tb);
  s.run(op, p, shape, [&] {
    std::vector<double> a, b, c0;
    Tensor ta_ = s.input(sa, inputFormat, a), tb_ = s.input(sb, inputFormat, b);
    Tensor c = beta != 0 ? s.input({m, n}, p, c0) : s.output({m, n}, p);
    // tf32 products read their fp32 inputs rounded to tf32.
    if (p == Precision::tf32 && inputFormat == Precision::fp32) {
      a = roundAll(Precision::tf32, a);
      b = roundAll(Precision::tf32, b);
    }
    s.backend.gemm(ta, tb, alpha, ta_, tb_, beta, c);
    const Product want = referenceGemm(ta, tb, m, n, k, alpha, a, b, beta, c0);
    s.check(op, shape, c, want.value, &want.terms, s.products(p));
  });
}

// fp8 with delayed-scaling scales that are not powers of two (as Transformer Engine
// computes them): inputs stored as round(v * 3) and round(v * 5), output as
// round(y * 0.7). The reference multiplies the logical values (stored / scale).
void scaledFp8GemmCase(Suite& s, Precision p) {
  const std::string op = "gemm NT (fp8 scales 3, 5 -> 0.7)";
  const std::string shape = productShape({48, 200}, false, {40, 200}, true);
  s.run(op, p, shape, [&] {
    std::vector<double> a, b;
    Tensor ta = s.input({48, 200}, p, a, -1.0f, 1.0f, 3.0f), tb = s.input({40, 200}, p, b, -1.0f, 1.0f, 5.0f);
    Tensor c = s.output({48, 40}, p, 0.7f);
    s.backend.gemm(false, true, 1.0f, ta, tb, 0.0f, c);
    const Product want = referenceGemm(false, true, 48, 40, 200, 1.0, a, b, 0.0, {});
    s.check(op, shape, c, want.value, &want.terms, s.products(p));
  });
}

// fp8 operands of two formats into any output, in shapes that meet cuBLASLt's fp8
// rules (every dimension a multiple of 16), so that on sm_89 and newer the CUDA backend
// takes its fp8 tensor-core path (whose kernels take C = A B^T only: the other layouts
// check its transposed copies); the scales are not powers of two. An fp8 output also
// checks its amax: max |A B| before the output's scale, kept as the largest since the
// last scale update (a second, smaller product leaves it).
void fp8ProductCase(Suite& s, Precision pa, Precision pb, Precision pc, float outScale, bool ta = false,
                    bool tb = true) {
  constexpr int m = 64, n = 48, k = 208;
  char scaleText[32];
  std::snprintf(scaleText, sizeof scaleText, "%g", outScale);
  const std::string op = std::string("gemm fp8 ") + (ta ? "T" : "N") + (tb ? "T" : "N") + " " +
                         std::string(toString(pa)) + " x " + std::string(toString(pb)) + " (scales 3, 5 -> " +
                         scaleText + ")";
  const Shape sa = ta ? Shape{k, m} : Shape{m, k}, sb = tb ? Shape{n, k} : Shape{k, n};
  const std::string shape = productShape(sa, ta, sb, tb);
  s.run(op, pc, shape, [&] {
    std::vector<double> a, b;
    Tensor tA = s.input(sa, pa, a, -1.0f, 1.0f, 3.0f), tB = s.input(sb, pb, b, -1.0f, 1.0f, 5.0f);
    Tensor c = s.output({m, n}, pc, outScale);
    s.backend.gemm(ta, tb, 1.0f, tA, tB, 0.0f, c);
    const Product want = referenceGemm(ta, tb, m, n, k, 1.0, a, b, 0.0, {});
    s.check(op, shape, c, want.value, &want.terms, s.products(pc));
    if (!isFp8(pc)) return;
    std::size_t peak = 0;
    for (std::size_t i = 1; i < want.value.size(); ++i)
      if (std::fabs(want.value[i]) > std::fabs(want.value[peak])) peak = i;
    std::vector<float> got{s.backend.fp8Amax(c)};
    s.backend.gemm(ta, tb, 0.5f, tA, tB, 0.0f, c);
    got.push_back(s.backend.fp8Amax(c));
    const std::vector<double> wantAmax(2, std::fabs(want.value[peak])), terms(2, want.terms[peak]);
    s.results.push_back(compare({op + " amax [after it, after a second product at alpha 0.5]", shape,
                                 Precision::fp32, 1.0f, &got, &wantAmax, &terms},
                                s.products(Precision::fp32)));
    s.results.back().format = std::string(toString(pc));
  });
}

// The trap these cases watch for: Hopper's fp8 tensor cores add each group of products
// in fixed point with about 13 mantissa bits; only with fast accumulation off (as the
// CUDA backend sets it) does cuBLASLt promote the partial sums to fp32 as it goes. The
// tolerance is the one of every other product, so a too-coarse accumulation fails here,
// first in the fp32-output cases.
void fp8ProductCases(Suite& s) {
  const Precision e4m3 = Precision::fp8_e4m3, e5m2 = Precision::fp8_e5m2;
  for (Precision out : {Precision::fp32, Precision::fp16, Precision::bf16, e4m3}) {
    fp8ProductCase(s, e4m3, e4m3, out, 0.7f);
    fp8ProductCase(s, e4m3, e5m2, out, 0.7f);
    fp8ProductCase(s, e5m2, e4m3, out, 0.7f);
  }
  fp8ProductCase(s, e4m3, e5m2, e5m2, 0.7f);
  fp8ProductCase(s, e5m2, e4m3, e5m2, 0.7f);
  // A linear layer's backward products: dW = dy^T x and dx = dy W, gradients in e5m2.
  fp8ProductCase(s, e5m2, e4m3, e5m2, 0.7f, true, false);
  fp8ProductCase(s, e5m2, e4m3, e5m2, 0.7f, false, false);
  fp8ProductCase(s, e4m3, e4m3, Precision::fp32, 1.0f, true, true);
  // Saturation: with these output scales most results land beyond the format's largest
  // finite value and must be stored as +-max (SATFINITE), never as inf or NaN.
  fp8ProductCase(s, e4m3, e4m3, e4m3, 300.0f);
  fp8ProductCase(s, e4m3, e5m2, e5m2, 40000.0f);
}

// Backend::linear, y = x W^T (+ bias), against the double reference, then against
// its definition on the same backend (gemm into an fp32 temporary, addBias, convert
// into y: backend.h): bit-exact on the CPU, where that is what it computes; within
// the products' tolerance elsewhere (a fused epilogue may sum in another order).
// inputFormat fp32 with a tf32 y checks that fp32 inputs are rounded to tf32 first.
void linearCase(Suite& s, Precision p, bool withBias, int m, int n, int k, Precision inputFormat) {
  std::string op = withBias ? "linear with bias" : "linear without bias";
  if (inputFormat != p) op += std::string(" (") + std::string(toString(inputFormat)) + " inputs)";
  const std::string shape = productShape({m, k}, false, {n, k}, true) + (withBias ? " + bias" : "");
  s.run(op, p, shape, [&] {
    std::vector<double> x, w, bias;
    Tensor tx = s.input({m, k}, inputFormat, x), tw = s.input({n, k}, inputFormat, w);
    Tensor tb = withBias ? s.input({n}, p, bias) : Tensor();
    Tensor y = s.output({m, n}, p);
    s.backend.linear(tx, tw, withBias ? &tb : nullptr, y);
    if (p == Precision::tf32 && inputFormat == Precision::fp32) {
      x = roundAll(Precision::tf32, x);
      w = roundAll(Precision::tf32, w);
    }
    Product want = referenceGemm(false, true, m, n, k, 1.0, x, w, 0.0, {});
    for (std::size_t i = 0; withBias && i < want.value.size(); ++i) {
      want.value[i] += bias[i % std::size_t(n)];
      want.terms[i] += std::fabs(bias[i % std::size_t(n)]);
    }
    s.check(op, shape, y, want.value, &want.terms, s.products(p));
    if (inputFormat != p) return;
    Tensor wide = s.output({m, n}, Precision::fp32);
    s.backend.gemm(false, true, 1.0f, tx, tw, 0.0f, wide);
    if (withBias) s.backend.addBias(wide, tb);
    Tensor composed = s.output({m, n}, p);
    s.backend.convert(wide, composed);
    const auto c = s.read(composed), got = s.read(y);
    const std::vector<double> definition(c.begin(), c.end());
    const std::string definitionOp = op + (withBias ? " = gemm + addBias + convert" : " = gemm + convert");
    s.results.push_back(compare({definitionOp, shape, p, s.backend.fp8Scale(y), &got,
                                 &definition, &want.terms},
                                s.isCpu ? Tolerance::exact() : s.products(p)));
  });
}

void biasCases(Suite& s, Precision p, const Shape& shape) {
  const auto batch = shape[0], channels = shape[1], spatial = shape.numel() / (batch * channels);
  s.run("addBias", p, shape.toString(), [&] {
    std::vector<double> y0, bias;
    Tensor y = s.input(shape, p, y0);
    Tensor b = s.input({channels}, p, bias);
    s.backend.addBias(y, b);
    std::vector<double> want(y0.size());
    for (std::size_t i = 0; i < want.size(); ++i)
      want[i] = static_cast<float>(y0[i]) + static_cast<float>(bias[(i / spatial) % channels]);  // one fp32 add
    s.check("addBias", shape.toString(), y, want, nullptr, s.elementwise());
  });
  s.run("biasGrad", p, shape.toString(), [&] {
    std::vector<double> dy;
    Tensor tdy = s.input(shape, p, dy);
    Tensor db = s.output({channels}, p);
    s.backend.biasGrad(tdy, db);
    std::vector<double> want(channels, 0.0), terms(channels, 0.0);
    for (std::size_t i = 0; i < dy.size(); ++i) {
      want[(i / spatial) % channels] += dy[i];
      terms[(i / spatial) % channels] += std::fabs(dy[i]);
    }
    s.check("biasGrad", shape.toString(), db, want, &terms, s.products(p));
  });
}

std::string convShape(const Conv2dGeometry& g) {
  return "x[" + std::to_string(g.n) + ", " + std::to_string(g.c) + ", " + std::to_string(g.h) + ", " +
         std::to_string(g.w) + "] w[" + std::to_string(g.k) + ", " + std::to_string(g.c) + ", " + std::to_string(g.r) +
         ", " + std::to_string(g.s) + "] stride " + std::to_string(g.strideH) + "x" + std::to_string(g.strideW) +
         " pad " + std::to_string(g.padH) + "x" + std::to_string(g.padW);
}

// Calls f(xIndex, wIndex, yIndex) for every multiply of the convolution.
template <class F>
void forConvTerms(const Conv2dGeometry& g, F f) {
  const int oh = g.outH(), ow = g.outW();
  for (int n = 0; n < g.n; ++n)
    for (int k = 0; k < g.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j)
          for (int c = 0; c < g.c; ++c)
            for (int r = 0; r < g.r; ++r)
              for (int q = 0; q < g.s; ++q) {
                const int h = i * g.strideH - g.padH + r, w = j * g.strideW - g.padW + q;
                if (h < 0 || h >= g.h || w < 0 || w >= g.w) continue;
                f(((std::size_t(n) * g.c + c) * g.h + h) * g.w + w, ((std::size_t(k) * g.c + c) * g.r + r) * g.s + q,
                  ((std::size_t(n) * g.k + k) * oh + i) * ow + j);
              }
}

void convCases(Suite& s, Precision p, const Conv2dGeometry& g) {
  const Shape xs{g.n, g.c, g.h, g.w}, ws{g.k, g.c, g.r, g.s}, ys{g.n, g.k, g.outH(), g.outW()};
  const std::string shape = convShape(g);
  s.run("conv2d forward", p, shape, [&] {
    std::vector<double> x, w;
    Tensor tx = s.input(xs, p, x), tw = s.input(ws, p, w);
    Tensor y = s.output(ys, p);
    s.backend.conv2dForward(g, tx, tw, y);
    std::vector<double> want(ys.numel(), 0.0), terms(ys.numel(), 0.0);
    forConvTerms(g, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
      want[yi] += x[xi] * w[wi];
      terms[yi] += std::fabs(x[xi] * w[wi]);
    });
    s.check("conv2d forward", shape, y, want, &terms, s.products(p));
  });
  s.run("conv2d backward data", p, shape, [&] {
    std::vector<double> dy, w;
    Tensor tdy = s.input(ys, p, dy), tw = s.input(ws, p, w);
    Tensor dx = s.output(xs, p);
    s.backend.conv2dBackwardData(g, tdy, tw, dx);
    std::vector<double> want(xs.numel(), 0.0), terms(xs.numel(), 0.0);
    forConvTerms(g, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
      want[xi] += dy[yi] * w[wi];
      terms[xi] += std::fabs(dy[yi] * w[wi]);
    });
    s.check("conv2d backward data", shape, dx, want, &terms, s.products(p));
  });
  s.run("conv2d backward filter", p, shape, [&] {
    std::vector<double> x, dy;
    Tensor tx = s.input(xs, p, x), tdy = s.input(ys, p, dy);
    Tensor dw = s.output(ws, p);
    s.backend.conv2dBackwardFilter(g, tx, tdy, dw);
    std::vector<double> want(ws.numel(), 0.0), terms(ws.numel(), 0.0);
    forConvTerms(g, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
      want[wi] += x[xi] * dy[yi];
      terms[wi] += std::fabs(x[xi] * dy[yi]);
    });
    s.check("conv2d backward filter", shape, dw, want, &terms, s.products(p));
  });
}

}  // namespace

void runProductCases(Suite& s) {
  for (Precision p : kScalarPrecisions) {
    for (int t = 0; t < 4; ++t) {
      gemmCase(s, p, t & 2, t & 1, 17, 23, 31, 1.0f, 0.0f, p);
      gemmCase(s, p, t & 2, t & 1, 64, 96, 300, 1.0f, 0.0f, p);
    }
    gemmCase(s, p, false, false, 33, 20, 45, 0.5f, 0.25f, p);
    for (bool withBias : {false, true}) {
      linearCase(s, p, withBias, 17, 23, 31, p);
      linearCase(s, p, withBias, 64, 96, 304, p);
    }
  }
  linearCase(s, Precision::tf32, true, 40, 30, 200, Precision::fp32);
  gemmCase(s, Precision::tf32, false, false, 40, 30, 200, 1.0f, 0.0f, Precision::fp32);
  gemmCase(s, Precision::tf32, true, true, 40, 30, 200, 1.0f, 0.0f, Precision::fp32);
  scaledFp8GemmCase(s, Precision::fp8_e4m3);
  scaledFp8GemmCase(s, Precision::fp8_e5m2);
  fp8ProductCases(s);
  Conv2dGeometry same;
  same.n = 2, same.c = 3, same.h = 9, same.w = 8, same.k = 4, same.r = 3, same.s = 3, same.padH = 1, same.padW = 1;
  Conv2dGeometry strided;
  strided.n = 3, strided.c = 2, strided.h = 11, strided.w = 10, strided.k = 5, strided.r = 3, strided.s = 2;
  strided.strideH = 2, strided.strideW = 1, strided.padH = 0, strided.padW = 1;
  // A larger layer: 72-row columns of 1600 pixels, three images.
  Conv2dGeometry chunked;
  chunked.n = 3, chunked.c = 8, chunked.h = 40, chunked.w = 40, chunked.k = 4, chunked.r = 3, chunked.s = 3;
  chunked.padH = chunked.padW = 1;
  for (Precision p : kScalarPrecisions) {
    biasCases(s, p, {16, 24});
    biasCases(s, p, {3, 5, 4, 6});
    convCases(s, p, same);
    convCases(s, p, strided);
    convCases(s, p, chunked);
  }
}

}  // namespace plab::conformance
