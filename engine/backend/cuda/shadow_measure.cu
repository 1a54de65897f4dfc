// CudaBackend::measureShadow (backend/shadow_measure.h; docs/architecture.md, "Shadow
// statistics"): the shadow pass's measure on the device, one pass over the shadow and
// the run's tensor, no copy of either to the host. Classification by the format's
// bounds (computed on the host by shadowBounds, equal to a round trip); counters and
// the histogram in shared memory per block, the sums of squares in double, reduced per
// warp by shuffles and per block in shared memory, one atomic per block and counter.
// Only the tally (about 1 KiB) comes back, copied into pinned host memory behind the
// kernel; synchronize() folds it into the caller's ShadowTally, so that the tensors of
// a statistics step cost one wait, not one each.
#include <cstdio>
#include <memory>
#include <vector>

#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/formats.cuh"

namespace plab::cuda {

struct DeviceShadowTally {
  unsigned long long zeros, underflows, overflows, precisionLoss;
  unsigned long long log2Hist[kLog2HistBins];
  double diffSquares, shadowSquares;
};

// One device tally and its pinned host copy per measureShadow since the last
// synchronize(); kept and reused, so a statistics step allocates nothing after the first.
struct CudaBackend::ShadowSlots {
  struct Slot {
    std::shared_ptr<void> device;
    std::shared_ptr<DeviceShadowTally> host;
  };
  struct Pending {
    ShadowTally* target = nullptr;
    std::int64_t count = 0;
    bool compared = false;
  };
  std::vector<Slot> slots;
  std::vector<Pending> pending;  // pending[i] reads slots[i]
};

namespace {

__device__ __forceinline__ double warpSum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

// real == nullptr: no relative error. realScale: the fp8 real tensor's scale slot (the
// values are classified as shadow * scale and real read as stored / scale), else nullptr.
__global__ void shadowMeasureKernel(const float* shadow, Precision realPrecision, const void* real,
                                    const float* realScale, ShadowBounds b, std::int64_t n,
                                    DeviceShadowTally* out) {
  __shared__ unsigned int hist[kLog2HistBins];
  __shared__ unsigned int zeros, under, over, loss;
  __shared__ double diffs[kThreads / 32], norms[kThreads / 32];
  for (int i = threadIdx.x; i < kLog2HistBins; i += blockDim.x) hist[i] = 0;
  if (threadIdx.x == 0) zeros = under = over = loss = 0;
  __syncthreads();
  const float scale = scaleValue(realScale);
  unsigned int myZeros = 0, myUnder = 0, myOver = 0, myLoss = 0;
  double myDiff = 0, myNorm = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const float v = shadow[i];
    if (real) {
      const double d = double(loadAny(realPrecision, real, i, scale)) - double(v);
      myDiff += d * d;
      myNorm += double(v) * double(v);
    }
    if (!isfinite(v)) {
      ++myOver;
      continue;
    }
    if (v == 0.0f) {
      ++myZeros;
      continue;
    }
    // Bins from the exponent field, as the host's (fp32 subnormals land in bin 0).
    int bin = int((__float_as_uint(v) >> 23) & 0xFFu) - 127 - kLog2HistMin;
    bin = bin < 0 ? 0 : (bin >= kLog2HistBins ? kLog2HistBins - 1 : bin);
    atomicAdd(&hist[bin], 1u);
    const float a = fabsf(v * scale);
    if (a <= b.underflowMax)
      ++myUnder;
    else if (a >= b.overflowFrom || a > b.saturateAbove)
      ++myOver;
    else if (a < b.precisionLossBelow)
      ++myLoss;
  }
  atomicAdd(&zeros, myZeros);
  atomicAdd(&under, myUnder);
  atomicAdd(&over, myOver);
  atomicAdd(&loss, myLoss);
  myDiff = warpSum(myDiff);
  myNorm = warpSum(myNorm);
  if ((threadIdx.x & 31) == 0) {
    diffs[threadIdx.x / 32] = myDiff;
    norms[threadIdx.x / 32] = myNorm;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kLog2HistBins; i += blockDim.x)
    if (hist[i]) atomicAdd(&out->log2Hist[i], static_cast<unsigned long long>(hist[i]));
  if (threadIdx.x == 0) {
    atomicAdd(&out->zeros, zeros);
    atomicAdd(&out->underflows, under);
    atomicAdd(&out->overflows, over);
    atomicAdd(&out->precisionLoss, loss);
    if (real) {
      double d = 0, q = 0;
      for (int w = 0; w < kThreads / 32; ++w) {
        d += diffs[w];
        q += norms[w];
      }
      atomicAdd(&out->diffSquares, d);
      atomicAdd(&out->shadowSquares, q);
    }
  }
}

}  // namespace

