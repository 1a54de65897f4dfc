// The loss scaler's host view: the rule of docs/architecture.md ("Loss scaling") replayed on
// step records, and the events it turns them into. The backend half (the skipped
// update, the per-layer overflow flags) is tested in tst_trainer with real tensors.
#include <QtTest>

#include <cmath>
#include <string>
#include <vector>

#include "train/loss_scaler.h"
#include "model/experiment.h"  // learningRateAt: the schedules

using namespace plab;

namespace {

// A record as the backend would write it for one step, with the rule applied.
StepRecord record(const LossScaleRule& rule, LossScaleCounters& c, std::int64_t step, bool overflow,
                  std::vector<std::uint8_t> flags = {}) {
  StepRecord r;
  r.step = step;
  r.lossScale = c.scale;
  c = nextCounters(rule, c, overflow);
  r.nextLossScale = c.scale;
  r.overflow = overflow;
  r.skipped = overflow;
  r.gradOverflow = std::move(flags);
  return r;
}

LossScaleRule dynamicRule(int interval, int hysteresis = 1) {
  LossScaleRule r;
  r.mode = LossScaleMode::dynamic;
  r.initScale = 1024.0f;
  r.growthInterval = interval;
  r.hysteresis = hysteresis;
  return r;
}

const std::vector<std::string> kOwners = {"layers[2] linear", "layers[2] linear", "layers[0] linear",
                                          "layers[0] linear"};

}  // namespace

class TestLossScaler : public QObject {
  Q_OBJECT
 private slots:
  void startsAtTorchDefaults() {
    LossScaleRule rule;  // defaults
    LossScaler scaler(rule);
    QCOMPARE(scaler.scale(), 65536.0f);
    QCOMPARE(rule.growthFactor, 2.0f);
    QCOMPARE(rule.backoffFactor, 0.5f);
    QCOMPARE(rule.growthInterval, 2000);
  }

  void backsOffOnOverflow() {
    auto rule = dynamicRule(100);
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    auto out = scaler.observe(record(rule, c, 1, true, {0, 0, 1, 0}), kOwners);
    QVERIFY(out.overflow.has_value());
    QCOMPARE(out.overflow->scaleBefore, 1024.0);
    QCOMPARE(out.overflow->scaleAfter, 512.0);
    QCOMPARE(scaler.scale(), 512.0f);
    QCOMPARE(scaler.overflowCount(), 1);
    QCOMPARE(scaler.skippedSteps(), 1);
    QVERIFY(!out.growth.has_value());
  }

  void growsAfterInterval() {
    auto rule = dynamicRule(3);
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    QVERIFY(!scaler.observe(record(rule, c, 1, false), kOwners).growth);
    QVERIFY(!scaler.observe(record(rule, c, 2, false), kOwners).growth);
    auto out = scaler.observe(record(rule, c, 3, false), kOwners);
    QVERIFY(out.growth.has_value());
    QCOMPARE(out.growth->step, 3);
    QCOMPARE(out.growth->scaleBefore, 1024.0);
    QCOMPARE(out.growth->scaleAfter, 2048.0);
    QCOMPARE(scaler.cleanSteps(), 0);
  }

  void overflowRestartsGrowthCount() {
    auto rule = dynamicRule(3);
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    scaler.observe(record(rule, c, 1, false), kOwners);
    scaler.observe(record(rule, c, 2, false), kOwners);
    scaler.observe(record(rule, c, 3, true, {1, 0, 0, 0}), kOwners);
    QCOMPARE(scaler.scale(), 512.0f);
    QVERIFY(!scaler.observe(record(rule, c, 4, false), kOwners).growth);
    QVERIFY(!scaler.observe(record(rule, c, 5, false), kOwners).growth);
    QVERIFY(scaler.observe(record(rule, c, 6, false), kOwners).growth);
    QCOMPARE(scaler.scale(), 1024.0f);
  }

  void hysteresisToleratesOverflowsBeforeBackingOff() {
    auto rule = dynamicRule(1000, 3);
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    for (int step = 1; step <= 2; ++step) {
      auto out = scaler.observe(record(rule, c, step, true, {1, 1, 0, 0}), kOwners);
      QVERIFY(out.overflow.has_value());  // every overflow is an event, and a skipped step
      QCOMPARE(out.overflow->scaleAfter, 1024.0);
    }
    auto third = scaler.observe(record(rule, c, 3, true, {1, 1, 0, 0}), kOwners);
    QCOMPARE(third.overflow->scaleAfter, 512.0);
    QCOMPARE(scaler.skippedSteps(), 3);
    QCOMPARE(scaler.hysteresisLeft(), 3);
  }

