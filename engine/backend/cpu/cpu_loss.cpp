// CpuBackend: losses (always fp32, from the last layer's output) and evaluation.
#include <cmath>
#include <limits>

#include "backend/class_labels.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_step_state.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

struct ClassMatrix {
  std::int64_t rows = 0, classes = 0;
};

ClassMatrix classMatrix(const char* op, const Tensor& logits, const Tensor& labels) {
  requireDefined(op, "logits", logits);
  if (logits.shape().rank() != 2) fail(op, "logits have shape " + logits.shape().toString() + ", expected [N, C]");
  const ClassMatrix m{logits.shape()[0], logits.shape()[1]};
  requireNumel(op, "labels", labels, m.rows);
  return m;
}

std::int64_t labelAt(const char* op, const float* labels, std::int64_t row, std::int64_t classes) {
  const float l = labels[row];
  if (!isClassIndex(l, classes)) fail(op, badClassLabelMessage(l, row, classes));
  return static_cast<std::int64_t>(l);
}

// Stable log-sum-exp of one row in fp32; fills e[j] = exp(x[j] - max) when e != nullptr.
struct RowSoftmax {
  float max = 0, sum = 0;
};
RowSoftmax rowSoftmax(const float* x, std::int64_t classes, float* e) {
  RowSoftmax r{-std::numeric_limits<float>::infinity(), 0.0f};
  for (std::int64_t j = 0; j < classes; ++j) r.max = x[j] > r.max ? x[j] : r.max;
  // NaN never wins the max; it reaches the sum through exp. An all -inf row keeps a
  // finite shift so that it does not turn into NaN by itself.
  if (r.max == -std::numeric_limits<float>::infinity()) r.max = 0.0f;
  for (std::int64_t j = 0; j < classes; ++j) {
    const float v = std::exp(x[j] - r.max);
    if (e) e[j] = v;
    r.sum += v;
  }
  return r;
}

}  // namespace

// loss = mean_i (log sum_j exp(x_ij) - x_i,label); dlogits = S (softmax - onehot) / N.
void CpuBackend::softmaxCrossEntropy(const Tensor& logits, const Tensor& labels, StepState& state,
                                     Tensor& dlogits) {
  const char* op = "softmaxCrossEntropy";
  auto& st = cpuState(state, op);
  const ClassMatrix m = classMatrix(op, logits, labels);
  requireShape(op, "dlogits", dlogits, logits.shape());
  const float* x = logicalValues(logits, scratch(0, static_cast<std::size_t>(logits.numel())));
  const float* lab = logicalValues(labels, scratch(1, static_cast<std::size_t>(m.rows)));
  float* d = slots(dlogits);
  const float gradFactor = m.rows ? st.scale() / static_cast<float>(m.rows) : 0.0f;
  double lossSum = 0;
  for (std::int64_t i = 0; i < m.rows; ++i) {
    const float* row = x + i * m.classes;
    float* drow = d + i * m.classes;
    const auto label = labelAt(op, lab, i, m.classes);
    const RowSoftmax r = rowSoftmax(row, m.classes, drow);
    lossSum += static_cast<double>(std::log(r.sum) + r.max - row[label]);
    const float inv = 1.0f / r.sum;
    for (std::int64_t j = 0; j < m.classes; ++j) drow[j] = (drow[j] * inv - (j == label ? 1.0f : 0.0f)) * gradFactor;
  }
  st.loss = m.rows ? static_cast<float>(lossSum / static_cast<double>(m.rows)) : 0.0f;
  // Saturated logits would give a finite loss for a forward pass that overflowed.
  if (saturatedNonFinite(logits)) st.loss = std::numeric_limits<float>::infinity();
  finishOutput(dlogits);
}

// loss = mean (p - t)^2 over every element; dp = S * 2 (p - t) / numel.
void CpuBackend::meanSquaredError(const Tensor& prediction, const Tensor& targets, StepState& state,
                                  Tensor& dprediction) {
  const char* op = "meanSquaredError";
  auto& st = cpuState(state, op);
  const auto n = prediction.numel();
  requireNumel(op, "targets", targets, n);
  requireShape(op, "dprediction", dprediction, prediction.shape());
  const float* p = logicalValues(prediction, scratch(0, static_cast<std::size_t>(n)));
  const float* t = logicalValues(targets, scratch(1, static_cast<std::size_t>(n)));
  float* d = slots(dprediction);
  const float gradFactor = n ? 2.0f * st.scale() / static_cast<float>(n) : 0.0f;
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float diff = p[i] - t[i];
    sum += static_cast<double>(diff * diff);
    d[i] = diff * gradFactor;
  }
  st.loss = n ? static_cast<float>(sum / static_cast<double>(n)) : 0.0f;
  if (saturatedNonFinite(prediction)) st.loss = std::numeric_limits<float>::infinity();  // as above
  finishOutput(dprediction);
}

// Classification: lossSum = sum of per-row cross-entropies, correct = argmax hits.
// Regression: lossSum = sum over rows of the row's mean squared error; count = rows,
// so lossSum / count is the MSE either way.
Backend::EvalResult CpuBackend::evaluate(const Tensor& output, const Tensor& labelsOrTargets, bool classification) {
  EvalResult r;
  const std::size_t n = static_cast<std::size_t>(output.numel());
  const float* x = logicalValues(output, scratch(0, n));
  if (classification) {
    const ClassMatrix m = classMatrix("evaluate", output, labelsOrTargets);
    const float* lab = logicalValues(labelsOrTargets, scratch(1, static_cast<std::size_t>(m.rows)));
    for (std::int64_t i = 0; i < m.rows; ++i) {
      const float* row = x + i * m.classes;
      const auto label = labelAt("evaluate", lab, i, m.classes);
      const RowSoftmax s = rowSoftmax(row, m.classes, nullptr);
      r.lossSum += static_cast<double>(std::log(s.sum) + s.max - row[label]);
      std::int64_t best = 0;
      for (std::int64_t j = 1; j < m.classes; ++j)
        if (row[j] > row[best]) best = j;
      r.correct += best == label ? 1 : 0;
    }
    r.count = m.rows;
    return r;
  }
  requireNumel("evaluate", "targets", labelsOrTargets, output.numel());
  const float* t = logicalValues(labelsOrTargets, scratch(1, n));
  const std::int64_t rows = output.shape().rank() ? output.shape()[0] : 1;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(x[i]) - t[i];
    sum += diff * diff;
  }
  r.lossSum = rows ? sum / (static_cast<double>(n) / static_cast<double>(rows)) : 0.0;
  r.count = rows;
  return r;
}

}  // namespace plab