void CudaBackend::measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) {
  PLAB_BACKEND_CALL("measureShadow");
  if (!shadow.defined()) throwShapeError("measureShadow", "the shadow is undefined");
  if (shadow.precision() != Precision::fp32)
    throwShapeError("measureShadow", "the shadow is " + std::string(toString(shadow.precision())) + ", not fp32");
  if (real && !(real->shape() == shadow.shape()))
    throwShapeError("measureShadow", "real has shape " + real->shape().toString() + ", the shadow " +
                                         shadow.shape().toString());
  const ShadowBounds& bounds = shadowBounds(format);  // throws for a block-scaled format, before any work
  // Compare element by element in one memory order (a channels-last run tensor).
  Tensor ordered;
  if (real && real->layout() != shadow.layout()) ordered = inLayout(*real, shadow.layout());
  const Tensor* r = real ? (ordered.defined() ? &ordered : real) : nullptr;
  if (!shadowSlots_) shadowSlots_ = std::make_shared<ShadowSlots>();
  ShadowSlots& ss = *shadowSlots_;
  const std::size_t index = ss.pending.size();
  if (index == ss.slots.size()) {
    ShadowSlots::Slot slot;
    slot.device = allocate(sizeof(DeviceShadowTally));
    void* host = nullptr;
    PLAB_CUDA(cudaMallocHost(&host, sizeof(DeviceShadowTally)));
    slot.host = std::shared_ptr<DeviceShadowTally>(static_cast<DeviceShadowTally*>(host), [](DeviceShadowTally* p) {
      if (cudaFreeHost(p) != cudaSuccess) std::fprintf(stderr, "CUDA backend: cudaFreeHost failed\n");
    });
    ss.slots.push_back(std::move(slot));
  }
  auto* d = static_cast<DeviceShadowTally*>(ss.slots[index].device.get());
  PLAB_CUDA(cudaMemsetAsync(d, 0, sizeof(DeviceShadowTally), stream()));
  const std::int64_t n = shadow.numel();
  int blocks = blocksFor(n);
  const int cap = context().properties.multiProcessorCount * 4;
  if (blocks > cap) blocks = cap;
  const float* scale = r && isFp8(r->precision()) ? r->scale() : nullptr;
  shadowMeasureKernel<<<blocks, kThreads, 0, stream()>>>(shadow.dataAs<float>(), r ? r->precision() : Precision::fp32,
                                                         r ? r->data() : nullptr, scale, bounds, n, d);
  PLAB_CUDA_LAUNCHED("shadowMeasureKernel");
  PLAB_CUDA(cudaMemcpyAsync(ss.slots[index].host.get(), d, sizeof(DeviceShadowTally), cudaMemcpyDeviceToHost,
                            stream()));
  ss.pending.push_back({&tally, n, r != nullptr});
}

void CudaBackend::foldShadowTallies() {
  if (!shadowSlots_) return;
  ShadowSlots& ss = *shadowSlots_;
  for (std::size_t i = 0; i < ss.pending.size(); ++i) {
    const DeviceShadowTally& h = *ss.slots[i].host;
    ShadowTally& t = *ss.pending[i].target;
    t.count += ss.pending[i].count;
    t.zeros += std::int64_t(h.zeros);
    t.underflows += std::int64_t(h.underflows);
    t.overflows += std::int64_t(h.overflows);
    t.precisionLoss += std::int64_t(h.precisionLoss);
    for (int b = 0; b < kLog2HistBins; ++b) t.log2Hist[std::size_t(b)] += std::int64_t(h.log2Hist[b]);
    if (ss.pending[i].compared) {
      t.compared = true;
      t.diffSquares += h.diffSquares;
      t.shadowSquares += h.shadowSquares;
    }
  }
  ss.pending.clear();
}

}  // namespace plab::cuda
