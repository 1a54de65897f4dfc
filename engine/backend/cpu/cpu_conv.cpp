// CpuBackend: 2-d convolution as im2col + OpenBLAS sgemm, one image at a time
// (OpenBLAS threads each product). fp32 accumulation; the output is rounded once
// after every image has been accumulated. With accumulation in fp16 or bf16
// (Backend::setAccumulation) the same loops call multiplyRounded instead of sgemm
// and round every addition of col2im too (cpu_accumulate.h).
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_accumulate.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

struct ConvDims {
  std::int64_t inPlane, outPlane, colRows;  // H*W, OH*OW, C*R*S
};

ConvDims checkConv(const char* op, const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& y) {
  if (g.n <= 0 || g.c <= 0 || g.h <= 0 || g.w <= 0 || g.k <= 0 || g.r <= 0 || g.s <= 0 || g.strideH <= 0 ||
      g.strideW <= 0 || g.padH < 0 || g.padW < 0 || g.outH() <= 0 || g.outW() <= 0)
    fail(op, "invalid geometry n=" + std::to_string(g.n) + " c=" + std::to_string(g.c) + " h=" + std::to_string(g.h) +
                 " w=" + std::to_string(g.w) + " k=" + std::to_string(g.k) + " r=" + std::to_string(g.r) +
                 " s=" + std::to_string(g.s));
  requireNumel(op, "x/dx", x, std::int64_t{g.n} * g.c * g.h * g.w);
  requireNumel(op, "w/dw", w, std::int64_t{g.k} * g.c * g.r * g.s);
  requireNumel(op, "y/dy", y, std::int64_t{g.n} * g.k * g.outH() * g.outW());
  return {std::int64_t{g.h} * g.w, std::int64_t{g.outH()} * g.outW(), std::int64_t{g.c} * g.r * g.s};
}

// col[(c*R + r)*S + s][oh*OW + ow] = x[c][oh*strideH - padH + r][ow*strideW - padW + s] (0 outside).
void im2col(const Conv2dGeometry& g, const float* x, float* col) {
  const int oh = g.outH(), ow = g.outW();
  for (int c = 0; c < g.c; ++c)
    for (int r = 0; r < g.r; ++r)
      for (int s = 0; s < g.s; ++s) {
        float* row = col + ((std::int64_t{c} * g.r + r) * g.s + s) * oh * ow;
        for (int i = 0; i < oh; ++i) {
          const int h = i * g.strideH - g.padH + r;
          float* out = row + std::int64_t{i} * ow;
          if (h < 0 || h >= g.h) {
            std::fill_n(out, ow, 0.0f);
            continue;
          }
          const float* in = x + (std::int64_t{c} * g.h + h) * g.w;
          for (int j = 0; j < ow; ++j) {
            const int w = j * g.strideW - g.padW + s;
            out[j] = (w >= 0 && w < g.w) ? in[w] : 0.0f;
          }
        }
      }
}

// The adjoint of im2col: adds every column entry back to the pixel it came from, in
// fp32, or (format fp16 / bf16) rounding the pixel's sum after each addition.
void col2imAdd(const Conv2dGeometry& g, const float* col, float* x, Precision format) {
  const int oh = g.outH(), ow = g.outW();
  for (int c = 0; c < g.c; ++c)
    for (int r = 0; r < g.r; ++r)
      for (int s = 0; s < g.s; ++s) {
        const float* row = col + ((std::int64_t{c} * g.r + r) * g.s + s) * oh * ow;
        for (int i = 0; i < oh; ++i) {
          const int h = i * g.strideH - g.padH + r;
          if (h < 0 || h >= g.h) continue;
          float* out = x + (std::int64_t{c} * g.h + h) * g.w;
          const float* in = row + std::int64_t{i} * ow;
          for (int j = 0; j < ow; ++j) {
            const int w = j * g.strideW - g.padW + s;
            if (w < 0 || w >= g.w) continue;
            out[w] = format == Precision::fp32 ? out[w] + in[j] : addRounded(format, out[w], in[j]);
          }
        }
      }
}

// tf32 outputs read fp32 operands rounded to tf32 (narrower formats are exact in tf32).
const float* productOperand(const Tensor& t, Precision outPrecision, float* buffer) {
  if (outPrecision != Precision::tf32 || t.precision() != Precision::fp32) return slots(t);
  roundArray(Precision::tf32, slots(t), buffer, static_cast<std::size_t>(t.numel()));
  return buffer;
}

void sgemmRowMajor(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                   std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(n));
}

