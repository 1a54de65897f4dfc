#include "model/layers/product_error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace plab::detail {
namespace {

std::vector<float> hostValues(Backend& backend, const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  backend.download(t, v.data());
  return v;
}

std::vector<float> hostBias(Backend& backend, const ParamSlot* bias, std::int64_t count) {
  if (!bias) return std::vector<float>(static_cast<std::size_t>(count), 0.0f);
  return hostValues(backend, bias->working);
}

// Sums of squares of (real - reference) and of reference, then their ratio's root.
struct ErrorNorms {
  double diff2 = 0, ref2 = 0;
  bool nonFinite = false;
  void add(float real, double reference) {
    if (!std::isfinite(real)) nonFinite = true;
    const double d = double(real) - reference;
    diff2 += d * d;
    ref2 += reference * reference;
  }
  double relative() const {
    if (nonFinite) return std::numeric_limits<double>::infinity();
    if (ref2 == 0) return diff2 == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return std::sqrt(diff2 / ref2);
  }
};

}  // namespace

double linearErrorAgainstFp64(Backend& backend, const Tensor& x, const Tensor& w, const ParamSlot* bias,
                              const Tensor& y) {
  const std::int64_t rows = std::min(x.shape()[0], kProductErrorSamples);
  const std::int64_t in = x.shape()[0] ? x.numel() / x.shape()[0] : 0, out = w.shape()[0];
  const std::vector<float> hx = hostValues(backend, x), hw = hostValues(backend, w), hy = hostValues(backend, y);
  const std::vector<float> hb = hostBias(backend, bias, out);
  ErrorNorms norms;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* xi = hx.data() + i * in;
    for (std::int64_t j = 0; j < out; ++j) {
      const float* wj = hw.data() + j * in;
      double sum = hb[std::size_t(j)];
      for (std::int64_t k = 0; k < in; ++k) sum += double(xi[k]) * double(wj[k]);
      norms.add(hy[std::size_t(i * out + j)], sum);
    }
  }
  return norms.relative();
}

double conv2dErrorAgainstFp64(Backend& backend, const Conv2dGeometry& g, const Tensor& x, const Tensor& w,
                              const ParamSlot* bias, const Tensor& y) {
  const std::int64_t samples = std::min<std::int64_t>(g.n, kProductErrorSamples);
  const int oh = g.outH(), ow = g.outW();
  const std::vector<float> hx = hostValues(backend, x), hw = hostValues(backend, w), hy = hostValues(backend, y);
  const std::vector<float> hb = hostBias(backend, bias, g.k);
  ErrorNorms norms;
  for (std::int64_t n = 0; n < samples; ++n)
    for (int k = 0; k < g.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          double sum = hb[std::size_t(k)];
          for (int c = 0; c < g.c; ++c)
            for (int r = 0; r < g.r; ++r) {
              const int h = i * g.strideH - g.padH + r;
              if (h < 0 || h >= g.h) continue;
              const float* xrow = hx.data() + ((n * g.c + c) * g.h + h) * g.w;
              const float* wrow = hw.data() + ((std::int64_t{k} * g.c + c) * g.r + r) * g.s;
              for (int s = 0; s < g.s; ++s) {
                const int col = j * g.strideW - g.padW + s;
                if (col >= 0 && col < g.w) sum += double(xrow[col]) * double(wrow[s]);
              }
            }
          norms.add(hy[std::size_t(((n * g.k + k) * oh + i) * ow + j)], sum);
        }
  return norms.relative();
}

}  // namespace plab::detail
