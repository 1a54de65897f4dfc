// The shadow pass (docs/architecture.md, "Shadow statistics") on the real CPU backend:
// what measureShadow calls underflow, overflow and precision loss in each format; that
// turning the pass on leaves the run's own steps bit for bit as they were; that with
// an fp32 network the shadow is the run (relative error 0); and that the shadow's
// loss is multiplied by the run's loss scale.
#include <QtTest>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "backend/registry.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "model/memory_estimate.h"
#include "numerics/convert.h"
#include "recording_observer.h"
#include "train/shadow_check.h"
#include "train/shadow_cost.h"
#include "train/shadow_pass.h"
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

// The host measure as it was before the backend op existed (fp8 against the unscaled
// format), frozen here as the oracle that the stored figures have not changed: every
// value rounded through the format, the squares summed in element order.
ShadowStats measureAsBefore(std::span<const float> shadow, std::span<const float> real, Precision format) {
  ShadowStats s;
  s.count = std::int64_t(shadow.size());
  std::vector<float> rounded(shadow.size());
  roundArray(format, shadow.data(), rounded.data(), shadow.size());
  const FormatInfo& f = formatInfo(format);
  const double lossBound = std::ldexp(f.minSubnormal, f.mantissaBits / 2);
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const float v = shadow[i];
    if (!std::isfinite(v)) {
      ++s.overflows;
      continue;
    }
    if (v == 0) {
      ++s.zeros;
      continue;
    }
    const int bin = std::clamp(int((std::bit_cast<std::uint32_t>(v) >> 23) & 0xffu) - 127 - kLog2HistMin, 0,
                               kLog2HistBins - 1);
    ++s.log2Hist[std::size_t(bin)];
    if (rounded[i] == 0)
      ++s.underflows;
    else if (std::isinf(rounded[i]) || (isFp8(format) && std::fabs(double(v)) > f.maxFinite))
      ++s.overflows;
    else if (std::fabs(double(v)) < lossBound)
      ++s.precisionLoss;
  }
  if (real.empty()) return s;
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < shadow.size(); ++i) {
    const double d = double(real[i]) - double(shadow[i]);
    diff += d * d;
    norm += double(shadow[i]) * double(shadow[i]);
  }
  if (!std::isfinite(diff)) s.relError = std::numeric_limits<double>::infinity();
  else if (norm == 0) s.relError = diff == 0 ? 0 : std::numeric_limits<double>::infinity();
  else s.relError = std::sqrt(diff / norm);
  return s;
}

