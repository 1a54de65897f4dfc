// Conformance cases: a class label that is not a class index fails the same way on
// every backend (class_labels.h): std::invalid_argument naming the operation, the
// label and the first bad row, from softmaxCrossEntropy (the CPU backend throws in the
// call; the CUDA backend flags it on the device and throws when drainStepRecords reads
// the step back) and from evaluate. A good step on the same state afterwards must not
// report it again.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "backend/class_labels.h"
#include "backend/conformance_suite.h"

namespace plab::conformance {

namespace {

constexpr std::int64_t kRows = 12, kClasses = 10, kBadRow = 5;

// Labels 0..classes-1 in turn, `bad` at kBadRow and -1 at a later row (the first bad
// row is the one to name).
Tensor labelsWith(Suite& s, float bad) {
  std::vector<float> labels(kRows);
  for (std::int64_t i = 0; i < kRows; ++i) labels[i] = static_cast<float>(i % kClasses);
  labels[kBadRow] = bad;
  labels[kBadRow + 3] = -1.0f;
  Tensor t = s.backend.empty({kRows}, Precision::fp32);
  s.backend.upload(labels.data(), t);
  return t;
}

std::string labelText(float v) { return std::isnan(v) ? "NaN" : std::to_string(v); }

// Records whether `body` threw std::invalid_argument whose text holds the operation's
// name and the shared message.
template <class F>
void expectLabelError(Suite& s, const std::string& op, const std::string& shape, const char* backendOp, float bad,
                      F body) {
  ConformanceResult r;
  r.op = op;
  r.format = "fp32";
  r.shape = shape;
  r.limit = 0;
  r.tolerance = "std::invalid_argument naming the operation, the label and the first bad row";
  const std::string want = badClassLabelMessage(bad, kBadRow, kClasses);
  try {
    body();
    r.detail = "no error; want \"" + want + "\"";
  } catch (const std::invalid_argument& e) {
    const std::string got = e.what();
    r.pass = got.find(backendOp) != std::string::npos && got.find(want) != std::string::npos;
    if (!r.pass) r.detail = "got \"" + got + "\", want \"" + want + "\" after the backend and \"" + backendOp + "\"";
  }
  r.maxError = r.pass ? 0.0 : 1.0;
  s.results.push_back(r);
}

void badLabelCase(Suite& s, float bad) {
  const std::string shape = Shape{kRows, kClasses}.toString() + " label " + labelText(bad) + " at row " +
                            std::to_string(kBadRow);
  s.run("bad class label softmaxCrossEntropy", Precision::fp32, shape, [&] {
    std::vector<double> x;
    Tensor logits = s.input({kRows, kClasses}, Precision::fp32, x, -3.0f, 3.0f);
    Tensor d = s.output({kRows, kClasses}, Precision::fp32);
    LossScaleRule rule;
    rule.mode = LossScaleMode::none;
    auto state = s.backend.createStepState(rule, 1);
    Tensor labels = labelsWith(s, bad);
    expectLabelError(s, "bad class label softmaxCrossEntropy", shape, "softmaxCrossEntropy", bad, [&] {
      s.backend.softmaxCrossEntropy(logits, labels, *state, d);
      s.backend.updateLossScale(*state, 1);
      s.backend.drainStepRecords(*state);
    });
    // The next, good step on the same state: its record drains without the old error.
    std::vector<float> good(kRows, 1.0f);
    s.backend.upload(good.data(), labels);
    ConformanceResult r;
    r.op = "bad class label softmaxCrossEntropy, then a good step";
    r.format = "fp32";
    r.shape = shape;
    r.tolerance = "drains without an error, loss finite";
    try {
      s.backend.softmaxCrossEntropy(logits, labels, *state, d);
      s.backend.updateLossScale(*state, 2);
      const auto records = s.backend.drainStepRecords(*state);
      r.pass = !records.empty() && std::isfinite(records.back().loss);
      if (!r.pass) r.detail = records.empty() ? "no step record" : "loss " + std::to_string(records.back().loss);
    } catch (const std::exception& e) {
      r.detail = std::string("threw: ") + e.what();
    }
    r.maxError = r.pass ? 0.0 : 1.0;
    s.results.push_back(r);
  });
  s.run("bad class label evaluate", Precision::fp32, shape, [&] {
    std::vector<double> x;
    Tensor out = s.input({kRows, kClasses}, Precision::fp32, x, -3.0f, 3.0f);
    Tensor labels = labelsWith(s, bad);
    expectLabelError(s, "bad class label evaluate", shape, "evaluate", bad,
                     [&] { s.backend.evaluate(out, labels, true); });
  });
}

}  // namespace

void runLabelCases(Suite& s) {
  // One past the last class, negative, not an integer, NaN, beyond every int.
  for (float bad : {float(kClasses), -2.0f, 2.5f, std::numeric_limits<float>::quiet_NaN(), 3.0e10f})
    badLabelCase(s, bad);
}

}  // namespace plab::conformance
