#pragma once
// Turns a run-time Precision into a compile-time one for kernel templates:
//   dispatchPrecision(p, [&](auto tag) { constexpr Precision P = decltype(tag)::value; ... });
#include <stdexcept>
#include <string>
#include <type_traits>

#include "numerics/precision.h"

namespace plab::cuda {

template <Precision P> using PrecisionTag = std::integral_constant<Precision, P>;

template <class F> void dispatchPrecision(Precision p, F&& f) {
  switch (p) {
    case Precision::fp32: f(PrecisionTag<Precision::fp32>{}); return;
    case Precision::tf32: f(PrecisionTag<Precision::tf32>{}); return;
    case Precision::fp16: f(PrecisionTag<Precision::fp16>{}); return;
    case Precision::bf16: f(PrecisionTag<Precision::bf16>{}); return;
    case Precision::fp8_e4m3: f(PrecisionTag<Precision::fp8_e4m3>{}); return;
    case Precision::fp8_e5m2: f(PrecisionTag<Precision::fp8_e5m2>{}); return;
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("CUDA backend, dispatchPrecision", p);
  }
  throwUnknownPrecision("CUDA backend, dispatchPrecision", p);
}

// Reads an fp8 tensor's scale on the device (1 for other formats).
__device__ __forceinline__ float scaleValue(const float* scale) { return scale ? *scale : 1.0f; }

}  // namespace plab::cuda
