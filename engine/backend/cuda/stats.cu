// Per-tensor statistics (docs/architecture.md "what a run records"): exact zeros, underflows and
// overflows caused by rounding into a format, non-finite values, max |x| and the
// histogram of log2|x|. One pass, block-local counters in shared memory, one atomic
// per block and counter; the host reads the result (this syncs, by contract).
#include <cstring>

#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/formats.cuh"

namespace plab::cuda {
namespace {

struct DeviceStats {
  unsigned long long count, zeros, underflows, overflows, nonFinite;
  unsigned int maxAbsBits, unused;
  unsigned long long log2Hist[kLog2HistBins];
};

__device__ __forceinline__ float roundAny(Precision p, float v, float scale) {
  switch (p) {
    case Precision::fp32: return v;
    case Precision::tf32: return roundTf32(v);
    case Precision::fp16: return decodeFp16(encodeFp16(v));
    case Precision::bf16: return decodeBf16(encodeBf16(v));
    case Precision::fp8_e4m3: return decodeE4m3(encodeE4m3(v * scale));
    case Precision::fp8_e5m2: return decodeE5m2(encodeE5m2(v * scale));
    PLAB_BLOCK_SCALED_CASES: break;  // no CUDA tensor holds one (CudaBackend::supportsPrecision)
  }
  trapUnknownPrecision("roundAny", p);
}
// fp8 saturates instead of overflowing to inf: "overflow" there is a finite value
// beyond the largest finite one (448 for e4m3, 57344 for e5m2), scaled.
constexpr float kMaxE4m3 = static_cast<float>(formatInfo(Precision::fp8_e4m3).maxFinite);
constexpr float kMaxE5m2 = static_cast<float>(formatInfo(Precision::fp8_e5m2).maxFinite);
__device__ __forceinline__ bool overflowsInto(Precision p, float v, float rounded, float scale) {
  if (p == Precision::fp8_e4m3) return fabsf(v * scale) > kMaxE4m3;
  if (p == Precision::fp8_e5m2) return fabsf(v * scale) > kMaxE5m2;
  return isinf(rounded);
}

// round = false: statistics of the values as they are (no target format).
__global__ void statsKernel(Precision pin, const void* src, const float* srcScale, bool round, Precision pout,
                            const float* dstScale, std::int64_t n, DeviceStats* out) {
  __shared__ unsigned int hist[kLog2HistBins];
  __shared__ unsigned int zeros, underflows, overflows, nonFinite, maxBits;
  for (int i = threadIdx.x; i < kLog2HistBins; i += blockDim.x) hist[i] = 0;
  if (threadIdx.x == 0) zeros = underflows = overflows = nonFinite = maxBits = 0;
  __syncthreads();
  const float sIn = scaleValue(srcScale), sOut = scaleValue(dstScale);
  unsigned int myZeros = 0, myUnder = 0, myOver = 0, myNonFinite = 0;
  float myMax = 0.0f;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    // Against an fp8 format the values are seen as the format sees them: times its scale.
    const float v = loadAny(pin, src, i, sIn) * (round ? sOut : 1.0f);
    const bool finite = isfinite(v);
    if (!finite) {
      ++myNonFinite;
    } else if (v != 0.0f) {
      myMax = fmaxf(myMax, fabsf(v));
      int bin = ilogbf(v) - kLog2HistMin;  // floor(log2|v|), exact for subnormals too
      bin = bin < 0 ? 0 : (bin >= kLog2HistBins ? kLog2HistBins - 1 : bin);
      atomicAdd(&hist[bin], 1u);
    }
    if (round) {
      const float r = roundAny(pout, v, 1.0f);
      myZeros += r == 0.0f;
      myUnder += (v != 0.0f && !isnan(v) && r == 0.0f);
      myOver += (finite && overflowsInto(pout, v, r, 1.0f));
    } else {
      myZeros += v == 0.0f;
    }
  }
  atomicAdd(&zeros, myZeros);
  atomicAdd(&underflows, myUnder);
  atomicAdd(&overflows, myOver);
  atomicAdd(&nonFinite, myNonFinite);
  atomicMax(&maxBits, __float_as_uint(myMax));
  __syncthreads();
  for (int i = threadIdx.x; i < kLog2HistBins; i += blockDim.x)
    if (hist[i]) atomicAdd(&out->log2Hist[i], static_cast<unsigned long long>(hist[i]));
  if (threadIdx.x == 0) {
    atomicAdd(&out->zeros, zeros);
    atomicAdd(&out->underflows, underflows);
    atomicAdd(&out->overflows, overflows);
    atomicAdd(&out->nonFinite, nonFinite);
    atomicMax(&out->maxAbsBits, maxBits);
  }
}

// srcScale: the fp8 source's scale to read logical values, or nullptr to read what is
// stored (stats() of an fp8 tensor describes its stored, scaled values, as the CPU).
void runStats(CudaBackend& b, const Tensor& src, const float* srcScale, bool round, Precision pout,
              const float* dstScale, TensorStats& out) {
  std::shared_ptr<void> buffer = b.allocate(sizeof(DeviceStats));
  auto* d = static_cast<DeviceStats*>(buffer.get());
  PLAB_CUDA(cudaMemsetAsync(d, 0, sizeof(DeviceStats), b.stream()));
  const std::int64_t n = src.numel();
  int blocks = blocksFor(n);
  const int cap = b.context().properties.multiProcessorCount * 4;
  if (blocks > cap) blocks = cap;
  statsKernel<<<blocks, kThreads, 0, b.stream()>>>(src.precision(), src.data(), srcScale, round, pout, dstScale,
                                                   n, d);
  PLAB_CUDA_LAUNCHED("statsKernel");
  DeviceStats h{};
  PLAB_CUDA(cudaMemcpyAsync(&h, d, sizeof h, cudaMemcpyDeviceToHost, b.stream()));
  PLAB_CUDA(cudaStreamSynchronize(b.stream()));
  out = TensorStats{};
  out.count = n;
  out.zeros = static_cast<std::int64_t>(h.zeros);
  out.underflows = static_cast<std::int64_t>(h.underflows);
  out.overflows = static_cast<std::int64_t>(h.overflows);
  out.nonFinite = static_cast<std::int64_t>(h.nonFinite);
  std::memcpy(&out.maxAbs, &h.maxAbsBits, sizeof(float));
  for (int i = 0; i < kLog2HistBins; ++i) out.log2Hist[i] = static_cast<std::int64_t>(h.log2Hist[i]);
}

}  // namespace

void CudaBackend::stats(const Tensor& t, TensorStats& out) {
  PLAB_BACKEND_CALL("stats");
  runStats(*this, t, nullptr, false, t.precision(), nullptr, out);
}

void CudaBackend::convertStats(const Tensor& src, const Tensor& dst, TensorStats& out) {
  runStats(*this, src, src.scale(), true, dst.precision(), dst.scale(), out);
}

}  // namespace plab::cuda
