// The shadow pass (docs/architecture.md, "Shadow statistics") on the real CPU backend:
// what measureShadow calls underflow, overflow and precision loss in each format; that
// turning the pass on leaves the run's own steps bit for bit as they were; that with
// an fp32 network the shadow is the run (relative error 0); and that the shadow's
// loss is multiplied by the run's loss scale.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <limits>

#include "backend/registry.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "recording_observer.h"
#include "train/shadow_stats.h"
#include "train/trainer.h"

using namespace plab;
using nlohmann::json;
using plab::test::RecordingObserver;

namespace {

// Three sigmoid layers on the moons, fp16 without loss scaling, statistics every 5 steps.
json smallDeepSigmoid(bool shadow) {
  json layers = json::array();
  for (int i = 0; i < 3; ++i) {
    layers.push_back({{"type", "linear"}, {"out", 32}, {"precision", "fp16"}});
    layers.push_back({{"type", "sigmoid"}, {"precision", "fp16"}});
  }
  layers.push_back({{"type", "linear"}, {"out", 2}, {"precision", "fp16"}});
  return json{{"seed", 3},
              {"dataset", {{"name", "moons"}, {"train_size", 512}, {"test_size", 128}}},
              {"network", {{"layers", layers}, {"loss", "cross_entropy"}}},
              {"optimizer", {{"type", "adam"}, {"lr", 0.005}}},
              {"loss_scaling", {{"mode", "none"}}},
              {"batch_size", 32},
              {"steps", 20},
              {"stats_interval", 5},
              {"shadow_stats", shadow}};
}

RecordingObserver train(const json& file) {
  const Experiment e = parseExperiment(file);
  const Dataset data = loadDataset(e.dataset, e.seed);
  std::string note;
  auto backend = createBackend("cpu", note);
  RunControl control;
  RecordingObserver observer;
  Trainer trainer(e, data, *backend, observer, control);
  const RunOutcome o = trainer.run();
  if (o.status != RunStatus::completed) qFatal("run failed: %s", o.error.c_str());
  return observer;
}

std::uint32_t bitsOf(double d) {
  const float f = float(d);
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

class TestShadowPass : public QObject {
  Q_OBJECT
 private slots:
  void measuresAgainstTheFormat_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<float>("value");
    QTest::addColumn<QString>("expected");  // zero, underflow, overflow, precision_loss, fine
    QTest::newRow("fp16 zero") << "fp16" << 0.0f << "zero";
    QTest::newRow("fp16 2^-26 rounds to zero") << "fp16" << std::ldexp(1.0f, -26) << "underflow";
    QTest::newRow("fp16 half of 2^-24 ties to zero") << "fp16" << std::ldexp(1.0f, -25) << "underflow";
    QTest::newRow("fp16 2^-24 keeps 1 bit") << "fp16" << std::ldexp(1.0f, -24) << "precision_loss";
    QTest::newRow("fp16 2^-20 keeps 5 of 11 bits") << "fp16" << std::ldexp(1.0f, -20) << "precision_loss";
    QTest::newRow("fp16 2^-19 keeps 6 of 11 bits") << "fp16" << std::ldexp(1.0f, -19) << "fine";
    QTest::newRow("fp16 2^-14 is normal") << "fp16" << std::ldexp(1.0f, -14) << "fine";
    QTest::newRow("fp16 70000 becomes inf") << "fp16" << 70000.0f << "overflow";
    QTest::newRow("fp16 65504 is its max") << "fp16" << 65504.0f << "fine";
    QTest::newRow("fp16 inf in the shadow") << "fp16" << std::numeric_limits<float>::infinity() << "overflow";
    QTest::newRow("bf16 2^-130 keeps 4 of 8 bits") << "bf16" << std::ldexp(1.0f, -130) << "fine";
    QTest::newRow("bf16 2^-131 keeps 3 of 8 bits") << "bf16" << std::ldexp(1.0f, -131) << "precision_loss";
    QTest::newRow("bf16 2^-135 rounds to zero") << "bf16" << std::ldexp(1.0f, -135) << "underflow";
    QTest::newRow("e4m3 500 saturates") << "fp8_e4m3" << 500.0f << "overflow";
    QTest::newRow("e4m3 2^-11 rounds to zero") << "fp8_e4m3" << std::ldexp(1.0f, -11) << "underflow";
    QTest::newRow("fp32 2^-126 is fine") << "fp32" << std::ldexp(1.0f, -126) << "fine";
  }
  void measuresAgainstTheFormat() {
    QFETCH(QString, format);
    QFETCH(float, value);
    QFETCH(QString, expected);
    const Precision p = *parsePrecision(format.toStdString());
    const float values[] = {value, -value};
    const ShadowStats s = measureShadow(values, {}, p);
    QCOMPARE(s.count, 2);
    const std::int64_t fine = 2 - s.zeros - s.underflows - s.overflows - s.precisionLoss;
    const QString got = s.zeros == 2 ? "zero" : s.underflows == 2 ? "underflow" : s.overflows == 2 ? "overflow"
                        : s.precisionLoss == 2 ? "precision_loss" : fine == 2 ? "fine" : "mixed";
    QCOMPARE(got, expected);
  }

  void relativeErrorComparesElementwise() {
    const float shadow[] = {3, 4};
    const float real[] = {3, 4.5f};
    QCOMPARE(measureShadow(shadow, real, Precision::fp16).relError, 0.1);  // 0.5 / 5
    const float broken[] = {3, std::numeric_limits<float>::infinity()};
    QVERIFY(std::isinf(measureShadow(shadow, broken, Precision::fp16).relError));
    const float shorter[] = {3};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, measureShadow(shadow, shorter, Precision::fp16));
  }