  void respectsMinAndMaxScale() {
    auto rule = dynamicRule(1);
    rule.minScale = 256.0f;
    rule.maxScale = 2048.0f;
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    for (int step = 1; step <= 5; ++step) scaler.observe(record(rule, c, step, true, {1}), kOwners);
    QCOMPARE(scaler.scale(), 256.0f);
    for (int step = 6; step <= 20; ++step) scaler.observe(record(rule, c, step, false), kOwners);
    QCOMPARE(scaler.scale(), 2048.0f);
  }

  void staticScaleNeverChanges() {
    LossScaleRule rule;
    rule.mode = LossScaleMode::fixed;
    rule.initScale = 1e6f;
    rule.growthInterval = 1;
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    auto out = scaler.observe(record(rule, c, 1, true, {0, 0, 1, 1}), kOwners);
    QVERIFY(out.overflow.has_value());
    QCOMPARE(out.overflow->scaleAfter, 1e6);
    QVERIFY(!scaler.observe(record(rule, c, 2, false), kOwners).growth);
    QCOMPARE(scaler.scale(), 1e6f);
  }

  void culpritIsFirstOverflowingLayerInBackwardOrder() {
    auto rule = dynamicRule(100);
    LossScaler scaler(rule);
    auto c = initialCounters(rule);
    // Gradient 1 (bias of layers[2]) and 2 (weight of layers[0]) overflowed.
    auto out = scaler.observe(record(rule, c, 1, true, {0, 1, 1, 1}), kOwners);
    QVERIFY(out.overflow.has_value());
    const auto& layers = out.overflow->layers;
    QCOMPARE(layers.size(), std::size_t(2));
    QCOMPARE(QString::fromStdString(layers[0]), QStringLiteral("layers[2] linear"));
    QCOMPARE(QString::fromStdString(layers[1]), QStringLiteral("layers[0] linear"));
  }

  void rejectsABackendThatDisagreesWithTheRule() {
    auto rule = dynamicRule(100);
    LossScaler scaler(rule);
    StepRecord r;
    r.step = 1;
    r.lossScale = 1024.0f;
    r.nextLossScale = 1024.0f;  // should have backed off to 512
    r.overflow = true;
    QVERIFY_THROWS_EXCEPTION(std::logic_error, scaler.observe(r, kOwners));
  }

  void schedules_data() {
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("warmup");
    QTest::addColumn<int>("step");
    QTest::addColumn<double>("expected");
    const int constant = int(ScheduleType::constant), stepDecay = int(ScheduleType::step),
              cosine = int(ScheduleType::cosine);
    QTest::newRow("constant") << constant << 0 << 57 << 0.1;
    QTest::newRow("warmup first step") << constant << 10 << 1 << 0.01;
    QTest::newRow("warmup half") << constant << 10 << 5 << 0.05;
    QTest::newRow("warmup done") << constant << 10 << 11 << 0.1;
    QTest::newRow("step before decay") << stepDecay << 0 << 100 << 0.1;
    QTest::newRow("step after one decay") << stepDecay << 0 << 101 << 0.01;
    QTest::newRow("step after two decays") << stepDecay << 0 << 201 << 0.001;
    QTest::newRow("cosine start") << cosine << 0 << 1 << 0.1;
    QTest::newRow("cosine middle") << cosine << 0 << 501 << 0.0505;
    QTest::newRow("cosine end") << cosine << 0 << 1001 << 0.001;
    QTest::newRow("cosine after warmup") << cosine << 100 << 101 << 0.1;
  }
  void schedules() {
    QFETCH(int, kind);
    QFETCH(int, warmup);
    QFETCH(int, step);
    QFETCH(double, expected);
    ScheduleSpec s;
    s.type = ScheduleType(kind);
    s.stepSize = 100;
    s.gamma = 0.1f;
    s.minLr = 0.001f;
    s.warmupSteps = warmup;
    const double got = learningRateAt(s, 0.1f, step, 1001);
    // The schedule computes in float: compare to float precision.
    if (std::abs(got - expected) > 1e-6 * std::max(1.0, std::abs(expected)))
      QFAIL(qPrintable(QString("lr at step %1: got %2, expected %3").arg(step).arg(got, 0, 'g', 17).arg(expected, 0, 'g', 17)));
  }
};

QTEST_GUILESS_MAIN(TestLossScaler)
#include "tst_loss_scaler.moc"
