// Fused SGD / Adam / AdamW over every parameter in one launch: unscale (1/S), clip to
// the global norm, update the fp32 master weights (or, with master weights off, the
// working copy itself) and write the rounded working copy, all in one pass. The
// overflow flag and the scale are read on the device: a skipped step costs no sync.
#include <cmath>

#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/multi_tensor.h"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

struct ParamDesc {
  void* working;
  float* master;          // nullptr: master weights off
  const void* grad;
  float* state1;
  float* state2;
  const float* workingScale;
  float* workingAmax;
  const float* gradScale;
  long long n;
  Precision workingPrecision, gradPrecision;
};

struct Hyper {
  OptimizerKind kind;
  float lr, momentum, beta1, beta2, eps, weightDecay, clipNorm;
  bool nesterov;
};

// The scalars of one step, as the CPU backend computes them (in double, as PyTorch's
// Python code does): 1/S, the clip coefficient, Adam's bias corrections.
struct StepScalars {
  float invLossScale, clipCoef, adamStepSize, adamBc2Sqrt, decoupledDecay;
  bool clipping;
};

__device__ StepScalars stepScalars(const Hyper& h, const DeviceScaleState* state, const StepSlot* slot) {
  StepScalars s{};
  const double scale = static_cast<double>(state->counters.scale);
  s.invLossScale = static_cast<float>(1.0 / scale);
  s.clipCoef = 1.0f;
  s.clipping = false;
  if (h.clipNorm > 0.0f) {
    const float gradNorm = static_cast<float>(sqrt(slot->sumSquares) / scale);
    const double coef = static_cast<double>(h.clipNorm) / (static_cast<double>(gradNorm) + 1e-6);
    if (coef < 1.0) {
      s.clipping = true;
      s.clipCoef = static_cast<float>(coef);
    }
  }
  const double t = static_cast<double>(state->optimizerSteps + 1);  // this step, counted once not skipped
  s.adamStepSize = static_cast<float>(h.lr / (1.0 - pow(static_cast<double>(h.beta1), t)));
  s.adamBc2Sqrt = static_cast<float>(sqrt(1.0 - pow(static_cast<double>(h.beta2), t)));
  s.decoupledDecay = static_cast<float>(1.0 - static_cast<double>(h.lr) * h.weightDecay);
  return s;
}

// One element's update, written operation for operation as the CPU backend's loops
// (this file is compiled without FMA contraction, so the roundings agree).
__device__ __forceinline__ float updated(const Hyper& h, const StepScalars& s, float w, float g, float* s1,
                                         float* s2, long long i) {
  if (h.kind == OptimizerKind::sgd) {
    float d = g;
    if (h.weightDecay != 0.0f) d = d + h.weightDecay * w;
    if (h.momentum != 0.0f) {
      const float buf = s1[i] * h.momentum + d;  // dampening 0; a zero buffer makes the first step buf = g
      s1[i] = buf;
      d = h.nesterov ? d + h.momentum * buf : buf;
    }
    return w + (-h.lr) * d;
  }
  float d = g;
  if (h.kind == OptimizerKind::adamw) w = w * s.decoupledDecay;
  else if (h.weightDecay != 0.0f) d = d + h.weightDecay * w;
  const float m = s1[i] + (1.0f - h.beta1) * (d - s1[i]);  // torch.lerp with weight 1 - beta1
  const float v = s2[i] * h.beta2 + (1.0f - h.beta2) * d * d;
  s1[i] = m;
  s2[i] = v;
  const float denom = sqrtf(v) / s.adamBc2Sqrt + h.eps;
  return w + (-s.adamStepSize) * (m / denom);
}

