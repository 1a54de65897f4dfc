// Conformance cases: SGD / Adam / AdamW steps (master weights on and off, clipping,
// a skipped step), against an fp32 reference written from PyTorch's formulas in the
// same operation order, so the CPU backend must match it bit for bit.
#include <cmath>
#include <limits>

#include "backend/conformance_suite.h"
#include "numerics/convert.h"

namespace plab::conformance {

namespace {

struct Variant {
  const char* name;
  OptimizerHyper hyper;
  bool master;
  bool clip;
};

std::vector<Variant> variants() {
  OptimizerHyper sgd;
  sgd.kind = OptimizerKind::sgd;
  sgd.lr = 0.05f;
  sgd.momentum = 0.9f;
  sgd.weightDecay = 1e-3f;
  OptimizerHyper nesterov = sgd;
  nesterov.nesterov = true;
  OptimizerHyper adam;
  adam.weightDecay = 1e-2f;
  adam.lr = 1e-2f;
  OptimizerHyper adamw = adam;
  adamw.kind = OptimizerKind::adamw;
  return {{"sgd momentum", sgd, true, false},   {"sgd nesterov", nesterov, false, false},
          {"adam", adam, true, false},          {"adam", adam, false, false},
          {"adamw", adamw, true, false},        {"adamw", adamw, false, false},
          {"adamw clipped", adamw, true, true}, {"sgd momentum", sgd, false, false}};
}

// One parameter on the host: weights (fp32 values the optimizer updates), states.
struct HostParam {
  std::vector<float> w, m, v;
};

void referenceStep(const OptimizerHyper& h, std::int64_t t, const std::vector<float>& g, HostParam& p) {
  const float b1w = 1.0f - h.beta1, b2w = 1.0f - h.beta2;
  const float stepSize = static_cast<float>(h.lr / (1.0 - std::pow(double(h.beta1), double(t))));
  const float bc2Sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(double(h.beta2), double(t))));
  const float decay = static_cast<float>(1.0 - double(h.lr) * h.weightDecay);
  for (std::size_t i = 0; i < g.size(); ++i) {
    float d = g[i];
    float& w = p.w[i];
    if (h.kind == OptimizerKind::sgd) {
      if (h.weightDecay != 0.0f) d = d + h.weightDecay * w;
      p.m[i] = p.m[i] * h.momentum + d;
      d = h.nesterov ? d + h.momentum * p.m[i] : p.m[i];
      w = w + (-h.lr) * d;
      continue;
    }
    if (h.kind == OptimizerKind::adamw) w = w * decay;
    else if (h.weightDecay != 0.0f) d = d + h.weightDecay * w;
    p.m[i] = p.m[i] + b1w * (d - p.m[i]);
    p.v[i] = p.v[i] * h.beta2 + b2w * d * d;
    const float denom = std::sqrt(p.v[i]) / bc2Sqrt + h.eps;
    w = w + (-stepSize) * (p.m[i] / denom);
  }
}

std::vector<double> asDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

