// The mixed-precision step on the CPU backend: skipped steps, master weights,
// optimizers against hand-computed updates, loss scale with hysteresis, gradient
// norm and clipping, fp8 delayed scaling.
#include <QtTest>

#include <cmath>
#include <limits>

#include "backend/cpu/cpu_backend.h"

using namespace plab;

namespace {

std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  b.download(t, v.data());
  return v;
}

Tensor tensorOf(Backend& b, Precision p, const std::vector<float>& v) {
  Tensor t = b.empty({static_cast<std::int64_t>(v.size())}, p);
  b.upload(v.data(), t);
  return t;
}

LossScaleRule noScaling() {
  LossScaleRule r;
  r.mode = LossScaleMode::none;
  return r;
}

// One parameter with the optimizer's state, optionally with an fp32 master copy.
ParamSlot makeSlot(Backend& b, Precision p, const std::vector<float>& w, bool master) {
  ParamSlot s;
  s.name = "w";
  s.working = tensorOf(b, p, w);
  if (master) s.master = tensorOf(b, Precision::fp32, w);
  s.state1 = b.zeros(s.working.shape(), Precision::fp32);
  s.state2 = b.zeros(s.working.shape(), Precision::fp32);
  return s;
}

// check -> step -> loss scale, as the trainer does each step.
void step(Backend& b, const OptimizerHyper& h, ParamSlot& slot, StepState& st, std::int64_t n) {
  const std::vector<Tensor> grads{slot.grad};
  b.checkGradients(grads, st);
  std::span<ParamSlot> params(&slot, 1);
  b.optimizerStep(h, params, st);
  b.updateLossScale(st, n);
}

}  // namespace

class TestCpuBackendStep : public QObject {
  Q_OBJECT

 private slots:
  void skipsStepOnOverflow();
  void skippedStepDoesNotCountForAdamBiasCorrection();
  void tinyUpdatesVanishWithoutMasterWeights();
  void adamMatchesHandComputedSteps();
  void adamwDecaysDecoupled();
  void sgdNesterovMatchesHandComputedSteps();
  void unscalesAndReportsUnscaledNorm();
  void clipsToGlobalNorm();
  void lossScaleBacksOffAndGrowsWithHysteresis();
  void fp8ScaleFollowsAmaxHistory();
  void saturatedFp8GradientIsAnOverflow();
  void saturatedFp8LogitsGiveAnInfiniteLoss();
  void optimizerStepWithoutCheckIsAnError();

 private:
  CpuBackend be_;
};

void TestCpuBackendStep::skipsStepOnOverflow() {
  auto st = be_.createStepState(LossScaleRule{}, 1);
  ParamSlot slot = makeSlot(be_, Precision::fp16, {0.5f, -0.25f}, true);
  slot.grad = tensorOf(be_, Precision::fp16, {1.0f, std::numeric_limits<float>::infinity()});
  step(be_, OptimizerHyper{}, slot, *st, 1);
  QCOMPARE(download(be_, slot.working), (std::vector<float>{0.5f, -0.25f}));
  QCOMPARE(download(be_, slot.master), (std::vector<float>{0.5f, -0.25f}));
  QCOMPARE(download(be_, slot.state1), (std::vector<float>{0.0f, 0.0f}));
  const auto records = be_.drainStepRecords(*st);
  QCOMPARE(records.size(), std::size_t(1));
  QVERIFY(records[0].overflow && records[0].skipped);
  QCOMPARE(records[0].gradOverflow, (std::vector<std::uint8_t>{1}));
  QCOMPARE(records[0].lossScale, 65536.0f);
  QCOMPARE(records[0].nextLossScale, 32768.0f);
  QVERIFY(std::isinf(records[0].gradNorm));
  QVERIFY(be_.drainStepRecords(*st).empty());
}

