// Activations, their gradients and dropout: fp32 math, one rounding into the output's
// format. The formulas are the CPU backend's own (core/activations.h: exact erf
// GELU, with erf, exp and tanh evaluated in double and rounded once; tanh' and
// sigmoid' from the stored y), and dropout draws its mask from the same counter-based
// hash (backend/counter_rng.h), so both backends drop the same elements.
#include "backend/counter_rng.h"
#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

template <class IO>
__global__ void activationForwardKernel(Activation a, float param, TensorArg x, TensorArg y, std::int64_t n) {
  const float sx = scaleValue(x.scale), sy = scaleValue(y.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float v = act::forward(a, IO::load(x, i, sx), param);
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
    const float v = act::grad(a, IO::load(source, i, ss), IO::load(dy, i, sdy), param);
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
  const float keepScale = dropoutKeepScale(p);
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
        dropoutKeepScale(p), arg(dyl), mask.dataAs<float>(), arg(dx), dx.numel());
  });
  PLAB_CUDA_LAUNCHED("dropoutBackwardKernel");
}

void CudaBackend::activationForward(Activation a, float param, const Tensor& x, Tensor& y) {
  PLAB_BACKEND_CALL("activationForward");
  visitActivation(a, [](auto) {});  // a value outside the list throws here, not in the kernel
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
  const bool usesOutput = gradFromOutput(a);  // throws on a value outside the list
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