  void leavesTheRunsStepsUntouched() {
    const RecordingObserver off = train(smallDeepSigmoid(false));
    const RecordingObserver on = train(smallDeepSigmoid(true));
    QCOMPARE(on.steps.size(), off.steps.size());
    for (std::size_t i = 0; i < off.steps.size(); ++i) {
      QCOMPARE(bitsOf(on.steps[i].loss), bitsOf(off.steps[i].loss));
      QCOMPARE(bitsOf(on.steps[i].gradNorm), bitsOf(off.steps[i].gradNorm));
    }
    QCOMPARE(on.stats.size(), off.stats.size());
    for (std::size_t i = 0; i < off.stats.size(); ++i) {
      QVERIFY(!off.stats[i].hasShadow);
      QVERIFY(on.stats[i].hasShadow);
      QCOMPARE(on.stats[i].stats.zeros, off.stats[i].stats.zeros);
      QCOMPARE(on.stats[i].stats.underflows, off.stats[i].stats.underflows);
    }
    QCOMPARE(on.finished.shadowPasses, 5);  // steps 1, 5, 10, 15, 20
    QCOMPARE(off.finished.shadowPasses, 0);
    QVERIFY(on.finished.medianShadowMs > 0);
  }

  void fp32ShadowOfAnFp32RunIsTheRun() {
    json file = smallDeepSigmoid(true);
    for (json& layer : file["network"]["layers"]) layer["precision"] = "fp32";
    const RecordingObserver run = train(file);
    QVERIFY(!run.stats.empty());
    for (const auto& r : run.stats) {
      QVERIFY(r.hasShadow);
      QCOMPARE(r.shadow.count, r.stats.count);
      QCOMPARE(r.shadow.underflows, 0);
      QVERIFY2(r.shadow.relError == 0, qPrintable(QString("%1 %2: %3").arg(QString::fromStdString(r.layerName))
                                                      .arg(int(r.kind)).arg(r.shadow.relError)));
    }
  }

  void shadowUsesTheRunsLossScale() {
    // Static scale 2^12: at step 1 (the same weights and batch) every shadow gradient is
    // exactly 2^12 times that of the run without scaling, so each gradient histogram
    // is the unscaled one moved 12 bins to the right.
    json scaled = smallDeepSigmoid(true);
    scaled["loss_scaling"] = {{"mode", "static"}, {"scale", 4096}};
    const RecordingObserver plain = train(smallDeepSigmoid(true));
    const RecordingObserver times4096 = train(scaled);
    int compared = 0;
    for (std::size_t i = 0; i < plain.stats.size(); ++i) {
      const auto& a = plain.stats[i];
      const auto& b = times4096.stats[i];
      if (a.step != 1 || a.kind != StatsKind::gradient) continue;
      QCOMPARE(b.layerIndex, a.layerIndex);
      for (int bin = 0; bin + 12 < kLog2HistBins; ++bin) {
        if (bin == 0) continue;  // bin 0 also holds everything smaller
        QCOMPARE(b.shadow.log2Hist[std::size_t(bin + 12)], a.shadow.log2Hist[std::size_t(bin)]);
      }
      ++compared;
    }
    QVERIFY(compared > 0);
  }
};

QTEST_GUILESS_MAIN(TestShadowPass)
#include "tst_shadow_pass.moc"