// After a skipped step the first real Adam step is still step 1: its bias-corrected
// update is lr * g / (|g| + eps) = lr for a positive gradient.
void TestCpuBackendStep::skippedStepDoesNotCountForAdamBiasCorrection() {
  auto st = be_.createStepState(noScaling(), 1);
  ParamSlot slot = makeSlot(be_, Precision::fp32, {1.0f}, true);
  slot.grad = tensorOf(be_, Precision::fp32, {std::numeric_limits<float>::quiet_NaN()});
  OptimizerHyper h;
  h.lr = 0.125f;
  step(be_, h, slot, *st, 1);
  be_.fill(slot.grad, 0.5f);
  step(be_, h, slot, *st, 2);
  QCOMPARE(download(be_, slot.working)[0], 1.0f - 0.125f);
}

// fp16 spacing at 1 is 2^-10: an SGD update of 1e-4 is below half an ulp and vanishes
// without master weights; with them it accumulates in fp32.
void TestCpuBackendStep::tinyUpdatesVanishWithoutMasterWeights() {
  OptimizerHyper h;
  h.kind = OptimizerKind::sgd;
  h.lr = 1e-4f;
  for (bool master : {false, true}) {
    auto st = be_.createStepState(noScaling(), 1);
    ParamSlot slot = makeSlot(be_, Precision::fp16, {1.0f}, master);
    slot.grad = tensorOf(be_, Precision::fp16, {1.0f});
    for (int i = 1; i <= 10; ++i) step(be_, h, slot, *st, i);
    const float w = download(be_, slot.working)[0];
    if (!master) {
      QCOMPARE(w, 1.0f);
    } else {
      QVERIFY2(std::fabs(download(be_, slot.master)[0] - 0.999f) < 1e-6f, qPrintable(QString::number(w)));
      QCOMPARE(w, 0.99902344f);  // fp16 nearest to 0.999
    }
  }
}

