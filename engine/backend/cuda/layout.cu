// Memory layouts: the convolution layout setting and the one transform between
// NCHW and NHWC (channels-last). The rule (docs/architecture.md): a convolution in
// NHWC mode writes NHWC and tags its output; elementwise ops keep their input's
// layout; layout-aware ops (bias, pooling, batch norm) read either; whatever needs
// the logical order (download, flatten) or gets inputs that disagree reorders first.
// The same kernel turns a KCRS filter into KRSC (N = K, C = C, plane = R * S).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {
namespace {

// One element per thread, written in the destination's order (coalesced writes;
// the reads are strided, which costs little at the sizes of a training step).
template <class T>
__global__ void reorderKernel(const T* src, T* dst, std::int64_t channels, std::int64_t plane, bool toNhwc,
                              std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    if (toNhwc) {  // i = (b * plane + p) * channels + c
      const std::int64_t c = i % channels, p = (i / channels) % plane, b = i / (channels * plane);
      dst[i] = src[(b * channels + c) * plane + p];
    } else {       // i = (b * channels + c) * plane + p
      const std::int64_t p = i % plane, c = (i / plane) % channels, b = i / (channels * plane);
      dst[i] = src[(b * plane + p) * channels + c];
    }
  }
}

// Both layouts order a tensor's memory alike when it has one channel or 1x1 planes.
bool sameOrder(const Shape& s) { return s.rank() != 4 || s[1] == 1 || s[2] * s[3] == 1; }

}  // namespace

ConvLayoutChoice CudaBackend::convLayoutFromEnvironment() {
  const char* text = std::getenv("PLAB_CUDA_CONV_LAYOUT");
  // Unset: NCHW until the NHWC path has been measured on a GPU (docs/gpu-testing.md).
  if (!text || !*text) return ConvLayoutChoice::nchw;
  return parseConvLayoutChoice(text, "PLAB_CUDA_CONV_LAYOUT");
}

// Channels-last only where cuDNN runs the convolution on tensor cores: fp16 and bf16
// (auto and nhwc) and tf32 (nhwc). fp32 (FMA kernels only) and the emulated fp8
// stay NCHW, where cuDNN's FMA kernels are at home.
MemoryLayout CudaBackend::convLayoutFor(Precision p) const {
  switch (convLayout_) {
    case ConvLayoutChoice::nhwc:
      return p == Precision::fp16 || p == Precision::bf16 || p == Precision::tf32 ? MemoryLayout::nhwc
                                                                                  : MemoryLayout::nchw;
    case ConvLayoutChoice::automatic:
      return p == Precision::fp16 || p == Precision::bf16 ? MemoryLayout::nhwc : MemoryLayout::nchw;
    case ConvLayoutChoice::nchw: return MemoryLayout::nchw;
  }
  throw std::invalid_argument("CUDA backend: unknown convolution layout choice " +
                              std::to_string(static_cast<int>(convLayout_)));
}

void CudaBackend::toLayout(const Tensor& src, Tensor& dst, MemoryLayout layout) {
  PLAB_BACKEND_CALL("toLayout");
  if (src.precision() != dst.precision() || !(src.shape() == dst.shape()))
    throwShapeError("toLayout", "source " + src.shape().toString() + " " + std::string(toString(src.precision())) +
                                    " and destination " + dst.shape().toString() + " " +
                                    std::string(toString(dst.precision())) + " differ");
  if (src.scale() != dst.scale())
    throwShapeError("toLayout", "an fp8 destination must share the source's scale (Tensor::withFp8ScaleOf)");
  if (layout != MemoryLayout::nchw && src.shape().rank() != 4)
    throwShapeError("toLayout", "only [N, C, H, W] tensors can be stored " + std::string(toString(layout)) +
                                    ", got " + src.shape().toString());
  // The reorder kernels move whole elements; a block-scaled format would need its
  // block scales moved with them (precision.h, FormatInfo::blockSize).
  if (formatInfo(src.precision()).blockSize != 1)
    throwShapeError("toLayout", "no reorder for the block-scaled format " + std::string(toString(src.precision())));
  const std::size_t bytes = tensorBytes(src.precision(), src.numel());
  dst.setLayout(layout);
  if (src.data() == dst.data() && (src.layout() == layout || sameOrder(src.shape()))) return;
  if (src.layout() == layout || sameOrder(src.shape())) {
    PLAB_CUDA(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  if (src.data() == dst.data()) throwShapeError("toLayout", "cannot reorder a tensor in place");
  const Shape& s = src.shape();
  const std::int64_t n = src.numel(), channels = s[1], plane = s[2] * s[3];
  const bool toNhwc = layout == MemoryLayout::nhwc;
  switch (elementBytes(src.precision())) {
    case 1:
      reorderKernel<<<blocksFor(n), kThreads, 0, stream()>>>(src.dataAs<std::uint8_t>(), dst.dataAs<std::uint8_t>(),
                                                             channels, plane, toNhwc, n);
      break;
    case 2:
      reorderKernel<<<blocksFor(n), kThreads, 0, stream()>>>(src.dataAs<std::uint16_t>(),
                                                             dst.dataAs<std::uint16_t>(), channels, plane, toNhwc, n);
      break;
    case 4:
      reorderKernel<<<blocksFor(n), kThreads, 0, stream()>>>(src.dataAs<std::uint32_t>(),
                                                             dst.dataAs<std::uint32_t>(), channels, plane, toNhwc, n);
      break;
    default:
      throwShapeError("toLayout", "no reorder kernel for " + std::string(toString(src.precision())) + " (" +
                                      std::to_string(elementBytes(src.precision())) + "-byte elements)");
  }
  PLAB_CUDA_LAUNCHED("reorderKernel");
}

Tensor CudaBackend::inLayout(const Tensor& t, MemoryLayout layout) {
  if (t.layout() == layout) return t;
  if (sameOrder(t.shape())) {
    Tensor same = t;
    same.setLayout(layout);
    return same;
  }
  Tensor copy = empty(t.shape(), t.precision());
  if (t.scale()) copy = copy.withFp8ScaleOf(t);
  toLayout(t, copy, layout);
  return copy;
}

}  // namespace plab::cuda
