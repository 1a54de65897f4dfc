// Max and average pooling, NCHW or NHWC. Own kernels rather than cuDNN's: the
// interface wants the winning index of each max (cuDNN keeps none), fp8 tensors, and
// the gradient as one fp32 sum per input element, rounded once (a gather, so no atomics).
// Max: the first largest value in row-major window order wins; its index is h * W + w
// within the (n, c) plane. Average: the divisor is the full window (padding counted),
// as PyTorch's default count_include_pad = true.
// Layout: y and the indices are written in x's layout (the indices tensor is tagged
// so); backward reads dy in either layout and writes dx in the indices' layout (max:
// the forward input's, so the next op back gets what it expects) or dy's (average).
#include "backend/cuda/elementwise.cuh"

namespace plab::cuda {
namespace {

// Where element (n, c, y, x) of a [N, C, H, W] tensor lies, in either memory order.
struct Plane {
  int c, h, w;
  bool nhwc;
  __device__ std::int64_t at(std::int64_t n, int ch, int y, int x) const {
    return nhwc ? ((n * h + y) * std::int64_t(w) + x) * c + ch : ((n * c + ch) * std::int64_t(h) + y) * w + x;
  }
  // The coordinates of memory position i.
  __device__ void coords(std::int64_t i, std::int64_t& n, int& ch, int& y, int& x) const {
    if (nhwc) {
      ch = static_cast<int>(i % c);
      x = static_cast<int>((i / c) % w);
      y = static_cast<int>((i / (std::int64_t(c) * w)) % h);
      n = i / (std::int64_t(c) * w * h);
    } else {
      x = static_cast<int>(i % w);
      y = static_cast<int>((i / w) % h);
      ch = static_cast<int>((i / (std::int64_t(w) * h)) % c);
      n = i / (std::int64_t(w) * h * c);
    }
  }
};
Plane planeOf(int c, int h, int w, MemoryLayout layout) { return {c, h, w, layout == MemoryLayout::nhwc}; }

__global__ void poolForwardKernel(Pool2dGeometry g, Plane inPlane, Plane outPlane, TensorArg x, TensorArg y, float* indices,
                                  std::int64_t n) {
  const float sx = scaleValue(x.scale), sy = scaleValue(y.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    std::int64_t image;
    int ch, oy, ox;
    outPlane.coords(i, image, ch, oy, ox);
    float best = -INFINITY, sum = 0.0f;
    int bestIndex = -1;
    for (int r = 0; r < g.kernelH; ++r) {
      const int iy = oy * g.strideH - g.padH + r;
      if (iy < 0 || iy >= g.h) continue;
      for (int s = 0; s < g.kernelW; ++s) {
        const int ix = ox * g.strideW - g.padW + s;
        if (ix < 0 || ix >= g.w) continue;
        const float v = AnyIO::load(x, inPlane.at(image, ch, iy, ix), sx);
        sum += v;
        if (v > best || bestIndex < 0) { best = v; bestIndex = iy * g.w + ix; }
      }
    }
    const float out = g.kind == PoolKind::max ? best : sum / static_cast<float>(g.kernelH * g.kernelW);
    if (g.kind == PoolKind::max && indices) indices[i] = static_cast<float>(bestIndex);
    localMax = fmaxf(localMax, fabsf(out));
    AnyIO::store(y, i, out, sy);
  }
  if (y.amax) reportAmax(y.amax, localMax);
}

__global__ void poolBackwardKernel(Pool2dGeometry g, int oh, int ow, Plane gradIn, Plane gradOut, Plane winners,
                                   TensorArg dy, const float* indices, TensorArg dx, std::int64_t n) {
  const float sdy = scaleValue(dy.scale), sdx = scaleValue(dx.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    std::int64_t image;
    int ch, iy, ix;
    gradIn.coords(i, image, ch, iy, ix);
    const int here = iy * g.w + ix;
    // Outputs whose window covers (iy, ix): oy*strideH - padH <= iy < oy*strideH - padH + kernelH.
    const int oyLo = max(0, (iy + g.padH - g.kernelH + g.strideH) / g.strideH);
    const int oyHi = min(oh - 1, (iy + g.padH) / g.strideH);
    const int oxLo = max(0, (ix + g.padW - g.kernelW + g.strideW) / g.strideW);
    const int oxHi = min(ow - 1, (ix + g.padW) / g.strideW);
    float sum = 0.0f;
    for (int oy = oyLo; oy <= oyHi; ++oy)
      for (int ox = oxLo; ox <= oxHi; ++ox) {
        const std::int64_t o = gradOut.at(image, ch, oy, ox);
        if (g.kind == PoolKind::max) {
          if (static_cast<int>(indices[winners.at(image, ch, oy, ox)]) == here) sum += AnyIO::load(dy, o, sdy);
        } else {
          sum += AnyIO::load(dy, o, sdy);
        }
      }
    if (g.kind == PoolKind::average) sum /= static_cast<float>(g.kernelH * g.kernelW);
    localMax = fmaxf(localMax, fabsf(sum));
    AnyIO::store(dx, i, sum, sdx);
  }
  if (dx.amax) reportAmax(dx.amax, localMax);
}

}  // namespace

void CudaBackend::pool2dForward(const Pool2dGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) {
  PLAB_BACKEND_CALL("pool2dForward");
  const std::int64_t n = std::int64_t(g.n) * g.c * g.outH() * g.outW();
  if (x.numel() != std::int64_t(g.n) * g.c * g.h * g.w || y.numel() != n)
    throwShapeError("pool2dForward", "x " + x.shape().toString() + " or y " + y.shape().toString() +
                                         " does not match the pooling geometry");
  if (g.kind == PoolKind::max && (!indices.defined() || indices.numel() != n))
    throwShapeError("pool2dForward", "max pooling needs an fp32 indices tensor the size of y");
  y.setLayout(x.layout());
  if (g.kind == PoolKind::max) indices.setLayout(x.layout());
  poolForwardKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
      g, planeOf(g.c, g.h, g.w, x.layout()), planeOf(g.c, g.outH(), g.outW(), x.layout()), arg(x), arg(y),
      g.kind == PoolKind::max ? indices.dataAs<float>() : nullptr, n);
  PLAB_CUDA_LAUNCHED("poolForwardKernel");
}

