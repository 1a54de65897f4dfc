// CpuBackend: SGD (momentum, Nesterov, weight decay), Adam and AdamW, exactly as
// PyTorch's single-tensor implementations compute them, on unscaled gradients.
//
// Per step: skip everything if checkGradients found inf/NaN. Otherwise
// g = grad (logical) * (1 / S) [* clip coefficient], as GradScaler.unscale_ and
// clip_grad_norm_ do; the fp32 master copy is updated and rounded into the working
// copy, or (master weights off) the update is computed in fp32 from the working
// value and rounded back into the working format: to nearest, so updates below half an
// ulp vanish, or stochastically (ParamSlot::rounding), so that they survive on average.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_step_state.h"
#include "backend/stochastic_array.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

// The scalars of one step, computed once in double as PyTorch's Python code does.
struct StepScalars {
  float invLossScale = 1;   // 1 / S
  float clipCoef = 1;       // min(1, maxNorm / (norm + 1e-6)); 1 when not clipping
  bool clipping = false;
  float adamStepSize = 0;   // lr / (1 - beta1^t)
  float adamBc2Sqrt = 1;    // sqrt(1 - beta2^t)
  float decoupledDecay = 1; // AdamW: 1 - lr * wd
};

StepScalars stepScalars(const OptimizerHyper& h, const CpuStepState& st) {
  StepScalars s;
  s.invLossScale = static_cast<float>(1.0 / static_cast<double>(st.scale()));
  if (h.clipNorm > 0) {
    const double coef = static_cast<double>(h.clipNorm) / (static_cast<double>(st.gradNorm) + 1e-6);
    if (coef < 1.0) {
      s.clipping = true;
      s.clipCoef = static_cast<float>(coef);
    }
  }
  const double t = static_cast<double>(st.optimizerSteps);
  s.adamStepSize = static_cast<float>(h.lr / (1.0 - std::pow(static_cast<double>(h.beta1), t)));
  s.adamBc2Sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(h.beta2), t)));
  s.decoupledDecay = static_cast<float>(1.0 - static_cast<double>(h.lr) * h.weightDecay);
  return s;
}

// How to read the unscaled gradient of element i: grad (fp8: / its scale) * (1/S)
// [* clip], the same operations in the same order as the conformance reference.
struct GradientReader {
  const float* v;
  float fp8Scale;
  bool fp8;
  float invLossScale, clipCoef;
  bool clipping;
  float operator()(std::int64_t i) const {
    float g = fp8 ? v[i] / fp8Scale : v[i];
    g *= invLossScale;
    if (clipping) g *= clipCoef;
    return g;
  }
};

GradientReader gradientReader(const Tensor& grad, const StepScalars& s) {
  return {slots(grad), grad.scale() ? *grad.scale() : 1.0f, grad.scale() != nullptr, s.invLossScale, s.clipCoef,
          s.clipping};
}

template <bool Momentum, bool Nesterov, bool Decay>
void sgdLoop(const OptimizerHyper& h, float* w, const GradientReader& grad, float* buf, std::int64_t n) {
  const float lr = h.lr, wd = h.weightDecay, mom = h.momentum;
  for (std::int64_t i = 0; i < n; ++i) {
    float d = grad(i);
    if constexpr (Decay) d = d + wd * w[i];
    if constexpr (Momentum) {
      buf[i] = buf[i] * mom + d;  // dampening 0; a zero buffer makes the first step buf = g
      d = Nesterov ? d + mom * buf[i] : buf[i];
    }
    w[i] = w[i] + (-lr) * d;
  }
}

void sgdUpdate(const OptimizerHyper& h, float* w, const GradientReader& g, float* buf, std::int64_t n) {
  const bool decay = h.weightDecay != 0.0f;
  if (h.momentum == 0.0f) {
    decay ? sgdLoop<false, false, true>(h, w, g, buf, n) : sgdLoop<false, false, false>(h, w, g, buf, n);
  } else if (h.nesterov) {
    decay ? sgdLoop<true, true, true>(h, w, g, buf, n) : sgdLoop<true, true, false>(h, w, g, buf, n);
  } else {
    decay ? sgdLoop<true, false, true>(h, w, g, buf, n) : sgdLoop<true, false, false>(h, w, g, buf, n);
  }
}

