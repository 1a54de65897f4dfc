// CpuBackend: the mixed-precision step: gradient check, loss scale, fp8 scales.
// The optimizers themselves are in cpu_optimizer.cpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_step_state.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace cpu {
CpuStepState& cpuState(StepState& s, const char* op) {
  auto* st = dynamic_cast<CpuStepState*>(&s);
  if (!st) fail(op, "the step state was not created by the CPU backend");
  return *st;
}
}  // namespace cpu

namespace {

// Sum of squares in eight double lanes (vectorisable, and no fp32 overflow for large
// finite values); inf or NaN anywhere makes the sum non-finite.
double sumOfSquares(const float* v, std::int64_t n) {
  double lanes[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += static_cast<double>(v[i + l]) * v[i + l];
  for (; i < n; ++i) lanes[0] += static_cast<double>(v[i]) * v[i];
  double s = 0;
  for (double l : lanes) s += l;
  return s;
}

}  // namespace

std::unique_ptr<StepState> CpuBackend::createStepState(const LossScaleRule& rule, int gradientCount) {
  if (gradientCount < 0) fail("createStepState", "negative gradient count " + std::to_string(gradientCount));
  auto st = std::make_unique<CpuStepState>();
  st->rule = rule;
  st->counters = initialCounters(rule);
  st->gradOverflow.assign(static_cast<std::size_t>(gradientCount), 0);
  return st;
}

void CpuBackend::checkGradients(std::span<const Tensor> grads, StepState& state) {
  auto& st = cpuState(state, "checkGradients");
  st.gradOverflow.assign(grads.size(), 0);
  st.overflow = false;
  double total = 0;
  for (std::size_t g = 0; g < grads.size(); ++g) {
    requireDefined("checkGradients", ("gradient " + std::to_string(g)).c_str(), grads[g]);
    const auto n = grads[g].numel();
    const float* v = logicalValues(grads[g], scratch(0, static_cast<std::size_t>(n)));
    const double s = sumOfSquares(v, n);
    // An fp8 gradient that overflowed is stored saturated (finite): its amax tells.
    if (!std::isfinite(s) || saturatedNonFinite(grads[g])) {
      st.gradOverflow[g] = 1;
      st.overflow = true;
    }
    total += s;
  }
  st.sumSquares = total;
  st.gradNorm = st.overflow ? std::numeric_limits<float>::infinity()
                            : static_cast<float>(std::sqrt(total) / static_cast<double>(st.scale()));
  st.checked = true;
}

void CpuBackend::updateLossScale(StepState& state, std::int64_t step) {
  auto& st = cpuState(state, "updateLossScale");
  StepRecord r;
  r.step = step;
  r.loss = st.loss;
  r.lossScale = st.scale();
  r.overflow = st.overflow;
  r.skipped = st.skipped;
  r.gradNorm = st.gradNorm;
  r.gradOverflow = st.gradOverflow;
  st.counters = nextCounters(st.rule, st.counters, st.overflow);
  r.nextLossScale = st.scale();
  st.records.push_back(std::move(r));
  st.overflow = false;
  st.skipped = false;
  st.checked = false;
  st.sumSquares = 0;
  std::fill(st.gradOverflow.begin(), st.gradOverflow.end(), 0);
}

std::vector<StepRecord> CpuBackend::drainStepRecords(StepState& state) {
  auto& st = cpuState(state, "drainStepRecords");
  std::vector<StepRecord> out;
  out.swap(st.records);
  return out;
}

// Transformer Engine's delayed scaling: scale = (fmt_max / amax) / 2^margin, where
// amax is the largest of the last `historyLength` recorded amaxes. A zero or
// non-finite amax keeps the previous scale. The stored values are re-quantised with
// the new scale so that a tensor that lives across steps (weights without master
// copies) keeps its logical values. The tensor's amax slot restarts at 0.
void CpuBackend::updateFp8Scales(std::span<Tensor> tensors, int historyLength, float margin) {
  if (historyLength < 1) fail("updateFp8Scales", "history length " + std::to_string(historyLength) + " < 1");
  for (Tensor& t : tensors) {
    if (!isFp8(t.precision())) continue;
    auto& history = amaxHistory_[t.scale()];
    history.push_back(*t.amax());
    if (history.size() > static_cast<std::size_t>(historyLength))
      history.erase(history.begin(), history.end() - historyLength);
    const float amax = *std::max_element(history.begin(), history.end());
    const float fmtMax = static_cast<float>(formatInfo(t.precision()).maxFinite);
    const float next = (fmtMax / amax) / std::exp2(margin);
    if (amax > 0.0f && std::isfinite(amax) && std::isfinite(next) && next > 0.0f && next != *t.scale()) {
      decodeInPlace(t);
      *t.scale() = next;
      finishOutput(t);
    }
    *t.amax() = 0.0f;
  }
}

}  // namespace plab
