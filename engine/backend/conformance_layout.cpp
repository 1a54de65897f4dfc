// Conformance cases: memory layouts. A small CNN's path (conv + bias, ReLU, max
// pooling, conv, and all their gradients, plus batch norm on the same activations)
// run with the backend's convolutions set to each layout in turn, so that the CUDA
// backend's channels-last (NHWC) tensors flow from op to op as in training. Each op
// is checked against a double reference computed from the values its inputs actually
// hold (download gives them in logical order whatever the layout), with the same
// tolerance as the op's own case, so errors do not accumulate along the chain and a
// wrong index in either layout shows at the op that made it. The CPU backend keeps
// NCHW whatever is asked; there the cases check the same chain in NCHW.
#include <algorithm>
#include <cmath>

#include "backend/conformance_suite.h"

namespace plab::conformance {

namespace {

std::string geometryText(const Conv2dGeometry& g, ConvLayoutChoice layout) {
  return "x[" + std::to_string(g.n) + ", " + std::to_string(g.c) + ", " + std::to_string(g.h) + ", " +
         std::to_string(g.w) + "] k " + std::to_string(g.k) + " " + std::to_string(g.r) + "x" + std::to_string(g.s) +
         " pad " + std::to_string(g.padH) + ", conv layout " + std::string(toString(layout));
}

std::vector<double> asDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// y = conv(x, w) (+ bias), NCHW logical indices, in double; terms = sum |products|.
struct ConvReference {
  std::vector<double> y, terms;
};
ConvReference convForwardRef(const Conv2dGeometry& g, const std::vector<double>& x, const std::vector<double>& w,
                             const std::vector<double>* bias) {
  const int oh = g.outH(), ow = g.outW();
  ConvReference r{std::vector<double>(std::size_t(g.n) * g.k * oh * ow), {}};
  r.terms.resize(r.y.size());
  for (int n = 0; n < g.n; ++n)
    for (int k = 0; k < g.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          double sum = bias ? (*bias)[k] : 0.0, mag = bias ? std::fabs((*bias)[k]) : 0.0;
          for (int c = 0; c < g.c; ++c)
            for (int r0 = 0; r0 < g.r; ++r0)
              for (int q = 0; q < g.s; ++q) {
                const int h = i * g.strideH - g.padH + r0, wi = j * g.strideW - g.padW + q;
                if (h < 0 || h >= g.h || wi < 0 || wi >= g.w) continue;
                const double t = x[((std::size_t(n) * g.c + c) * g.h + h) * g.w + wi] *
                                 w[((std::size_t(k) * g.c + c) * g.r + r0) * g.s + q];
                sum += t;
                mag += std::fabs(t);
              }
          const std::size_t o = ((std::size_t(n) * g.k + k) * oh + i) * ow + j;
          r.y[o] = sum;
          r.terms[o] = mag;
        }
  return r;
}

// dx (data) and dw (filter) of the convolution, in double.
void convBackwardRef(const Conv2dGeometry& g, const std::vector<double>& x, const std::vector<double>& w,
                     const std::vector<double>& dy, ConvReference& dx, ConvReference& dw) {
  const int oh = g.outH(), ow = g.outW();
  dx = {std::vector<double>(x.size()), std::vector<double>(x.size())};
  dw = {std::vector<double>(w.size()), std::vector<double>(w.size())};
  for (int n = 0; n < g.n; ++n)
    for (int k = 0; k < g.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j)
          for (int c = 0; c < g.c; ++c)
            for (int r0 = 0; r0 < g.r; ++r0)
              for (int q = 0; q < g.s; ++q) {
                const int h = i * g.strideH - g.padH + r0, wi = j * g.strideW - g.padW + q;
                if (h < 0 || h >= g.h || wi < 0 || wi >= g.w) continue;
                const std::size_t xi = ((std::size_t(n) * g.c + c) * g.h + h) * g.w + wi;
                const std::size_t wIndex = ((std::size_t(k) * g.c + c) * g.r + r0) * g.s + q;
                const std::size_t yi = ((std::size_t(n) * g.k + k) * oh + i) * ow + j;
                dx.y[xi] += dy[yi] * w[wIndex];
                dx.terms[xi] += std::fabs(dy[yi] * w[wIndex]);
                dw.y[wIndex] += x[xi] * dy[yi];
                dw.terms[wIndex] += std::fabs(x[xi] * dy[yi]);
              }
}

// 2x2 max pooling, stride 2, on [n, c, h, w]: the first largest of each window wins.
struct PoolReference {
  std::vector<double> y, index;
};
PoolReference maxPoolRef(const Pool2dGeometry& g, const std::vector<double>& x) {
  const int oh = g.outH(), ow = g.outW();
  PoolReference r{std::vector<double>(std::size_t(g.n) * g.c * oh * ow), {}};
  r.index.resize(r.y.size());
  for (std::size_t plane = 0; plane < std::size_t(g.n) * g.c; ++plane)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double best = -INFINITY;
        int bestIndex = -1;
        for (int a = 0; a < g.kernelH; ++a)
          for (int b = 0; b < g.kernelW; ++b) {
            const int h = i * g.strideH + a, w = j * g.strideW + b;
            const double v = x[(plane * g.h + h) * g.w + w];
            if (bestIndex < 0 || v > best) best = v, bestIndex = h * g.w + w;
          }
        r.y[(plane * oh + i) * ow + j] = best;
        r.index[(plane * oh + i) * ow + j] = bestIndex;
      }
  return r;
}

// Records a failed check when the backend said it runs NHWC but the op's output is
// not tagged so (the chain would then not test the channels-last path at all).
void expectLayout(Suite& s, const std::string& op, Precision p, const std::string& shape, const Tensor& t,
                  MemoryLayout want) {
  if (t.layout() != want)
    s.fail(op + " layout", p, shape,
           "output stored " + std::string(toString(t.layout())) + ", expected " + std::string(toString(want)));
}

void layoutChain(Suite& s, Precision p, ConvLayoutChoice layout) {
  Conv2dGeometry g1;  // three input channels, so that NCHW and NHWC order differ
  g1.n = 4, g1.c = 3, g1.h = 12, g1.w = 10, g1.k = 8, g1.r = 3, g1.s = 3, g1.padH = g1.padW = 1;
  Pool2dGeometry pool;
  pool.kind = PoolKind::max;
  pool.n = g1.n, pool.c = g1.k, pool.h = g1.outH(), pool.w = g1.outW();
  Conv2dGeometry g2;
  g2.n = g1.n, g2.c = g1.k, g2.h = pool.outH(), g2.w = pool.outW(), g2.k = 16, g2.r = g2.s = 3;
  g2.padH = g2.padW = 1;
  const std::string shape = geometryText(g1, layout);
  const std::string tag = "layout chain ";

  s.run(tag + "conv, bias, relu, maxpool, conv", p, shape, [&] {
    const ConvLayoutChoice before = s.backend.convLayout();
    s.backend.setConvLayout(layout);
    // The layout the backend's convolutions really use for format p (the CPU: nchw).
    // (CUDA: nhwc for fp16, bf16, tf32; auto for fp16, bf16; layout.cu).
    const bool half = p == Precision::fp16 || p == Precision::bf16;
    const bool channelsLast = (s.backend.convLayout() == ConvLayoutChoice::nhwc && (half || p == Precision::tf32)) ||
                              (s.backend.convLayout() == ConvLayoutChoice::automatic && half);
    const MemoryLayout stored = channelsLast ? MemoryLayout::nhwc : MemoryLayout::nchw;
    struct Restore {
      Backend& b;
      ConvLayoutChoice c;
      ~Restore() { b.setConvLayout(c); }
    } restore{s.backend, before};

    const Shape xs{g1.n, g1.c, g1.h, g1.w}, w1s{g1.k, g1.c, g1.r, g1.s};
    const Shape y1s{g1.n, g1.k, g1.outH(), g1.outW()}, p1s{pool.n, pool.c, pool.outH(), pool.outW()};
    const Shape w2s{g2.k, g2.c, g2.r, g2.s}, y2s{g2.n, g2.k, g2.outH(), g2.outW()};
    std::vector<double> x, w1, b1, w2, dy2;
    Tensor tx = s.input(xs, p, x), tw1 = s.input(w1s, p, w1), tb1 = s.input(Shape{g1.k}, p, b1);
    Tensor tw2 = s.input(w2s, p, w2);

    // conv1 + bias as a layer with a bias runs it: an fp32 result, the bias added in
    // fp32, one rounding into p.
    Tensor wide = s.output(y1s, Precision::fp32);
    s.backend.conv2dForward(g1, tx, tw1, wide);
    s.backend.addBias(wide, tb1);
    Tensor y1 = s.output(y1s, p);
    s.backend.convert(wide, y1);
    expectLayout(s, tag + "conv+bias forward", p, shape, y1, stored);
    const ConvReference c1 = convForwardRef(g1, x, w1, &b1);
    s.check(tag + "conv+bias forward", shape, y1, c1.y, &c1.terms, s.products(p));

    // ReLU keeps its input's layout.
    const std::vector<double> y1v = asDouble(s.read(y1));
    Tensor a1 = s.output(y1s, p);
    s.backend.activationForward(Activation::relu, 0.0f, y1, a1);
    expectLayout(s, tag + "relu forward", p, shape, a1, stored);
    std::vector<double> a1want(y1v.size());
    for (std::size_t i = 0; i < y1v.size(); ++i) a1want[i] = std::max(0.0, y1v[i]);
    s.checkRounded(tag + "relu forward", shape, a1, a1want, Tolerance::exact());

    // Max pooling: values and the winners' indices.
    const std::vector<double> a1v = asDouble(s.read(a1));
    Tensor p1 = s.output(p1s, p), idx = s.output(p1s, Precision::fp32);
    s.backend.pool2dForward(pool, a1, p1, idx);
    expectLayout(s, tag + "maxpool forward", p, shape, p1, stored);
    const PoolReference pr = maxPoolRef(pool, a1v);
    s.checkRounded(tag + "maxpool forward", shape, p1, pr.y, Tolerance::exact());
    s.checkRounded(tag + "maxpool indices", shape, idx, pr.index, Tolerance::exact());

    // conv2 straight into p (a layer without a bias).
    const std::vector<double> p1v = asDouble(s.read(p1));
    Tensor y2 = s.output(y2s, p);
    s.backend.conv2dForward(g2, p1, tw2, y2);
    expectLayout(s, tag + "conv forward", p, shape, y2, stored);
    const ConvReference c2 = convForwardRef(g2, p1v, w2, nullptr);
    s.check(tag + "conv forward", shape, y2, c2.y, &c2.terms, s.products(p));

    // Backward, from a gradient in logical order (as flatten hands it back).
    Tensor tdy2 = s.input(y2s, p, dy2);
    Tensor dw2 = s.output(w2s, p), dp1 = s.output(p1s, p);
    s.backend.conv2dBackwardFilter(g2, p1, tdy2, dw2);
    s.backend.conv2dBackwardData(g2, tdy2, tw2, dp1);
    ConvReference dx2, dw2want;
    convBackwardRef(g2, p1v, w2, dy2, dx2, dw2want);
    expectLayout(s, tag + "conv backward filter", p, shape, dw2, MemoryLayout::nchw);
    s.check(tag + "conv backward filter", shape, dw2, dw2want.y, &dw2want.terms, s.products(p));
    s.check(tag + "conv backward data", shape, dp1, dx2.y, &dx2.terms, s.products(p));

    // Max pooling backward: each gradient goes to its window's winner (2x2 stride 2:
    // one term per input, exact).
    const std::vector<double> dp1v = asDouble(s.read(dp1));
    Tensor da1 = s.output(y1s, p);
    s.backend.pool2dBackward(pool, dp1, idx, da1);
    expectLayout(s, tag + "maxpool backward", p, shape, da1, stored);
    std::vector<double> da1want(a1v.size(), 0.0);
    const int oh = pool.outH(), ow = pool.outW();
    for (std::size_t o = 0; o < pr.index.size(); ++o) {
      const std::size_t plane = o / (std::size_t(oh) * ow);
      da1want[plane * pool.h * pool.w + std::size_t(pr.index[o])] += dp1v[o];
    }
    s.checkRounded(tag + "maxpool backward", shape, da1, da1want, Tolerance::exact());

    // ReLU backward: dy where the input was positive.
    const std::vector<double> da1v = asDouble(s.read(da1));
    Tensor dy1 = s.output(y1s, p);
    s.backend.activationBackward(Activation::relu, 0.0f, y1, a1, da1, dy1);
    expectLayout(s, tag + "relu backward", p, shape, dy1, stored);
    std::vector<double> dy1want(y1v.size());
    for (std::size_t i = 0; i < y1v.size(); ++i) dy1want[i] = y1v[i] > 0 ? da1v[i] : 0.0;
    s.checkRounded(tag + "relu backward", shape, dy1, dy1want, Tolerance::exact());

    // Bias gradient and conv1's filter gradient from the channels-last dy1.
    const std::vector<double> dy1v = asDouble(s.read(dy1));
    Tensor db1 = s.output(Shape{g1.k}, p), dw1 = s.output(w1s, p);
    s.backend.biasGrad(dy1, db1);
    s.backend.conv2dBackwardFilter(g1, tx, dy1, dw1);
    std::vector<double> dbwant(std::size_t(g1.k), 0.0), dbterms(std::size_t(g1.k), 0.0);
    const std::size_t plane1 = std::size_t(g1.outH()) * g1.outW();
    for (std::size_t i = 0; i < dy1v.size(); ++i) {
      const std::size_t k = (i / plane1) % std::size_t(g1.k);
      dbwant[k] += dy1v[i];
      dbterms[k] += std::fabs(dy1v[i]);
    }
    s.check(tag + "bias gradient", shape, db1, dbwant, &dbterms, s.products(p));
    ConvReference dx1, dw1want;
    convBackwardRef(g1, x, w1, dy1v, dx1, dw1want);
    s.check(tag + "conv backward filter (first layer)", shape, dw1, dw1want.y, &dw1want.terms, s.products(p));

    // Batch norm on the channels-last activations: the statistics per channel must
    // be those of the logical tensor.
    Tensor gamma = s.output(Shape{g1.k}, Precision::fp32), beta = s.output(Shape{g1.k}, Precision::fp32);
    s.backend.fill(gamma, 1.0f);
    s.backend.fill(beta, 0.0f);
    Tensor rm = s.output(Shape{g1.k}, Precision::fp32), rv = s.output(Shape{g1.k}, Precision::fp32);
    Tensor sm = s.output(Shape{g1.k}, Precision::fp32), si = s.output(Shape{g1.k}, Precision::fp32);
    s.backend.fill(rm, 0.0f);
    s.backend.fill(rv, 1.0f);
    Tensor bn = s.output(y1s, p);
    s.backend.batchNormForward(y1, gamma, beta, rm, rv, 0.1f, 1e-5f, true, bn, sm, si);
    expectLayout(s, tag + "batchnorm forward", p, shape, bn, stored);
    std::vector<double> mean(std::size_t(g1.k), 0.0), var(std::size_t(g1.k), 0.0);
    const double count = double(g1.n) * plane1;
    for (std::size_t i = 0; i < y1v.size(); ++i) mean[(i / plane1) % g1.k] += y1v[i] / count;
    for (std::size_t i = 0; i < y1v.size(); ++i) {
      const double d = y1v[i] - mean[(i / plane1) % g1.k];
      var[(i / plane1) % g1.k] += d * d / count;
    }
    std::vector<double> bnwant(y1v.size()), bnterms(y1v.size());
    for (std::size_t i = 0; i < y1v.size(); ++i) {
      const std::size_t k = (i / plane1) % g1.k;
      const double invStd = 1.0 / std::sqrt(var[k] + 1e-5);
      bnwant[i] = (y1v[i] - mean[k]) * invStd;
      bnterms[i] = (std::fabs(y1v[i]) + std::fabs(mean[k])) * invStd;
    }
    // As the batch-norm case: fp32 arithmetic against a double reference.
    s.check(tag + "batchnorm forward", shape, bn, bnwant, &bnterms, s.products(p));
  });
}

}  // namespace

void runLayoutCases(Suite& s) {
  for (ConvLayoutChoice layout : {ConvLayoutChoice::nchw, ConvLayoutChoice::nhwc})
    for (Precision p : {Precision::fp16, Precision::bf16, Precision::tf32}) layoutChain(s, p, layout);
}

}  // namespace plab::conformance
