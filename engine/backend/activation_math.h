#pragma once
// The scalar formulas of the activations, in fp32, shared by the CPU backend, the
// conformance reference and (it includes this header) the CUDA kernels, so that
// every backend computes the same fp32 value before its one rounding.
// GELU is the exact erf form 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default), not
// the tanh approximation. tanh' and sigmoid' use the forward output y as given.
#include <math.h>

#include "backend/counter_rng.h"  // PLAB_HOST_DEVICE

namespace plab::act {

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;

PLAB_HOST_DEVICE inline float relu(float x) { return x < 0.0f ? 0.0f : x; }  // NaN passes through
PLAB_HOST_DEVICE inline float reluGrad(float x, float dy) { return x > 0.0f ? dy : 0.0f; }
PLAB_HOST_DEVICE inline float leakyRelu(float x, float slope) { return x < 0.0f ? slope * x : x; }
PLAB_HOST_DEVICE inline float leakyReluGrad(float x, float slope, float dy) { return x > 0.0f ? dy : slope * dy; }
PLAB_HOST_DEVICE inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * kInvSqrt2)); }
PLAB_HOST_DEVICE inline float geluGrad(float x, float dy) {
  const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
  const float pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
  return dy * (cdf + x * pdf);
}
PLAB_HOST_DEVICE inline float tanhForward(float x) { return tanhf(x); }
PLAB_HOST_DEVICE inline float tanhGrad(float y, float dy) { return dy * (1.0f - y * y); }
PLAB_HOST_DEVICE inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
PLAB_HOST_DEVICE inline float sigmoidGrad(float y, float dy) { return dy * y * (1.0f - y); }

// Inverted dropout: kept values are multiplied by keepScale = 1 / (1 - p) (in fp32).
PLAB_HOST_DEVICE inline float dropoutKeepScale(float p) { return p >= 1.0f ? 0.0f : 1.0f / (1.0f - p); }

}  // namespace plab::act