// The learning rate comes from `inputs` when given (a replayed capture), else from h.
__global__ void optimizerKernel(const void* table, int tensorCount, Hyper hyper, const DeviceScaleState* state,
                                SlotRing ring, const StepInputs* inputs) {
  const StepSlot* slot = ring.at(state->head);
  if (slot->overflow) return;  // the step is skipped; nothing changes
  Hyper h = hyper;
  if (inputs) h.lr = inputs->lr;
  const auto* descs = static_cast<const ParamDesc*>(table);
  const auto* chunks = reinterpret_cast<const Chunk*>(static_cast<const char*>(table) + chunkOffset<ParamDesc>(tensorCount));
  const Chunk ch = chunks[blockIdx.x];
  const ParamDesc d = descs[ch.tensor];
  const StepScalars s = stepScalars(h, state, slot);
  const float sw = scaleValue(d.workingScale), sg = scaleValue(d.gradScale);
  float localMax = 0.0f;
  for (long long i = ch.begin + threadIdx.x; i < ch.end; i += blockDim.x) {
    float g = loadAny(d.gradPrecision, d.grad, i, sg) * s.invLossScale;
    if (s.clipping) g *= s.clipCoef;
    const float w = d.master ? d.master[i] : loadAny(d.workingPrecision, d.working, i, sw);
    const float next = updated(h, s, w, g, d.state1, d.state2, i);
    if (d.master) d.master[i] = next;
    localMax = fmaxf(localMax, fabsf(next));
    storeAny(d.workingPrecision, d.working, i, next, sw);
  }
  if (d.workingAmax) reportAmax(d.workingAmax, localMax);
}

}  // namespace

void CudaBackend::optimizerStep(const OptimizerHyper& hyper, std::span<ParamSlot> params, StepState& state) {
  PLAB_BACKEND_CALL("optimizerStep");
  CudaStepState& st = asCudaState(state);
  std::vector<const void*> key;
  std::vector<ParamDesc> descs;
  std::vector<long long> sizes;
  const bool adam = hyper.kind != OptimizerKind::sgd;
  for (ParamSlot& p : params) {
    if (p.grad.numel() != p.working.numel() || (p.master.defined() && p.master.numel() != p.working.numel()))
      throwShapeError("optimizerStep", p.name + ": working, master and gradient differ in size");
    if ((adam || hyper.momentum != 0.0f) && !p.state1.defined())
      throwShapeError("optimizerStep", p.name + ": the optimizer state tensor state1 is undefined");
    if (adam && !p.state2.defined())
      throwShapeError("optimizerStep", p.name + ": Adam needs state2 (second moment)");
    if (!p.master.defined() && p.rounding == Rounding::stochastic) {
      std::string whyNot;
      supportsStochasticRounding(whyNot);
      throw std::invalid_argument("optimizerStep: " + p.name + ": " + whyNot);
    }
    ParamDesc d{p.working.data(), p.master.defined() ? p.master.dataAs<float>() : nullptr, p.grad.data(),
                p.state1.defined() ? p.state1.dataAs<float>() : nullptr,
                p.state2.defined() ? p.state2.dataAs<float>() : nullptr, p.working.scale(), p.working.amax(),
                p.grad.scale(), p.working.numel(), p.working.precision(), p.grad.precision()};
    for (const void* ptr : {static_cast<const void*>(d.working), static_cast<const void*>(d.master), d.grad,
                            static_cast<const void*>(d.state1), static_cast<const void*>(d.state2)})
      key.push_back(ptr);
    key.push_back(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(
        d.n * 64 + static_cast<int>(d.workingPrecision) * 8 + static_cast<int>(d.gradPrecision))));
    descs.push_back(d);
    sizes.push_back(d.n);
  }
  MultiTensorTable& cache = table(1);
  const void* t = multiTensorTable(*this, cache, key, descs, sizes);
  st.optimizerCalled = true;
  if (cache.chunkCount == 0) return;
  Hyper h{hyper.kind, hyper.lr, hyper.momentum, hyper.beta1, hyper.beta2, hyper.eps, hyper.weightDecay,
          hyper.clipNorm, hyper.nesterov};
  optimizerKernel<<<cache.chunkCount, kThreads, 0, stream()>>>(t, cache.tensorCount, h, st.scale(), st.ring(),
                                                               capturedInputs());
  PLAB_CUDA_LAUNCHED("optimizerKernel");
}

}  // namespace plab::cuda