// Adam (PyTorch): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), here with L2 decay.
void TestCpuBackendStep::adamMatchesHandComputedSteps() {
  OptimizerHyper h;
  h.lr = 0.1f;
  h.weightDecay = 0.01f;
  auto st = be_.createStepState(noScaling(), 1);
  ParamSlot slot = makeSlot(be_, Precision::fp32, {0.5f}, false);
  double w = 0.5, m = 0, v = 0;
  const double grads[3] = {0.2, -0.1, 0.05};
  for (int t = 1; t <= 3; ++t) {
    slot.grad = tensorOf(be_, Precision::fp32, {float(grads[t - 1])});
    step(be_, h, slot, *st, t);
    const double g = grads[t - 1] + 0.01 * w;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    w -= 0.1 / (1 - std::pow(0.9, t)) * m / (std::sqrt(v) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
    const float got = download(be_, slot.working)[0];
    QVERIFY2(std::fabs(got - w) < 2e-7, qPrintable(QString("step %1: got %2 want %3").arg(t).arg(got, 0, 'g', 9).arg(w, 0, 'g', 9)));
  }
}

void TestCpuBackendStep::adamwDecaysDecoupled() {
  OptimizerHyper h;
  h.kind = OptimizerKind::adamw;
  h.lr = 0.01f;
  h.weightDecay = 0.5f;
  auto st = be_.createStepState(noScaling(), 1);
  ParamSlot slot = makeSlot(be_, Precision::fp32, {2.0f}, true);
  slot.grad = tensorOf(be_, Precision::fp32, {3.0f});
  step(be_, h, slot, *st, 1);
  // w * (1 - lr wd) - lr * sign(g) on the first step: 2 * 0.995 - 0.01 = 1.98.
  QVERIFY(std::fabs(download(be_, slot.master)[0] - 1.98f) < 1e-6f);
}

// PyTorch SGD: d = g + wd w; buf = mu buf + d (buf = d at first); nesterov: d += mu buf.
void TestCpuBackendStep::sgdNesterovMatchesHandComputedSteps() {
  OptimizerHyper h;
  h.kind = OptimizerKind::sgd;
  h.lr = 0.1f;
  h.momentum = 0.9f;
  h.nesterov = true;
  h.weightDecay = 0.1f;
  auto st = be_.createStepState(noScaling(), 1);
  ParamSlot slot = makeSlot(be_, Precision::fp32, {1.0f}, true);
  double w = 1.0, buf = 0;
  for (int t = 1; t <= 3; ++t) {
    slot.grad = tensorOf(be_, Precision::fp32, {0.5f});
    step(be_, h, slot, *st, t);
    const double d = 0.5 + 0.1 * w;
    buf = 0.9 * buf + d;
    w -= 0.1 * (d + 0.9 * buf);
    QVERIFY2(std::fabs(download(be_, slot.master)[0] - w) < 1e-6, qPrintable(QString::number(w)));
  }
}

void TestCpuBackendStep::unscalesAndReportsUnscaledNorm() {
  LossScaleRule rule;
  rule.mode = LossScaleMode::fixed;
  rule.initScale = 1024.0f;
  auto st = be_.createStepState(rule, 1);
  OptimizerHyper h;
  h.kind = OptimizerKind::sgd;
  h.lr = 1.0f;
  ParamSlot slot = makeSlot(be_, Precision::fp32, {0.0f, 0.0f}, true);
  slot.grad = tensorOf(be_, Precision::fp16, {3.0f * 1024, 4.0f * 1024});  // scaled gradients
  step(be_, h, slot, *st, 1);
  QCOMPARE(download(be_, slot.master), (std::vector<float>{-3.0f, -4.0f}));
  const auto r = be_.drainStepRecords(*st);
  QCOMPARE(r[0].gradNorm, 5.0f);
  QCOMPARE(r[0].lossScale, 1024.0f);
  QVERIFY(!r[0].skipped);
}

void TestCpuBackendStep::clipsToGlobalNorm() {
  auto st = be_.createStepState(noScaling(), 2);
  OptimizerHyper h;
  h.kind = OptimizerKind::sgd;
  h.lr = 1.0f;
  h.clipNorm = 1.0f;
  std::vector<ParamSlot> params{makeSlot(be_, Precision::fp32, {0.0f}, false), makeSlot(be_, Precision::fp32, {0.0f}, false)};
  params[0].grad = tensorOf(be_, Precision::fp32, {6.0f});
  params[1].grad = tensorOf(be_, Precision::fp32, {8.0f});
  const std::vector<Tensor> grads{params[0].grad, params[1].grad};
  be_.checkGradients(grads, *st);
  be_.optimizerStep(h, params, *st);
  // Norm 10 clipped to 1: the gradients become 0.6 and 0.8 (coefficient 1 / (10 + 1e-6)).
  QVERIFY(std::fabs(download(be_, params[0].working)[0] + 0.6f) < 1e-6f);
  QVERIFY(std::fabs(download(be_, params[1].working)[0] + 0.8f) < 1e-6f);
}

// Hysteresis 2: the first overflow is tolerated, the second halves the scale; three
// clean steps (growth interval 3) double it again.
void TestCpuBackendStep::lossScaleBacksOffAndGrowsWithHysteresis() {
  LossScaleRule rule;
  rule.initScale = 1024.0f;
  rule.growthInterval = 3;
  rule.hysteresis = 2;
  auto st = be_.createStepState(rule, 1);
  Tensor bad = tensorOf(be_, Precision::fp16, {std::numeric_limits<float>::infinity()});
  Tensor good = tensorOf(be_, Precision::fp16, {1.0f});
  const bool overflow[6] = {true, true, false, false, false, true};
  const float scaleAfter[6] = {1024, 512, 512, 512, 1024, 1024};
  for (int i = 0; i < 6; ++i) {
    const std::vector<Tensor> grads{overflow[i] ? bad : good};
    be_.checkGradients(grads, *st);
    be_.updateLossScale(*st, i + 1);
  }
  const auto records = be_.drainStepRecords(*st);
  QCOMPARE(records.size(), std::size_t(6));
  for (int i = 0; i < 6; ++i) {
    QVERIFY2(records[i].nextLossScale == scaleAfter[i],
             qPrintable(QString("step %1: scale %2, want %3").arg(i + 1).arg(records[i].nextLossScale).arg(scaleAfter[i])));
    QCOMPARE(records[i].overflow, overflow[i]);
    QCOMPARE(records[i].step, std::int64_t(i + 1));
  }
}

// Transformer Engine: scale = (448 / max(amax over the history)) / 2^margin.
void TestCpuBackendStep::fp8ScaleFollowsAmaxHistory() {
  Tensor t = be_.empty({2}, Precision::fp8_e4m3);
  std::vector<Tensor> ts{t};
  const float peaks[4] = {7.0f, 14.0f, 3.5f, 1.75f};
  const float want[4] = {32.0f, 16.0f, 16.0f, 64.0f};  // history length 2, margin 1
  for (int i = 0; i < 4; ++i) {
    const std::vector<float> v{peaks[i], -peaks[i] / 2};
    be_.upload(v.data(), t);
    be_.updateFp8Scales(ts, 2, 1.0f);
    QVERIFY2(be_.fp8Scale(t) == want[i],
             qPrintable(QString("step %1: scale %2 want %3").arg(i).arg(be_.fp8Scale(t)).arg(want[i])));
    QCOMPARE(be_.fp8Amax(t), 0.0f);
    // The values were re-quantised with the new scale; these are exact in e4m3.
    QCOMPARE(download(be_, t), v);
  }
}

// fp8 saturates an infinity to the format's max (SATFINITE), so the stored gradient is
// finite; the amax recorded before rounding still holds the infinity, and the check
// must see it (issue 17: fp8 at lr 1000 ran to the end with no overflow flagged).
void TestCpuBackendStep::saturatedFp8GradientIsAnOverflow() {
  auto st = be_.createStepState(LossScaleRule{}, 1);
  ParamSlot slot = makeSlot(be_, Precision::fp8_e4m3, {0.5f, -0.25f}, true);
  slot.grad = tensorOf(be_, Precision::fp8_e5m2, {1.0f, std::numeric_limits<float>::infinity()});
  const std::vector<float> stored = download(be_, slot.grad);
  QVERIFY2(std::isfinite(stored[1]), "SATFINITE keeps no infinity: the test's premise");
  step(be_, OptimizerHyper{}, slot, *st, 1);
  const auto records = be_.drainStepRecords(*st);
  QCOMPARE(records.size(), std::size_t(1));
  QVERIFY(records[0].overflow && records[0].skipped);
  QCOMPARE(records[0].gradOverflow, (std::vector<std::uint8_t>{1}));
  QCOMPARE(download(be_, slot.master), (std::vector<float>{0.5f, -0.25f}));
}

// The same for the forward pass: logits that overflowed reach the loss saturated,
// and a finite loss would hide it from the trainer's non-finite check.
void TestCpuBackendStep::saturatedFp8LogitsGiveAnInfiniteLoss() {
  auto st = be_.createStepState(noScaling(), 0);
  Tensor logits = be_.empty({1, 2}, Precision::fp8_e4m3);
  const std::vector<float> values{std::numeric_limits<float>::infinity(), 0.0f};
  be_.upload(values.data(), logits);
  const Tensor labels = tensorOf(be_, Precision::fp32, {1.0f});
  Tensor dlogits = be_.empty({1, 2}, Precision::fp32);
  be_.softmaxCrossEntropy(logits, labels, *st, dlogits);
  be_.checkGradients({}, *st);
  be_.updateLossScale(*st, 1);
  const auto records = be_.drainStepRecords(*st);
  QCOMPARE(records.size(), std::size_t(1));
  QVERIFY2(std::isinf(records[0].loss), qPrintable(QString("loss %1").arg(records[0].loss)));
}

void TestCpuBackendStep::optimizerStepWithoutCheckIsAnError() {
  auto st = be_.createStepState(noScaling(), 1);
  ParamSlot slot = makeSlot(be_, Precision::fp32, {1.0f}, false);
  slot.grad = tensorOf(be_, Precision::fp32, {1.0f});
  std::span<ParamSlot> params(&slot, 1);
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, be_.optimizerStep(OptimizerHyper{}, params, *st));
}

QTEST_GUILESS_MAIN(TestCpuBackendStep)
#include "tst_cpu_backend_step.moc"
