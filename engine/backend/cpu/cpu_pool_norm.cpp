// CpuBackend: pooling and batch normalisation.
#include <algorithm>
#include <initializer_list>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

void checkPool(const char* op, const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  if (g.n <= 0 || g.c <= 0 || g.h <= 0 || g.w <= 0 || g.kernelH <= 0 || g.kernelW <= 0 || g.strideH <= 0 ||
      g.strideW <= 0 || g.padH < 0 || g.padW < 0 || g.outH() <= 0 || g.outW() <= 0)
    fail(op, "invalid geometry n=" + std::to_string(g.n) + " c=" + std::to_string(g.c) + " h=" + std::to_string(g.h) +
                 " w=" + std::to_string(g.w) + " kernel " + std::to_string(g.kernelH) + "x" + std::to_string(g.kernelW));
  requireNumel(op, "x/dx", x, std::int64_t{g.n} * g.c * g.h * g.w);
  requireNumel(op, "y/dy", y, std::int64_t{g.n} * g.c * g.outH() * g.outW());
}

// Calls f(inputIndexInPlane) for every window position of output (i, j) inside the input.
template <class F>
void forWindow(const Pool2dGeometry& g, int i, int j, F f) {
  for (int a = 0; a < g.kernelH; ++a) {
    const int h = i * g.strideH - g.padH + a;
    if (h < 0 || h >= g.h) continue;
    for (int b = 0; b < g.kernelW; ++b) {
      const int w = j * g.strideW - g.padW + b;
      if (w >= 0 && w < g.w) f(h * g.w + w);
    }
  }
}

struct Channels {
  std::int64_t batch, channels, spatial;
};

Channels channelsOf(const char* op, const Tensor& x) {
  requireDefined(op, "x", x);
  if (x.shape().rank() != 2 && x.shape().rank() != 4)
    fail(op, "x has shape " + x.shape().toString() + ", expected [N, C] or [N, C, H, W]");
  const std::int64_t spatial = x.shape().rank() == 4 ? x.shape()[2] * x.shape()[3] : 1;
  return {x.shape()[0], x.shape()[1], spatial};
}

}  // namespace

// Max: the first largest value of each window wins (NaN wins, as in PyTorch); its
// index within the (n, c) plane is stored in `indices`. Average: the window sum over
// kernelH * kernelW, padding counted (PyTorch's count_include_pad=True).
void CpuBackend::pool2dForward(const Pool2dGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) {
  const char* op = "pool2dForward";
  checkPool(op, g, x, y);
  const bool isMax = g.kind == PoolKind::max;
  if (isMax) {
    requireNumel(op, "indices", indices, y.numel());
    if (indices.precision() != Precision::fp32) fail(op, "indices must be fp32");
  }
  const float* px = logicalValues(x, scratch(0, static_cast<std::size_t>(x.numel())));
  float* py = slots(y);
  float* pi = isMax ? slots(indices) : nullptr;
  const int oh = g.outH(), ow = g.outW();
  const float inverseArea = 1.0f / static_cast<float>(g.kernelH * g.kernelW);
  for (std::int64_t plane = 0; plane < std::int64_t{g.n} * g.c; ++plane) {
    const float* in = px + plane * g.h * g.w;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        const std::int64_t o = (plane * oh + i) * ow + j;
        if (isMax) {
          float best = -std::numeric_limits<float>::infinity();
          int where = -1;
          forWindow(g, i, j, [&](int k) {
            const float v = in[k];
            if (where < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              where = k;
            }
          });
          py[o] = where < 0 ? 0.0f : best;
          pi[o] = static_cast<float>(where);
        } else {
          float sum = 0;
          forWindow(g, i, j, [&](int k) { sum += in[k]; });
          py[o] = sum * inverseArea;
        }
      }
  }
  finishOutput(y);
}

void CpuBackend::pool2dBackward(const Pool2dGeometry& g, const Tensor& dy, const Tensor& indices, Tensor& dx) {
  const char* op = "pool2dBackward";
  checkPool(op, g, dx, dy);
  const bool isMax = g.kind == PoolKind::max;
  if (isMax) requireNumel(op, "indices", indices, dy.numel());
  const float* pdy = logicalValues(dy, scratch(0, static_cast<std::size_t>(dy.numel())));
  const float* pi = isMax ? slots(indices) : nullptr;
  float* pdx = slots(dx);
  std::fill_n(pdx, dx.numel(), 0.0f);
  const int oh = g.outH(), ow = g.outW();
  const float inverseArea = 1.0f / static_cast<float>(g.kernelH * g.kernelW);
  for (std::int64_t plane = 0; plane < std::int64_t{g.n} * g.c; ++plane) {
    float* out = pdx + plane * g.h * g.w;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        const std::int64_t o = (plane * oh + i) * ow + j;
        if (isMax) {
          const int where = static_cast<int>(pi[o]);
          if (where >= 0) out[where] += pdy[o];
        } else {
          const float share = pdy[o] * inverseArea;
          forWindow(g, i, j, [&](int k) { out[k] += share; });
        }
      }
  }
  finishOutput(dx);
}