// Random fp32 values over a format's whole range and beyond, with zeros, fp32
// subnormals, inf and NaN, and each of the format's bounds with its neighbours.
std::vector<float> hostileValues(Precision p, std::size_t n, std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::denorm_min(), std::ldexp(1.0f, -140)};
  const FormatInfo& f = formatInfo(p);
  for (double bound : {f.minSubnormal / 2, f.minSubnormal, f.minNormal, f.maxFinite,
                       std::ldexp(f.minSubnormal, f.mantissaBits / 2)}) {
    const float b = float(bound);
    for (float x : {std::nextafter(b, 0.0f), b, std::nextafter(b, inf)}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  std::uniform_int_distribution<int> exponent(std::ilogb(f.minSubnormal) - 4, std::min(std::ilogb(f.maxFinite) + 2, 127));
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  while (v.size() < n) v.push_back((rng() & 1 ? -1.0f : 1.0f) * std::ldexp(mantissa(rng), exponent(rng)));
  return v;
}

void compareCounts(const ShadowStats& got, const ShadowStats& want, const char* what) {
  const QByteArray w(what);
  QVERIFY2(got.count == want.count, w);
  QVERIFY2(got.zeros == want.zeros, w + " zeros");
  QVERIFY2(got.underflows == want.underflows, w + " underflows " + QByteArray::number(qlonglong(got.underflows)) +
                                                  " want " + QByteArray::number(qlonglong(want.underflows)));
  QVERIFY2(got.overflows == want.overflows, w + " overflows");
  QVERIFY2(got.precisionLoss == want.precisionLoss, w + " precision loss");
  QVERIFY2(got.log2Hist == want.log2Hist, w + " histogram");
}

Tensor tensorOf(Backend& b, const std::vector<float>& v, Precision p, float fp8Scale = 1.0f) {
  Tensor t = b.empty(Shape{std::int64_t(v.size())}, p);
  if (isFp8(p)) b.setFp8Scale(t, fp8Scale);
  b.upload(v.data(), t);
  return t;
}

std::vector<float> hostOf(Backend& b, const Tensor& t) {
  std::vector<float> v(std::size_t(t.numel()));
  b.download(t, v.data());
  return v;
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

  // The backend op against the measure as it was, on every format a layer may use:
  // counts and bins equal, the relative error to 1e-12 (the op sums the squares in four
  // interleaved partial sums). A real tensor in a format other than fp8 has scale 1, as
  // before.
  void backendMeasureEqualsTheHostMeasure() {
    CpuBackend backend;
    std::mt19937 rng(5);
    for (Precision p : kScalarPrecisions) {
      const std::vector<float> shadowHost = hostileValues(p, 20011, rng);
      std::vector<float> realHost(shadowHost);
      std::uniform_real_distribution<float> noise(0.98f, 1.02f);
      for (float& v : realHost) v *= noise(rng);
      const Precision realFormat = isFp8(p) ? Precision::fp16 : p;  // fp8 with a scale: below
      const Tensor shadow = tensorOf(backend, shadowHost, Precision::fp32);
      const Tensor real = tensorOf(backend, realHost, realFormat);
      const std::vector<float> realLogical = hostOf(backend, real);
      const ShadowStats want = measureAsBefore(shadowHost, realLogical, p);
      ShadowTally tally;
      backend.measureShadow(shadow, &real, p, tally);
      backend.synchronize();
      const ShadowStats got = finishShadow(tally);
      const std::string what = std::string(toString(p));
      compareCounts(got, want, what.c_str());
      QVERIFY2(want.underflows > 0 || p == Precision::fp32, what.c_str());
      QVERIFY2(want.precisionLoss > 0 && want.overflows > 0 && want.zeros > 0, what.c_str());
      QVERIFY(std::isinf(want.relError));  // inf and NaN among the values
      QVERIFY(std::isinf(got.relError));
      // The finite values alone: a finite relative error to compare.
      std::vector<float> finiteShadow, finiteReal;
      for (std::size_t i = 0; i < shadowHost.size(); ++i)
        if (std::isfinite(shadowHost[i]) && std::isfinite(realLogical[i]) && std::fabs(shadowHost[i]) < 1e18f) {
          finiteShadow.push_back(shadowHost[i]);
          finiteReal.push_back(realLogical[i]);
        }
      const Tensor fs = tensorOf(backend, finiteShadow, Precision::fp32);
      const Tensor fr = tensorOf(backend, finiteReal, Precision::fp32);
      ShadowTally finite;
      backend.measureShadow(fs, &fr, p, finite);
      backend.synchronize();
      const ShadowStats fwant = measureAsBefore(finiteShadow, finiteReal, p);
      const ShadowStats fgot = finishShadow(finite);
      compareCounts(fgot, fwant, (what + " finite").c_str());
      QVERIFY2(std::isfinite(fwant.relError) && fwant.relError > 0, what.c_str());
      QVERIFY2(std::fabs(fgot.relError - fwant.relError) <= 1e-12 * fwant.relError,
               qPrintable(QString("%1: %2 vs %3").arg(what.c_str()).arg(fgot.relError, 0, 'g', 17)
                              .arg(fwant.relError, 0, 'g', 17)));
      // Without a real tensor: no relative error, the same counts.
      ShadowTally alone;
      backend.measureShadow(shadow, nullptr, p, alone);
      backend.synchronize();
      compareCounts(finishShadow(alone), measureAsBefore(shadowHost, {}, p), (what + " alone").c_str());
      QCOMPARE(finishShadow(alone).relError, 0.0);
      // The host API is the same definition.
      compareCounts(measureShadow(shadowHost, realLogical, p), want, (what + " host").c_str());
    }
  }

  // Block-scaled formats (OCP MX, NVFP4) round a block at a time and no layer holds
  // one: the measure refuses them, naming the format, and adds nothing.
  void blockScaledFormatsAreRefused() {
    CpuBackend backend;
    const std::vector<float> values = {1.0f, 0.5f, 1e-9f};
    const Tensor shadow = tensorOf(backend, values, Precision::fp32);
    for (Precision p : kBlockPrecisions) {
      ShadowTally tally;
      try {
        backend.measureShadow(shadow, nullptr, p, tally);
        QFAIL(qPrintable(QStringLiteral("measureShadow took ") + QString::fromStdString(std::string(toString(p)))));
      } catch (const std::invalid_argument& e) {
        QVERIFY2(std::string(e.what()).find(std::string(toString(p))) != std::string::npos, e.what());
      }
      QCOMPARE(tally.count, std::int64_t(0));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, shadowBounds(p));
    }
  }

  // fp8: the real tensor's delayed scale decides what the format can hold. With scale
  // 2^10, e4m3 holds 2^-12 (stored as 2^-2), not 0.5 (512 > 448), and 2^-19 only as
  // its smallest subnormal (2^-9): against the unscaled format it would be the other
  // way round for the first two.
  void fp8IsMeasuredAsScaled() {
    CpuBackend backend;
    const float scale = 1024.0f;
    const std::vector<float> shadowHost = {std::ldexp(1.0f, -12), 0.5f, std::ldexp(1.0f, -19), std::ldexp(1.0f, -30)};
    const Tensor shadow = tensorOf(backend, shadowHost, Precision::fp32);
    const Tensor real = tensorOf(backend, shadowHost, Precision::fp8_e4m3, scale);
    QCOMPARE(backend.fp8Scale(real), scale);
    ShadowTally tally;
    backend.measureShadow(shadow, &real, Precision::fp8_e4m3, tally);
    backend.synchronize();
    const ShadowStats s = finishShadow(tally);
    QCOMPARE(s.count, 4);
    QCOMPARE(s.underflows, 1);     // 2^-30 * 2^10 = 2^-20, still below e4m3's 2^-10
    QCOMPARE(s.overflows, 1);      // 0.5
    QCOMPARE(s.precisionLoss, 1);  // 2^-19
    const ShadowStats host = measureShadow(shadowHost, hostOf(backend, real), Precision::fp8_e4m3, scale);
    compareCounts(s, host, "host, scaled");
    const ShadowStats unscaled = measureAsBefore(shadowHost, {}, Precision::fp8_e4m3);
    QCOMPARE(unscaled.underflows, 3);  // what the unscaled format said
    QCOMPARE(unscaled.overflows, 0);
  }

  // A whole fp8 step (delayed scaling): every record's shadow equals the host measure of
  // the shadow's values against the format scaled by the scale of the run's tensor of
  // that record, and some record's scale changes what it says.
  void fp8RunMeasuresEachTensorWithItsScale() {
    json file = smallDeepSigmoid(true);
    for (json& layer : file["network"]["layers"]) layer["precision"] = "fp8_e4m3";
    file["fp8"] = {{"history", 4}, {"margin", 0}, {"forward", "fp8_e4m3"}, {"backward", "fp8_e5m2"}};
    file["master_weights"] = true;
    const Experiment e = parseExperiment(file);
    const Dataset data = loadDataset(e.dataset, e.seed);
    CpuBackend backend;
    Network real(e.network, data.sampleShape, backend, e.seed, e.masterWeights, e.fp8);
    real.allocateOptimizerState(e.optimizer.kind);
    auto state = backend.createStepState(e.lossScaling, int(real.gradientsInBackwardOrder().size()));
    StepBuffers buffers = makeStepBuffers(backend, data, e.batchSize);
    StepRunner runner(backend, false);
    BatchIterator batches(data, e.batchSize, e.seed);
    batches.startEpoch(0);
    std::vector<float> x, y;
    ShadowPass shadow(e, data.sampleShape, backend);
    int scaledDiffers = 0, checked = 0;
    for (std::int64_t step = 1; step <= 4; ++step) {
      QVERIFY(batches.next(x, y));
      backend.upload(x.data(), buffers.input);
      backend.upload(y.data(), buffers.target);
      shadow.run(real, buffers, e.network.loss, 1.0f, step);
      real.setStatsEnabled(true);
      real.setCaptureEnabled(true);
      runner.run(real, *state, buffers, e.network.loss, e.hyperAt(step, 4), step);
      real.setCaptureEnabled(false);
      real.setStatsEnabled(false);
      std::vector<LayerStatsRecord> records = real.takeStats(step);
      const auto captured = real.takeCaptured();
      shadow.attach(records, captured);
      QVERIFY(!records.empty());
      for (const LayerStatsRecord& r : records) {
        QVERIFY(r.hasShadow);
        const Network::CapturedTensors* s = nullptr;
        const Network::CapturedTensors* m = nullptr;
        for (const auto& c : shadow.tensors())
          if (c.layerIndex == r.layerIndex && c.kind == r.kind) s = &c;
        for (const auto& c : captured)
          if (c.layerIndex == r.layerIndex && c.kind == r.kind) m = &c;
        QVERIFY(s && m && s->tensors.size() == m->tensors.size());
        const Precision format = *parsePrecision(r.precision);
        ShadowTally want, unscaled;
        for (std::size_t i = 0; i < s->tensors.size(); ++i) {
          const float scale = backend.fp8Scale(m->tensors[i]);
          measureShadowReference(hostOf(backend, s->tensors[i]), hostOf(backend, m->tensors[i]), format, scale, want);
          measureShadowReference(hostOf(backend, s->tensors[i]), {}, format, 1.0f, unscaled);
        }
        compareCounts(r.shadow, finishShadow(want), r.layerName.c_str());
        ++checked;
        scaledDiffers += (unscaled.underflows != want.underflows || unscaled.overflows != want.overflows ||
                          unscaled.precisionLoss != want.precisionLoss);
      }
      backend.drainStepRecords(*state);
    }
    QVERIFY(checked > 0);
    QVERIFY2(scaledDiffers > 0, "no record's scale changed what the shadow says: the test proves nothing");
  }

  // selftest's check on the CPU backend: the shadow equals an fp32 run of the same step.
  void shadowEqualsAnFp32StepOnEveryFormat() {
    CpuBackend backend;
    const auto results = checkShadowPass(backend);
    QCOMPARE(results.size(), std::size_t(4));
    for (const auto& r : results)
      QVERIFY2(r.pass, qPrintable(QString::fromStdString(r.format + ": " + r.detail)));
  }

  // The shadow's memory: in the estimate before training and in the run's summary, as
  // its own kind; nothing without shadow_stats.
  void memoryCountsTheShadow() {
    const Experiment on = parseExperiment(smallDeepSigmoid(true));
    const Experiment off = parseExperiment(smallDeepSigmoid(false));
    const Dataset data = loadDataset(on.dataset, on.seed);
    const auto shapes = inferShapesForDataset(on.network, data);
    const auto withShadow = estimateTrainingMemory(shapes, on);
    const auto without = estimateTrainingMemory(shapes, off);
    std::int64_t fp32Network = 0;  // the shadow network as a run counts its own memory
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      QCOMPARE(without[i].shadowBytes, 0.0);
      const double params = double(shapes[i].parameterCount), outputs = double(shapes[i].outputShape.numel());
      QCOMPARE(withShadow[i].shadowBytes, 8 * params + 8 * on.batchSize * outputs);
      QCOMPARE(withShadow[i].total(), without[i].total() + withShadow[i].shadowBytes);
      fp32Network += std::int64_t(8 * params + 4 * on.batchSize * outputs);
    }
    QVERIFY(fp32Network > 0);
    const RecordingObserver a = train(smallDeepSigmoid(true));
    const RecordingObserver b = train(smallDeepSigmoid(false));
    QCOMPARE(a.finished.memory.shadow, fp32Network);
    QCOMPARE(b.finished.memory.shadow, std::int64_t(0));
    QCOMPARE(a.finished.memory.total(), b.finished.memory.total());  // the run's network: the same
  }

  // bench --shadow's figure: each round a whole pass and an fp32 step, side by side; the
  // pass measures every value a statistics step records (outputs; input gradients but
  // the first layer's; parameter gradients).
  void shadowCostTimesWholePasses() {
    const Experiment e = parseExperiment(smallDeepSigmoid(true));
    const Dataset data = loadDataset(e.dataset, e.seed);
    CpuBackend backend;
    const ShadowCost cost = measureShadowCost(e, data, backend, 5, 2);
    QCOMPARE(cost.rounds, 5);
    QVERIFY(cost.fp32StepMs > 0 && cost.shadowRunMs > 0 && cost.measureMs > 0);
    QVERIFY(cost.shadowMs >= cost.shadowRunMs);
    QVERIFY(cost.pairedRatio > 0 && cost.ratio() > 0);
    std::int64_t values = 0;
    const auto shapes = inferShapesForDataset(e.network, data);
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      values += e.batchSize * shapes[i].outputShape.numel() + shapes[i].parameterCount;
      if (i > 0) values += e.batchSize * shapes[i].inputShape.numel();
    }
    QCOMPARE(cost.values, values);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, measureShadowCost(e, data, backend, 0, 0));
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
