// Activations, their gradients and dropout: fp32 math, one rounding into the output's
// format. The formulas are the CPU backend's own (backend/activation_math.h: exact erf
// GELU; tanh' and sigmoid' from the stored y), and dropout draws its mask from the
// same counter-based hash (backend/counter_rng.h), so both backends drop the same
// elements.
#include "backend/activation_math.h"
#include "backend/counter_rng.h"
#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

// The formulas of backend/activation_math.h, with erf, exp and tanh evaluated in
// double and rounded once to fp32: CUDA's fp32 erff/expf/tanhf may differ from the
// host's libm by an ulp or two, and GELU's 1 + erf(x/sqrt 2) cancels for negative x,
// which would magnify that ulp into hundreds. Rounded double results agree with an
// accurate host libm wherever it is correctly rounded.
__device__ __forceinline__ float erfAccurate(float a) { return static_cast<float>(erf(static_cast<double>(a))); }
__device__ __forceinline__ float expAccurate(float a) { return static_cast<float>(exp(static_cast<double>(a))); }
__device__ __forceinline__ float tanhAccurate(float a) { return static_cast<float>(tanh(static_cast<double>(a))); }

__device__ __forceinline__ float activate(Activation a, float param, float x) {
  switch (a) {
    case Activation::relu: return act::relu(x);
    case Activation::leaky_relu: return act::leakyRelu(x, param);
    case Activation::gelu: return 0.5f * x * (1.0f + erfAccurate(x * act::kInvSqrt2));
    case Activation::tanh: return tanhAccurate(x);
    default: return 1.0f / (1.0f + expAccurate(-x));
  }
}

// source is x, or y for tanh and sigmoid (their derivative uses the stored output).
__device__ __forceinline__ float derivative(Activation a, float param, float source, float dy) {
  switch (a) {
    case Activation::relu: return act::reluGrad(source, dy);
    case Activation::leaky_relu: return act::leakyReluGrad(source, param, dy);
    case Activation::gelu: {
      const float cdf = 0.5f * (1.0f + erfAccurate(source * act::kInvSqrt2));
      const float pdf = act::kInvSqrt2Pi * expAccurate(-0.5f * source * source);
      return dy * (cdf + source * pdf);
    }
    case Activation::tanh: return act::tanhGrad(source, dy);
    default: return act::sigmoidGrad(source, dy);
  }
}

template <class IO>
__global__ void activationForwardKernel(Activation a, float param, TensorArg x, TensorArg y, std::int64_t n) {
  const float sx = scaleValue(x.scale), sy = scaleValue(y.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float v = activate(a, param, IO::load(x, i, sx));
    localMax = fmaxf(localMax, fabsf(v));
    IO::store(y, i, v, sy);
  }
  if (y.amax) reportAmax(y.amax, localMax);
}

template <class IO>
__global__ void activationBackwardKernel(Activation a, float param, TensorArg source, TensorArg dy, TensorArg dx,
                                         std::int64_t n) {
  const float ss = scaleValue(source.scale), sdy = scaleValue(dy.scale), sdx = scaleValue(dx.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float v = derivative(a, param, IO::load(source, i, ss), IO::load(dy, i, sdy));
    localMax = fmaxf(localMax, fabsf(v));
    IO::store(dx, i, v, sdx);
  }
  if (dx.amax) reportAmax(dx.amax, localMax);
}

template <class IO>
// The mask's stream comes from (seed, inputs->step) when inputs is given (a replayed
// capture), else it is `stream`, drawn on the host from the same two numbers.
__global__ void dropoutForwardKernel(float p, std::uint64_t seed, std::uint64_t hostStream, const StepInputs* inputs,
                                     TensorArg x, TensorArg y, float* mask, std::int64_t n) {
  const std::uint64_t stream =
      inputs ? counterStream(seed, static_cast<std::uint64_t>(inputs->step)) : hostStream;
  const float sx = scaleValue(x.scale), sy = scaleValue(y.scale);
  const float keepScale = act::dropoutKeepScale(p);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float m = dropoutKeeps(stream, static_cast<std::uint64_t>(i), p) ? 1.0f : 0.0f;
    mask[i] = m;
    const float v = IO::load(x, i, sx) * m * keepScale;
    localMax = fmaxf(localMax, fabsf(v));
    IO::store(y, i, v, sy);
  }
  if (y.amax) reportAmax(y.amax, localMax);
}