// Training: per-channel mean and biased variance (two passes, double sums), y =
// ((x - mean) * invStd) * gamma + beta in fp32, running statistics updated with the
// unbiased variance as PyTorch does. Inference: the running statistics.
void CpuBackend::batchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& runningMean,
                                  Tensor& runningVar, float momentum, float eps, bool training, Tensor& y,
                                  Tensor& savedMean, Tensor& savedInvStd) {
  const char* op = "batchNormForward";
  const Channels d = channelsOf(op, x);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &runningMean, &runningVar})
    requireNumel(op, "gamma/beta/running", *t, d.channels);
  requireNumel(op, "y", y, x.numel());
  if (training) {
    requireNumel(op, "savedMean", savedMean, d.channels);
    requireNumel(op, "savedInvStd", savedInvStd, d.channels);
  }
  const float* px = logicalValues(x, scratch(0, static_cast<std::size_t>(x.numel())));
  const float* pg = slots(gamma);
  const float* pb = slots(beta);
  float* py = slots(y);
  const std::int64_t count = d.batch * d.spatial;
  for (std::int64_t c = 0; c < d.channels; ++c) {
    float mean, invStd;
    if (training) {
      double sum = 0;
      for (std::int64_t n = 0; n < d.batch; ++n)
        for (std::int64_t s = 0; s < d.spatial; ++s) sum += px[(n * d.channels + c) * d.spatial + s];
      const double m = count ? sum / static_cast<double>(count) : 0.0;
      double sq = 0;
      for (std::int64_t n = 0; n < d.batch; ++n)
        for (std::int64_t s = 0; s < d.spatial; ++s) {
          const double dev = px[(n * d.channels + c) * d.spatial + s] - m;
          sq += dev * dev;
        }
      const double var = count ? sq / static_cast<double>(count) : 0.0;
      mean = static_cast<float>(m);
      invStd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      slots(savedMean)[c] = mean;
      slots(savedInvStd)[c] = invStd;
      const double unbiased = count > 1 ? sq / static_cast<double>(count - 1) : var;
      float* rm = slots(runningMean);
      float* rv = slots(runningVar);
      rm[c] = (1.0f - momentum) * rm[c] + momentum * mean;
      rv[c] = (1.0f - momentum) * rv[c] + momentum * static_cast<float>(unbiased);
    } else {
      mean = slots(runningMean)[c];
      invStd = 1.0f / std::sqrt(slots(runningVar)[c] + eps);
    }
    const float gc = pg[c], bc = pb[c];
    for (std::int64_t n = 0; n < d.batch; ++n) {
      const std::int64_t base = (n * d.channels + c) * d.spatial;
      for (std::int64_t s = 0; s < d.spatial; ++s) py[base + s] = ((px[base + s] - mean) * invStd) * gc + bc;
    }
  }
  finishOutput(y);
}

// dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invStd / M * (M dy - dbeta - xhat dgamma).
void CpuBackend::batchNormBackward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& savedMean,
                                   const Tensor& savedInvStd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const char* op = "batchNormBackward";
  const Channels d = channelsOf(op, x);
  requireNumel(op, "dy", dy, x.numel());
  requireNumel(op, "dx", dx, x.numel());
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &savedMean, &savedInvStd, &dgamma, &dbeta})
    requireNumel(op, "gamma/saved/dgamma/dbeta", *t, d.channels);
  const auto n = static_cast<std::size_t>(x.numel());
  const float* px = logicalValues(x, scratch(0, n));
  const float* pdy = logicalValues(dy, scratch(1, n));
  float* pdx = slots(dx);
  const std::int64_t count = d.batch * d.spatial;
  for (std::int64_t c = 0; c < d.channels; ++c) {
    const float mean = slots(savedMean)[c], invStd = slots(savedInvStd)[c], gc = slots(gamma)[c];
    double sumDy = 0, sumDyXhat = 0;
    for (std::int64_t b = 0; b < d.batch; ++b)
      for (std::int64_t s = 0; s < d.spatial; ++s) {
        const std::int64_t i = (b * d.channels + c) * d.spatial + s;
        const float xhat = (px[i] - mean) * invStd;
        sumDy += pdy[i];
        sumDyXhat += static_cast<double>(pdy[i]) * xhat;
      }
    slots(dbeta)[c] = static_cast<float>(sumDy);
    slots(dgamma)[c] = static_cast<float>(sumDyXhat);
    const float meanDy = static_cast<float>(sumDy / static_cast<double>(count));
    const float meanDyXhat = static_cast<float>(sumDyXhat / static_cast<double>(count));
    const float k = gc * invStd;
    for (std::int64_t b = 0; b < d.batch; ++b)
      for (std::int64_t s = 0; s < d.spatial; ++s) {
        const std::int64_t i = (b * d.channels + c) * d.spatial + s;
        const float xhat = (px[i] - mean) * invStd;
        pdx[i] = k * (pdy[i] - meanDy - xhat * meanDyXhat);
      }
  }
  finishOutput(dx);
  finishOutput(dgamma);
  finishOutput(dbeta);
}

}  // namespace plab
