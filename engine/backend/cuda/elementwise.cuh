#pragma once
// What elementwise kernels are handed: a tensor as (data, format, fp8 scale, amax),
// and two ways to read and write it: Fixed<P> when every tensor of the op has format P
// (the usual case, compiled per format), Any when they differ (format read per launch).
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/dispatch.cuh"
#include "backend/cuda/formats.cuh"

namespace plab::cuda {

struct TensorArg {
  void* data;
  const float* scale;
  float* amax;
  Precision precision;
};
inline TensorArg arg(const Tensor& t) { return {t.data(), t.scale(), t.amax(), t.precision()}; }

template <Precision P> struct FixedIO {
  static __device__ __forceinline__ float load(const TensorArg& t, std::int64_t i, float s) {
    return Fmt<P>::load(static_cast<const typename Fmt<P>::T*>(t.data), i, s);
  }
  static __device__ __forceinline__ void store(const TensorArg& t, std::int64_t i, float v, float s) {
    Fmt<P>::store(static_cast<typename Fmt<P>::T*>(t.data), i, v, s);
  }
};
struct AnyIO {
  static __device__ __forceinline__ float load(const TensorArg& t, std::int64_t i, float s) {
    return loadAny(t.precision, t.data, i, s);
  }
  static __device__ __forceinline__ void store(const TensorArg& t, std::int64_t i, float v, float s) {
    storeAny(t.precision, t.data, i, v, s);
  }
};

// Calls launch(io) with FixedIO<P> when all the given tensors share format P, else AnyIO.
template <class F> void dispatchIO(std::initializer_list<const Tensor*> tensors, F&& launch) {
  const Precision p = (*tensors.begin())->precision();
  bool same = true;
  for (const Tensor* t : tensors) same = same && t->precision() == p;
  if (!same) {
    launch(AnyIO{});
    return;
  }
  dispatchPrecision(p, [&](auto tag) { launch(FixedIO<decltype(tag)::value>{}); });
}

// For grid-stride loops.
#define PLAB_GRID_LOOP(i, n)                                                           \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += std::int64_t(gridDim.x) * blockDim.x)

inline void requireSameSize(const char* op, const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel())
    throwShapeError(op, a.shape().toString() + " and " + b.shape().toString() + " differ in size");
}

}  // namespace plab::cuda