template <class IO>
__global__ void dropoutBackwardKernel(float keepScale, TensorArg dy, const float* mask, TensorArg dx, std::int64_t n) {
  const float sdy = scaleValue(dy.scale), sdx = scaleValue(dx.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float v = IO::load(dy, i, sdy) * mask[i] * keepScale;
    localMax = fmaxf(localMax, fabsf(v));
    IO::store(dx, i, v, sdx);
  }
  if (dx.amax) reportAmax(dx.amax, localMax);
}

}  // namespace

void CudaBackend::dropoutForward(float p, std::uint64_t seed, std::uint64_t step, const Tensor& x, Tensor& y,
                                 Tensor& mask) {
  PLAB_BACKEND_CALL("dropoutForward");
  if (!(p >= 0.0f && p <= 1.0f)) throwShapeError("dropoutForward", "p = " + std::to_string(p) + " is outside [0, 1]");
  requireSameSize("dropoutForward", x, y);
  requireSameSize("dropoutForward", x, mask);
  if (mask.precision() != Precision::fp32) throwShapeError("dropoutForward", "mask must be fp32");
  // The mask is drawn per logical index, as on the CPU: a channels-last input is put
  // in logical order first (layout.cu).
  const Tensor xl = inLayout(x, MemoryLayout::nchw);
  y.setLayout(MemoryLayout::nchw);
  mask.setLayout(MemoryLayout::nchw);
  const std::uint64_t stream = counterStream(seed, step);
  dispatchIO({&xl, &y}, [&](auto io) {
    dropoutForwardKernel<decltype(io)><<<blocksFor(x.numel()), kThreads, 0, this->stream()>>>(
        p, seed, stream, capturedInputs(), arg(xl), arg(y), mask.dataAs<float>(), x.numel());
  });
  PLAB_CUDA_LAUNCHED("dropoutForwardKernel");
}

void CudaBackend::dropoutBackward(float p, const Tensor& dy, const Tensor& mask, Tensor& dx) {
  PLAB_BACKEND_CALL("dropoutBackward");
  requireSameSize("dropoutBackward", dy, dx);
  requireSameSize("dropoutBackward", dy, mask);
  const Tensor dyl = inLayout(dy, mask.layout());
  dx.setLayout(mask.layout());
  dispatchIO({&dyl, &dx}, [&](auto io) {
    dropoutBackwardKernel<decltype(io)><<<blocksFor(dx.numel()), kThreads, 0, stream()>>>(
        act::dropoutKeepScale(p), arg(dyl), mask.dataAs<float>(), arg(dx), dx.numel());
  });
  PLAB_CUDA_LAUNCHED("dropoutBackwardKernel");
}

void CudaBackend::activationForward(Activation a, float param, const Tensor& x, Tensor& y) {
  PLAB_BACKEND_CALL("activationForward");
  requireSameSize("activationForward", x, y);
  y.setLayout(x.layout());  // layout.cu: elementwise ops keep their input's layout
  dispatchIO({&x, &y}, [&](auto io) {
    activationForwardKernel<decltype(io)><<<blocksFor(x.numel()), kThreads, 0, stream()>>>(a, param, arg(x), arg(y),
                                                                                         x.numel());
  });
  PLAB_CUDA_LAUNCHED("activationForwardKernel");
}

void CudaBackend::activationBackward(Activation a, float param, const Tensor& x, const Tensor& y, const Tensor& dy,
                                     Tensor& dx) {
  PLAB_BACKEND_CALL("activationBackward");
  const bool usesOutput = a == Activation::tanh || a == Activation::sigmoid;
  const Tensor& source = usesOutput ? y : x;  // the other one may be undefined
  requireSameSize("activationBackward", source, dx);
  requireSameSize("activationBackward", dy, dx);
  const Tensor dyl = inLayout(dy, source.layout());  // layout.cu: dx follows the forward's tensors
  dx.setLayout(source.layout());
  dispatchIO({&source, &dyl, &dx}, [&](auto io) {
    activationBackwardKernel<decltype(io)><<<blocksFor(dx.numel()), kThreads, 0, stream()>>>(
        a, param, arg(source), arg(dyl), arg(dx), dx.numel());
  });
  PLAB_CUDA_LAUNCHED("activationBackwardKernel");
}

}  // namespace plab::cuda
