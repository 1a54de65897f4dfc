// Memory traffic between formats: fill, upload, download, convert, and the helpers
// that round a tensor in place or widen it to fp32 for the emulated paths.
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/formats.cuh"

#include <string>

namespace plab::cuda {
namespace {

// dst[i] = round_Pout(src[i]); the source format is read at run time (it is the same for
// the whole launch, so the branch costs nothing). Records amax for an fp8 destination.
template <Precision Pout>
__global__ void convertKernel(Precision pin, const void* src, const float* srcScale, typename Fmt<Pout>::T* dst,
                              const float* dstScale, float* dstAmax, bool tf32Inputs, std::int64_t n) {
  const float sIn = scaleValue(srcScale), sOut = scaleValue(dstScale);
  float localMax = 0.0f;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    float v = loadAny(pin, src, i, sIn);
    if (tf32Inputs) v = roundTf32(v);
    if constexpr (isFp8(Pout)) localMax = fmaxf(localMax, fabsf(v));
    Fmt<Pout>::store(dst, i, v, sOut);
  }
  if constexpr (isFp8(Pout)) reportAmax(dstAmax, localMax);
}

template <Precision P>
__global__ void fillKernel(typename Fmt<P>::T* dst, const float* scale, float* amax, float value, std::int64_t n) {
  const float s = scaleValue(scale);
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    Fmt<P>::store(dst, i, value, s);
  if constexpr (isFp8(P)) {
    if (blockIdx.x == 0) reportAmax(amax, fabsf(value));
  }
}

void launchConvert(CudaBackend& b, Precision pin, const void* src, const float* srcScale, Tensor& dst,
                   bool tf32Inputs) {
  const std::int64_t n = dst.numel();
  dispatchPrecision(dst.precision(), [&](auto tag) {
    constexpr Precision P = decltype(tag)::value;
    convertKernel<P><<<blocksFor(n), kThreads, 0, b.stream()>>>(
        pin, src, srcScale, dst.dataAs<typename Fmt<P>::T>(), dst.scale(), dst.amax(), tf32Inputs, n);
  });
  PLAB_CUDA_LAUNCHED("convertKernel");
}

}  // namespace

void CudaBackend::fill(Tensor& t, float value) {
  PLAB_BACKEND_CALL("fill");
  const std::int64_t n = t.numel();
  dispatchPrecision(t.precision(), [&](auto tag) {
    constexpr Precision P = decltype(tag)::value;
    fillKernel<P><<<blocksFor(n), kThreads, 0, stream()>>>(t.dataAs<typename Fmt<P>::T>(), t.scale(), t.amax(),
                                                           value, n);
  });
  PLAB_CUDA_LAUNCHED("fillKernel");
}

void CudaBackend::upload(const float* host, Tensor& t) {
  PLAB_BACKEND_CALL("upload");
  t.setLayout(MemoryLayout::nchw);  // the host's values are in logical order
  const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(float);
  if (t.precision() == Precision::fp32) {
    PLAB_CUDA(cudaMemcpyAsync(t.data(), host, bytes, cudaMemcpyHostToDevice, stream()));
    return;
  }
  std::shared_ptr<void> staging = allocate(bytes);
  PLAB_CUDA(cudaMemcpyAsync(staging.get(), host, bytes, cudaMemcpyHostToDevice, stream()));
  launchConvert(*this, Precision::fp32, staging.get(), nullptr, t, false);
}

void CudaBackend::download(const Tensor& t, float* host) {
  PLAB_BACKEND_CALL("download");
  const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(float);
  if (t.layout() != MemoryLayout::nchw) {  // the host sees the logical order
    Tensor wide = toFp32(t);
    Tensor logical = empty(t.shape(), Precision::fp32);
    toLayout(wide, logical, MemoryLayout::nchw);
    PLAB_CUDA(cudaMemcpyAsync(host, logical.data(), bytes, cudaMemcpyDeviceToHost, stream()));
  } else if (t.precision() == Precision::fp32 || t.precision() == Precision::tf32) {
    PLAB_CUDA(cudaMemcpyAsync(host, t.data(), bytes, cudaMemcpyDeviceToHost, stream()));
  } else {
    Tensor wide = toFp32(t);
    PLAB_CUDA(cudaMemcpyAsync(host, wide.data(), bytes, cudaMemcpyDeviceToHost, stream()));
  }
  PLAB_CUDA(cudaStreamSynchronize(stream()));
}

void CudaBackend::convert(const Tensor& src, Tensor& dst, TensorStats* stats) {
  PLAB_HOST_TIMED("convert");
  // Layout-agnostic: the result keeps the source's memory order.
  if (src.layout() != MemoryLayout::nchw && dst.shape().rank() != 4)
    throwShapeError("convert", "a " + std::string(toString(src.layout())) + " source " + src.shape().toString() +
                                   " into " + dst.shape().toString() + " would reorder its values");
  dst.setLayout(src.layout());
  if (src.numel() != dst.numel())
    throwShapeError("convert", "source " + src.shape().toString() + " and destination " + dst.shape().toString() +
                                   " differ in size");
  if (stats) convertStats(src, dst, *stats);  // stats.cu: of src's values against dst's format
  launchConvert(*this, src.precision(), src.data(), src.scale(), dst, false);
}

void CudaBackend::roundInPlace(Tensor& t) {
  if (t.precision() == Precision::fp32) return;
  launchConvert(*this, t.precision(), t.data(), t.scale(), t, false);
}

Tensor CudaBackend::toFp32(const Tensor& t, bool roundToTf32) {
  Tensor wide = empty(t.shape(), Precision::fp32);
  wide.setLayout(t.layout());
  launchConvert(*this, t.precision(), t.data(), t.scale(), wide, roundToTf32);
  return wide;
}

}  // namespace plab::cuda