// The product of one image, through sgemm (fp32 accumulation) or multiplyRounded.
struct ImageProduct {
  Precision format;  // accumulation format
  float* packB = nullptr;  // packSize(g) floats, for multiplyRounded
  void operator()(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
                  std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c) const {
    if (format == Precision::fp32) {
      sgemmRowMajor(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c);
      return;
    }
    if (alpha != 1.0f) fail("conv2d", std::string("accumulation in ") + std::string(toString(format)) +
                                          " takes no fp8 inputs");
    multiplyRounded(format, ta, tb, m, n, k, a, lda, b, ldb, beta != 0.0f, c, packB);
  }
};

// Floats ImageProduct's packing buffer needs: the largest operand of the three
// products (W or dy_n: K rows; col: C*R*S rows).
std::size_t packSize(const Conv2dGeometry& g) {
  const auto k = std::size_t(g.k), colRows = std::size_t(g.c) * g.r * g.s, plane = std::size_t(g.outH()) * g.outW();
  return std::max({k * colRows, k * plane, colRows * plane});
}

}  // namespace

// y_n [K, OH*OW] = W [K, C*R*S] * im2col(x_n).
void CpuBackend::conv2dForward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, Tensor& y) {
  const ConvDims d = checkConv("conv2dForward", g, x, w, y);
  const float* px = productOperand(x, y.precision(), scratch(2, static_cast<std::size_t>(x.numel())));
  const float* pw = productOperand(w, y.precision(), scratch(3, static_cast<std::size_t>(w.numel())));
  float* col = scratch(4, static_cast<std::size_t>(d.colRows * d.outPlane));
  const float factor = inverseScale(x) * inverseScale(w);
  ImageProduct product{accumulation()};
  if (product.format != Precision::fp32) product.packB = scratch(5, packSize(g));
  float* py = slots(y);
  for (int n = 0; n < g.n; ++n) {
    im2col(g, px + n * g.c * d.inPlane, col);
    product(false, false, g.k, d.outPlane, d.colRows, factor, pw, d.colRows, col, d.outPlane, 0.0f,
                  py + n * g.k * d.outPlane);
  }
  finishOutput(y);
}

// dx_n = col2im(W^T [C*R*S, K] * dy_n [K, OH*OW]).
void CpuBackend::conv2dBackwardData(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  const ConvDims d = checkConv("conv2dBackwardData", g, dx, w, dy);
  const float* pdy = productOperand(dy, dx.precision(), scratch(2, static_cast<std::size_t>(dy.numel())));
  const float* pw = productOperand(w, dx.precision(), scratch(3, static_cast<std::size_t>(w.numel())));
  float* col = scratch(4, static_cast<std::size_t>(d.colRows * d.outPlane));
  const float factor = inverseScale(dy) * inverseScale(w);
  ImageProduct product{accumulation()};
  if (product.format != Precision::fp32) product.packB = scratch(5, packSize(g));
  float* pdx = slots(dx);
  std::fill_n(pdx, dx.numel(), 0.0f);
  for (int n = 0; n < g.n; ++n) {
    product(true, false, d.colRows, d.outPlane, g.k, factor, pw, d.colRows, pdy + n * g.k * d.outPlane, d.outPlane,
            0.0f, col);
    col2imAdd(g, col, pdx + n * g.c * d.inPlane, product.format);
  }
  finishOutput(dx);
}

// dW [K, C*R*S] = sum_n dy_n [K, OH*OW] * im2col(x_n)^T, accumulated in fp32.
void CpuBackend::conv2dBackwardFilter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw) {
  const ConvDims d = checkConv("conv2dBackwardFilter", g, x, dw, dy);
  const float* px = productOperand(x, dw.precision(), scratch(2, static_cast<std::size_t>(x.numel())));
  const float* pdy = productOperand(dy, dw.precision(), scratch(3, static_cast<std::size_t>(dy.numel())));
  float* col = scratch(4, static_cast<std::size_t>(d.colRows * d.outPlane));
  const float factor = inverseScale(x) * inverseScale(dy);
  ImageProduct product{accumulation()};
  if (product.format != Precision::fp32) product.packB = scratch(5, packSize(g));
  float* pdw = slots(dw);
  for (int n = 0; n < g.n; ++n) {
    im2col(g, px + n * g.c * d.inPlane, col);
    product(false, true, g.k, d.colRows, d.outPlane, factor, pdy + n * g.k * d.outPlane, d.outPlane, col,
                  d.outPlane, n == 0 ? 0.0f : 1.0f, pdw);
  }
  finishOutput(dw);
}

}  // namespace plab