void CudaBackend::pool2dBackward(const Pool2dGeometry& g, const Tensor& dy, const Tensor& indices, Tensor& dx) {
  PLAB_BACKEND_CALL("pool2dBackward");
  const std::int64_t n = std::int64_t(g.n) * g.c * g.h * g.w;
  if (dx.numel() != n || dy.numel() != std::int64_t(g.n) * g.c * g.outH() * g.outW())
    throwShapeError("pool2dBackward", "dy " + dy.shape().toString() + " or dx " + dx.shape().toString() +
                                          " does not match the pooling geometry");
  if (g.kind == PoolKind::max && (!indices.defined() || indices.numel() != dy.numel()))
    throwShapeError("pool2dBackward", "max pooling needs the forward's fp32 indices tensor the size of dy");
  const bool isMax = g.kind == PoolKind::max;
  const MemoryLayout dxLayout = isMax ? indices.layout() : dy.layout();
  dx.setLayout(dxLayout);
  poolBackwardKernel<<<blocksFor(n), kThreads, 0, stream()>>>(
      g, g.outH(), g.outW(), planeOf(g.c, g.h, g.w, dxLayout), planeOf(g.c, g.outH(), g.outW(), dy.layout()),
      planeOf(g.c, g.outH(), g.outW(), isMax ? indices.layout() : dy.layout()), arg(dy),
      isMax ? indices.dataAs<float>() : nullptr, arg(dx), n);
  PLAB_CUDA_LAUNCHED("poolBackwardKernel");
}

}  // namespace plab::cuda