void optimizerCase(Suite& s, Precision p, const Variant& variant) {
  const std::string op = std::string("optimizer ") + variant.name + (variant.master ? " (master)" : " (no master)");
  const Shape shape{40, 30};
  const float lossScale = 256.0f;
  s.run(op, p, shape.toString() + ", 2 steps", [&] {
    LossScaleRule rule;
    rule.mode = LossScaleMode::fixed;
    rule.initScale = lossScale;
    auto state = s.backend.createStepState(rule, 1);
    ParamSlot slot;
    slot.name = "conformance.weight";
    std::vector<double> w0, g0;
    slot.working = s.input(shape, p, w0);
    if (variant.master) {
      slot.master = s.backend.empty(shape, Precision::fp32);
      const std::vector<float> w0f(w0.begin(), w0.end());
      s.backend.upload(w0f.data(), slot.master);
    }
    slot.state1 = s.backend.zeros(shape, Precision::fp32);
    if (variant.hyper.kind != OptimizerKind::sgd) slot.state2 = s.backend.zeros(shape, Precision::fp32);
    HostParam host{std::vector<float>(w0.begin(), w0.end()), std::vector<float>(w0.size(), 0.0f),
                   std::vector<float>(w0.size(), 0.0f)};
    OptimizerHyper hyper = variant.hyper;
    for (int step = 1; step <= 2; ++step) {
      std::vector<double> g;
      slot.grad = s.input(shape, p, g);
      const std::vector<Tensor> grads{slot.grad};
      s.backend.checkGradients(grads, *state);
      // The reference's unscaled gradient: grad * (1/S) [* clip coefficient].
      double squares = 0;
      for (double x : g) squares += x * x;
      const float norm = static_cast<float>(std::sqrt(squares) / lossScale);
      if (variant.clip) hyper.clipNorm = 0.5f * norm;
      const float invScale = static_cast<float>(1.0 / double(lossScale));
      const float coef = static_cast<float>(double(hyper.clipNorm) / (double(norm) + 1e-6));
      std::vector<float> unscaled(g.size());
      for (std::size_t i = 0; i < g.size(); ++i) {
        unscaled[i] = static_cast<float>(g[i]) * invScale;
        if (variant.clip) unscaled[i] *= coef;
      }
      std::span<ParamSlot> slots(&slot, 1);
      s.backend.optimizerStep(hyper, slots, *state);
      s.backend.updateLossScale(*state, step);
      referenceStep(hyper, step, unscaled, host);
      // Without master weights the weights live only in the working format.
      if (!variant.master) {
        const float scale = s.backend.fp8Scale(slot.working);
        for (float& w : host.w) w = static_cast<float>(roundRef(p, w, scale));
      }
    }
    // Clipping reads a norm summed in another order: allow one ulp there.
    const Tolerance tol = variant.clip ? Tolerance::inUlps(1) : s.fp32Math();
    s.check(op + " working", shape.toString(), slot.working, asDouble(host.w), nullptr, tol);
    if (variant.master) s.checkRounded(op + " master", shape.toString(), slot.master, asDouble(host.w), tol);
    s.checkRounded(op + " state1", shape.toString(), slot.state1, asDouble(host.m), tol);
    if (slot.state2.defined()) s.checkRounded(op + " state2", shape.toString(), slot.state2, asDouble(host.v), tol);
  });
}

// A NaN in one gradient: every parameter is left as it was and the step is recorded skipped.
void skippedStepCase(Suite& s, Precision p) {
  s.run("optimizer skips step on overflow", p, "3 params [8, 5]", [&] {
    auto state = s.backend.createStepState(LossScaleRule{}, 3);
    std::vector<ParamSlot> params(3);
    std::vector<std::vector<double>> before(3);
    std::vector<Tensor> grads;
    for (int i = 0; i < 3; ++i) {
      std::vector<double> g;
      params[i].working = s.input({8, 5}, p, before[i]);
      params[i].grad = s.input({8, 5}, p, g);
      params[i].state1 = s.backend.zeros({8, 5}, Precision::fp32);
      params[i].state2 = s.backend.zeros({8, 5}, Precision::fp32);
      grads.push_back(params[i].grad);
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> g1 = s.read(params[1].grad);
    g1[7] = nan;
    s.backend.upload(g1.data(), params[1].grad);
    s.backend.checkGradients(grads, *state);
    s.backend.optimizerStep(OptimizerHyper{}, params, *state);
    s.backend.updateLossScale(*state, 1);
    const auto records = s.backend.drainStepRecords(*state);
    for (int i = 0; i < 3; ++i) s.checkRounded("optimizer skipped: weights unchanged", "[8, 5]", params[i].working,
                                               before[i], Tolerance::exact());
    std::vector<float> got;
    if (records.size() == 1) {
      const auto& r = records[0];
      got = {float(r.overflow), float(r.skipped), r.gradOverflow.size() == 3 ? float(r.gradOverflow[0]) : -1,
             r.gradOverflow.size() == 3 ? float(r.gradOverflow[1]) : -1,
             r.gradOverflow.size() == 3 ? float(r.gradOverflow[2]) : -1, r.nextLossScale};
    }
    const std::vector<double> want{1, 1, 0, 1, 0, 32768.0};
    auto r = compare({"optimizer skipped: [overflow, skipped, flags x3, next scale]", "3 params", Precision::fp32, 1.0f,
                      &got, &want, nullptr},
                     Tolerance::exact());
    r.format = std::string(toString(p));
    s.results.push_back(r);
  });
}

}  // namespace

void runOptimizerCases(Suite& s) {
  for (Precision p : kScalarPrecisions) {
    for (const Variant& v : variants()) optimizerCase(s, p, v);
    skippedStepCase(s, p);
  }
}

}  // namespace plab::conformance