// Decay: 0 none, 1 L2 added to the gradient (Adam), 2 decoupled (AdamW).
template <int Decay>
void adamLoop(const OptimizerHyper& h, const StepScalars& s, float* w, const GradientReader& grad, float* m, float* v,
              std::int64_t n) {
  const float b1w = 1.0f - h.beta1, b2 = h.beta2, b2w = 1.0f - h.beta2, eps = h.eps, wd = h.weightDecay;
  const float decay = s.decoupledDecay, bc2Sqrt = s.adamBc2Sqrt, negStep = -s.adamStepSize;
  for (std::int64_t i = 0; i < n; ++i) {
    float d = grad(i);
    if constexpr (Decay == 2) w[i] = w[i] * decay;
    if constexpr (Decay == 1) d = d + wd * w[i];
    m[i] = m[i] + b1w * (d - m[i]);  // torch.lerp with weight 1 - beta1 < 0.5
    v[i] = v[i] * b2 + b2w * d * d;
    const float denom = std::sqrt(v[i]) / bc2Sqrt + eps;
    w[i] = w[i] + negStep * (m[i] / denom);
  }
}

void adamUpdate(const OptimizerHyper& h, const StepScalars& s, float* w, const GradientReader& g, float* m, float* v,
                std::int64_t n) {
  if (h.kind == OptimizerKind::adamw) adamLoop<2>(h, s, w, g, m, v, n);
  else if (h.weightDecay != 0.0f) adamLoop<1>(h, s, w, g, m, v, n);
  else adamLoop<0>(h, s, w, g, m, v, n);
}

void requireSlot(const ParamSlot& p, const OptimizerHyper& h) {
  const char* op = "optimizerStep";
  const auto n = p.working.numel();
  requireNumel(op, (p.name + ".grad").c_str(), p.grad, n);
  if (p.master.defined()) {
    requireNumel(op, (p.name + ".master").c_str(), p.master, n);
    if (p.master.precision() != Precision::fp32) fail(op, p.name + ".master is not fp32");
  }
  const bool needs1 = h.kind != OptimizerKind::sgd || h.momentum != 0.0f;
  if (needs1) requireNumel(op, (p.name + ".state1").c_str(), p.state1, n);
  if (h.kind != OptimizerKind::sgd) requireNumel(op, (p.name + ".state2").c_str(), p.state2, n);
}

}  // namespace

void CpuBackend::optimizerStep(const OptimizerHyper& hyper, std::span<ParamSlot> params, StepState& state) {
  auto& st = cpuState(state, "optimizerStep");
  if (!st.checked) fail("optimizerStep", "checkGradients must run before optimizerStep in each step");
  if (st.overflow) {
    st.skipped = true;  // GradScaler semantics: the whole update is skipped
    return;
  }
  for (const ParamSlot& p : params) requireSlot(p, hyper);
  st.optimizerSteps += 1;
  const StepScalars s = stepScalars(hyper, st);
  for (ParamSlot& p : params) {
    const auto n = p.working.numel();
    const auto count = static_cast<std::size_t>(n);
    const GradientReader g = gradientReader(p.grad, s);
    const bool hasMaster = p.master.defined();
    const bool fp8Working = isFp8(p.working.precision());
    // The fp32 values the optimizer updates: the master copy, or the working values.
    float* w = hasMaster ? slots(p.master) : slots(p.working);
    if (!hasMaster && fp8Working) w = const_cast<float*>(logicalValues(p.working, scratch(1, count)));
    float* s1 = p.state1.defined() ? slots(p.state1) : nullptr;
    float* s2 = p.state2.defined() ? slots(p.state2) : nullptr;
    if (hyper.kind == OptimizerKind::sgd) sgdUpdate(hyper, w, g, s1, n);
    else adamUpdate(hyper, s, w, g, s1, s2, n);
    // One rounding of the new fp32 weights into the working format.
    float* out = slots(p.working);
    if (!hasMaster && p.rounding == Rounding::stochastic) {
      // Stochastic rounding of the update (backend.h, ParamSlot::rounding).
      if (fp8Working) fail("optimizerStep", p.name + ": stochastic rounding into fp8 is not supported");
      roundStochasticArray(p.working.precision(), w, out, count, counterStream(p.roundingSeed, std::uint64_t(st.optimizerSteps)));
    } else if (w == out) {
      finishOutput(p.working);
    } else if (!fp8Working) {
      roundArray(p.working.precision(), w, out, count);  // fused copy + rounding (fp32: a copy)
    } else {
      std::memcpy(out, w, count * sizeof(float));
      finishOutput(p.working);
    }
  }
}

}  // namespace plab
