// Conformance cases: activations, dropout (fp32 references of the same formulas),
// pooling and batch norm (double references).
#include <cmath>

#include "backend/counter_rng.h"
#include "backend/conformance_suite.h"

namespace plab::conformance {

namespace {

// The reference is the registered fp32 formula (core/activations.h), evaluated on the
// host. Formulas without a transcendental function (kExact: relu, leaky relu) are
// exact everywhere. erf, exp and tanh differ between math
// libraries by a few fp32 ulps of their own result, and gelu's 1 + erf(x / sqrt 2)
// cancels for negative x, so elsewhere than on the CPU (whose reference is the same
// fp32 formula, bit-exact) the allowance is 2^-20 of |x| + |y| (forward) or
// |dy| (1 + |x|) (backward) on top of one ulp of the output format.
Tolerance activationTolerance(const Suite& s, Activation a, Precision p) {
  if (s.isCpu || exactEverywhere(a)) return Tolerance::exact();
  return Tolerance::summed(std::ldexp(1.0, -20), p == Precision::fp32 ? 1.0 : 0.05);
}

void activationCases(Suite& s, Precision p, Activation a, const Shape& shape) {
  const float param = static_cast<float>(activationParam(a).defaultValue);
  const std::string fwd = "activation " + std::string(toString(a)) + " forward";
  const std::string bwd = "activation " + std::string(toString(a)) + " backward";
  s.run(fwd, p, shape.toString(), [&] {
    std::vector<double> x;
    Tensor tx = s.input(shape, p, x, -4.0f, 4.0f);
    Tensor y = s.output(shape, p);
    s.backend.activationForward(a, param, tx, y);
    std::vector<double> want(x.size()), terms(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      want[i] = act::forward(a, static_cast<float>(x[i]), param);
      terms[i] = std::fabs(x[i]) + std::fabs(want[i]);
    }
    s.check(fwd, shape.toString(), y, want, &terms, activationTolerance(s, a, p));
  });
  s.run(bwd, p, shape.toString(), [&] {
    std::vector<double> x, dy;
    Tensor tx = s.input(shape, p, x, -4.0f, 4.0f), tdy = s.input(shape, p, dy);
    Tensor y = s.output(shape, p), dx = s.output(shape, p);
    s.backend.activationForward(a, param, tx, y);
    const auto yv = s.read(y);
    s.backend.activationBackward(a, param, tx, y, tdy, dx);
    std::vector<double> want(x.size()), terms(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float source = gradFromOutput(a) ? static_cast<float>(yv[i]) : static_cast<float>(x[i]);
      want[i] = act::grad(a, source, static_cast<float>(dy[i]), param);
      terms[i] = std::fabs(dy[i]) * (1.0 + std::fabs(x[i]));
    }
    s.check(bwd, shape.toString(), dx, want, &terms, activationTolerance(s, a, p));
  });
}

void dropoutCases(Suite& s, Precision p) {
  const Shape shape{37, 53};
  const float rate = 0.3f;
  const std::uint64_t seed = 42, step = 7;
  s.run("dropout forward", p, shape.toString(), [&] {
    std::vector<double> x;
    Tensor tx = s.input(shape, p, x);
    Tensor y = s.output(shape, p), mask = s.output(shape, Precision::fp32);
    s.backend.dropoutForward(rate, seed, step, tx, y, mask);
    const std::uint64_t stream = counterStream(seed, step);
    const float keep = dropoutKeepScale(rate);
    std::vector<double> wantMask(x.size()), want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      wantMask[i] = dropoutKeeps(stream, i, rate) ? 1.0 : 0.0;
      want[i] = static_cast<float>(x[i]) * static_cast<float>(wantMask[i]) * keep;
    }
    s.checkRounded("dropout mask", shape.toString(), mask, wantMask, Tolerance::exact());
    s.check("dropout forward", shape.toString(), y, want, nullptr, s.elementwise());
  });
  s.run("dropout backward", p, shape.toString(), [&] {
    std::vector<double> x, dy;
    Tensor tx = s.input(shape, p, x), tdy = s.input(shape, p, dy);
    Tensor y = s.output(shape, p), mask = s.output(shape, Precision::fp32), dx = s.output(shape, p);
    s.backend.dropoutForward(rate, seed, step, tx, y, mask);
    const auto m = s.read(mask);
    s.backend.dropoutBackward(rate, tdy, mask, dx);
    const float keep = dropoutKeepScale(rate);
    std::vector<double> want(dy.size());
    for (std::size_t i = 0; i < dy.size(); ++i) want[i] = static_cast<float>(dy[i]) * m[i] * keep;
    s.check("dropout backward", shape.toString(), dx, want, nullptr, s.elementwise());
  });
}

std::string poolShape(const Pool2dGeometry& g) {
  return std::string(g.kind == PoolKind::max ? "max " : "avg ") + "[" + std::to_string(g.n) + ", " +
         std::to_string(g.c) + ", " + std::to_string(g.h) + ", " + std::to_string(g.w) + "] kernel " +
         std::to_string(g.kernelH) + "x" + std::to_string(g.kernelW) + " stride " + std::to_string(g.strideH) +
         " pad " + std::to_string(g.padH);
}

void poolCases(Suite& s, Precision p, const Pool2dGeometry& g) {
  const Shape xs{g.n, g.c, g.h, g.w}, ys{g.n, g.c, g.outH(), g.outW()};
  const std::string shape = poolShape(g);
  const bool isMax = g.kind == PoolKind::max;
  const std::string fwd = isMax ? "maxpool forward" : "avgpool forward";
  const std::string bwd = isMax ? "maxpool backward" : "avgpool backward";
  s.run(fwd, p, shape, [&] {
    std::vector<double> x, dy;
    Tensor tx = s.input(xs, p, x), tdy = s.input(ys, p, dy);
    Tensor y = s.output(ys, p), idx = isMax ? s.output(ys, Precision::fp32) : Tensor{}, dx = s.output(xs, p);
    s.backend.pool2dForward(g, tx, y, idx);
    s.backend.pool2dBackward(g, tdy, idx, dx);
    std::vector<double> want(ys.numel()), wantIdx(ys.numel()), wantDx(xs.numel(), 0.0), terms(xs.numel(), 0.0);
    const float inverseArea = 1.0f / static_cast<float>(g.kernelH * g.kernelW);
    const int oh = g.outH(), ow = g.outW();
    for (std::int64_t plane = 0; plane < std::int64_t{g.n} * g.c; ++plane)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          const std::size_t o = (plane * oh + i) * ow + j;
          float best = 0, sum = 0;
          int where = -1;
          std::vector<int> window;
          for (int a = 0; a < g.kernelH; ++a)
            for (int b = 0; b < g.kernelW; ++b) {
              const int h = i * g.strideH - g.padH + a, w = j * g.strideW - g.padW + b;
              if (h < 0 || h >= g.h || w < 0 || w >= g.w) continue;
              const int k = h * g.w + w;
              const float v = static_cast<float>(x[plane * g.h * g.w + k]);
              if (where < 0 || v > best) best = v, where = k;
              sum += v;
              window.push_back(k);
            }
          want[o] = isMax ? best : sum * inverseArea;
          wantIdx[o] = where;
          for (int k : isMax ? std::vector<int>{where} : window) {
            const double share = isMax ? dy[o] : static_cast<float>(dy[o]) * inverseArea;
            wantDx[plane * g.h * g.w + k] += share;
            terms[plane * g.h * g.w + k] += std::fabs(share);
          }
        }
    s.check(fwd, shape, y, want, nullptr, isMax ? Tolerance::exact() : s.elementwise());
    if (isMax) s.checkRounded("maxpool indices", shape, idx, wantIdx, Tolerance::exact());
    s.check(bwd, shape, dx, wantDx, &terms, s.products(p));
  });
}

}  // namespace

void runBatchNormCases(Suite& s, Precision p, const Shape& shape);

void runElementwiseCases(Suite& s) {
  Pool2dGeometry tiled;
  tiled.n = 2, tiled.c = 3, tiled.h = 8, tiled.w = 9;
  Pool2dGeometry overlapping;
  overlapping.n = 2, overlapping.c = 2, overlapping.h = 9, overlapping.w = 7;
  overlapping.kernelH = overlapping.kernelW = 3, overlapping.padH = overlapping.padW = 1;
  for (Precision p : kScalarPrecisions) {
    for (Activation a : kAllActivations) activationCases(s, p, a, {31, 67});
    dropoutCases(s, p);
    for (PoolKind k : {PoolKind::max, PoolKind::average}) {
      tiled.kind = overlapping.kind = k;
      poolCases(s, p, tiled);
      poolCases(s, p, overlapping);
    }
    runBatchNormCases(s, p, {16, 6});
    runBatchNormCases(s, p, {4, 3, 5, 5});
  }
}

}  // namespace plab::conformance
