// Adaptive precision (docs/architecture.md, "Adaptive precision"): the ladder, the rule
// that decides from statistics records, a layer promoted in a real network on the CPU
// backend, and whole runs of the shipped fp16-without-loss-scaling experiment through
// the trainer into a real SQLite store.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

#include "backend/registry.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "model/network.h"
#include "recording_observer.h"
#include "store/store.h"
#include "train/precision_policy.h"
#include "train/run_summary.h"
#include "train/store_recorder.h"
#include "train/trainer.h"

using namespace plab;
using nlohmann::json;
using plab::test::RecordingObserver;

namespace {

LayerStatsRecord record(std::int64_t step, int layer, StatsKind kind, const char* precision, std::int64_t count,
                        std::int64_t underflows, std::int64_t overflows = 0) {
  LayerStatsRecord r;
  r.step = step;
  r.layerIndex = layer;
  r.layerName = "layers[" + std::to_string(layer) + "]";
  r.kind = kind;
  r.precision = precision;
  r.stats.count = count;
  r.stats.underflows = underflows;
  r.stats.overflows = overflows;
  return r;
}

std::vector<LayerSpec> layers(std::initializer_list<std::pair<LayerType, Precision>> list) {
  std::vector<LayerSpec> out;
  for (const auto& [type, precision] : list) {
    LayerSpec s = defaultLayerSpec(type);
    s.precision = precision;
    out.push_back(s);
  }
  return out;
}

PrecisionPolicy adaptive(double underflowLimit, double overflowLimit, int patience) {
  PrecisionPolicy p;
  p.mode = PrecisionPolicyMode::adaptive;
  p.underflowLimit = underflowLimit;
  p.overflowLimit = overflowLimit;
  p.patience = patience;
  return p;
}

json shippedNoScaling() {
  std::ifstream in(PLAB_SOURCE_DIR "/experiments/fp16-no-loss-scaling.json");
  return json::parse(in);
}

std::vector<float> download(Backend& backend, const Tensor& t) {
  std::vector<float> host(std::size_t(t.numel()));
  backend.download(t, host.data());
  return host;
}

}  // namespace

class TestAdaptivePrecision : public QObject {
  Q_OBJECT

 private slots:
  void everyFormatClimbsToFp32() {
    for (Precision p : kAllPrecisions) {
      Precision at = p;
      int steps = 0;
      while (const auto next = promotedFormat(at)) {
        QVERIFY2(next != at, toString(at).data());
        at = *next;
        QVERIFY2(++steps <= 3, toString(p).data());
      }
      QCOMPARE(int(at), int(Precision::fp32));
    }
    QCOMPARE(int(*promotedFormat(Precision::mxfp4)), int(Precision::mxfp8_e4m3));
    QCOMPARE(int(*promotedFormat(Precision::nvfp4)), int(Precision::mxfp8_e4m3));
    QCOMPARE(int(*promotedFormat(Precision::fp8_e4m3)), int(Precision::bf16));
    QCOMPARE(int(*promotedFormat(Precision::fp16)), int(Precision::bf16));
    QCOMPARE(int(*promotedFormat(Precision::bf16)), int(Precision::fp32));
    QVERIFY(!promotedFormat(Precision::fp32));
  }

  void promotesAfterPatienceStepsInARow() {
    PrecisionPromoter promoter(adaptive(0.05, 0, 2));
    const auto net = layers({{LayerType::linear, Precision::fp16}, {LayerType::sigmoid, Precision::fp16}});
    // Step 25: layer 0's gradients lose 40%; step 50: healthy again (the count restarts);
    // steps 75 and 100: 40% and 60%: promoted at 100.
    QVERIFY(promoter.observe(std::vector{record(25, 0, StatsKind::gradient, "fp16", 100, 40)}, net).empty());
    QVERIFY(promoter.observe(std::vector{record(50, 0, StatsKind::gradient, "fp16", 100, 1)}, net).empty());
    QVERIFY(promoter.observe(std::vector{record(75, 0, StatsKind::gradient, "fp16", 100, 40)}, net).empty());
    const auto out = promoter.observe(
        std::vector{record(100, 0, StatsKind::gradient, "fp16", 100, 60), record(100, 1, StatsKind::gradient, "fp16", 100, 5)},
        net);
    QCOMPARE(out.size(), std::size_t(1));
    QCOMPARE(out[0].step, std::int64_t(100));
    QCOMPARE(out[0].layerIndex, 0);
    QCOMPARE(out[0].layerName, std::string("layers[0] linear"));
    QCOMPARE(out[0].from, std::string("fp16"));
    QCOMPARE(out[0].to, std::string("bf16"));
    QCOMPARE(out[0].reason,
             std::string("gradients: 60.0% became zero when rounded into fp16 at statistics steps 75, 100 (limit 5.0%)"));
    // Layer 1 sat exactly at the limit (5%): not beyond it, never counted.
  }

  void shadowSharesDecideWhenTheRunHasThem() {
    PrecisionPromoter promoter(adaptive(0.05, 0, 1));
    const auto net = layers({{LayerType::linear, Precision::fp16}});
    // In the format the gradient is already zero (nothing "became" zero); the shadow
    // shows that 30% would underflow.
    LayerStatsRecord r = record(25, 0, StatsKind::gradient, "fp16", 100, 0);
    r.hasShadow = true;
    r.shadow.count = 100;
    r.shadow.underflows = 30;
    const auto out = promoter.observe(std::vector{r}, net);
    QCOMPARE(out.size(), std::size_t(1));
    QVERIFY2(out[0].reason.find("30.0% would underflow in fp16") != std::string::npos, out[0].reason.c_str());
  }

  void overflowsOfActivationsCountAndOfGradientsDoNot() {
    PrecisionPromoter promoter(adaptive(0.05, 0.001, 1));
    const auto net = layers({{LayerType::linear, Precision::fp16}, {LayerType::linear, Precision::fp16}});
    const auto out = promoter.observe(std::vector{record(25, 0, StatsKind::gradient, "fp16", 1000, 0, 500),
                                                  record(25, 1, StatsKind::activation, "fp16", 1000, 0, 2)},
                                      net);
    QCOMPARE(out.size(), std::size_t(1));
    QCOMPARE(out[0].layerIndex, 1);
    QCOMPARE(out[0].reason, std::string("activations: 0.2% overflowed fp16 at statistics step 25 (limit 0.1%)"));
  }

  void fp32AndBatchNormAreNeverPromoted() {
    PrecisionPromoter promoter(adaptive(0.0, 0.0, 1));
    const auto net = layers({{LayerType::linear, Precision::fp32}, {LayerType::batchnorm1d, Precision::fp16}});
    const auto out = promoter.observe(std::vector{record(25, 0, StatsKind::gradient, "fp32", 100, 50),
                                                  record(25, 1, StatsKind::gradient, "fp16", 100, 50)},
                                      net);
    QVERIFY(out.empty());
  }

  void promotedLayerKeepsItsValuesAndState_data() {
    QTest::addColumn<bool>("master");
    QTest::newRow("master weights") << true;
    QTest::newRow("no master weights") << false;
  }
  void promotedLayerKeepsItsValuesAndState() {
    QFETCH(bool, master);
    std::string note;
    auto backend = createBackend("cpu", note);
    NetworkSpec spec;
    for (const auto& l : layers({{LayerType::linear, Precision::fp16}, {LayerType::relu, Precision::fp16},
                                 {LayerType::linear, Precision::fp16}})) spec.layers.push_back(l);
    spec.layers[0].out = 24;
    spec.layers[2].out = 3;
    Network net(spec, Shape{5}, *backend, 11, master);
    net.allocateOptimizerState(OptimizerKind::adam);
    ParamSlot& w = net.parameters()[0];
    std::vector<float> state(std::size_t(w.state1.numel()));
    for (std::size_t i = 0; i < state.size(); ++i) state[i] = 0.001f * float(i);
    backend->upload(state.data(), w.state1);
    const std::vector<float> before = download(*backend, master ? w.master : w.working);
    const MemoryUse memoryBefore = net.memoryUse(8);

    net.promoteLayer(0, Precision::fp32);

    ParamSlot& after = net.parameters()[0];
    QCOMPARE(int(after.working.precision()), int(Precision::fp32));
    QCOMPARE(int(after.grad.precision()), int(Precision::fp32));
    QCOMPARE(after.master.defined(), master);
    // fp16 values (or their fp32 master) widen into fp32 exactly.
    QCOMPARE(download(*backend, after.working), before);
    if (master) QCOMPARE(download(*backend, after.master), before);
    QCOMPARE(download(*backend, after.state1), state);
    QCOMPARE(int(net.currentSpec().layers[0].precision), int(Precision::fp32));
    QCOMPARE(int(net.summary()[0].precision), int(Precision::fp32));
    QCOMPARE(int(net.currentSpec().layers[2].precision), int(Precision::fp16));
    // Layer 0's weights and output now take 4 bytes a value, not 2.
    const MemoryUse memoryAfter = net.memoryUse(8);
    QCOMPARE(memoryAfter.weights - memoryBefore.weights, std::int64_t(2 * (24 * 5 + 24)));
    QCOMPARE(memoryAfter.activations - memoryBefore.activations, std::int64_t(2 * 24 * 8));

    // It still trains: forward and backward run with the new formats, and the
    // promoted layer gets a gradient in fp32.
    Tensor x = backend->empty(Shape{8, 5}, Precision::fp32);
    std::vector<float> input(40);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = std::sin(float(i));
    backend->upload(input.data(), x);
    const Tensor& out = net.forward(x, true, 1);
    QCOMPARE(out.shape(), (Shape{8, 3}));
    Tensor dOut = backend->empty(out.shape(), net.outputGradPrecision());
    std::vector<float> ones(24, 0.5f);
    backend->upload(ones.data(), dOut);
    net.backward(dOut);
    const std::vector<float> g = download(*backend, net.parameters()[0].grad);
    QVERIFY(std::any_of(g.begin(), g.end(), [](float v) { return v != 0; }));
  }

  void batchNormIsRefusedByName() {
    std::string note;
    auto backend = createBackend("cpu", note);
    NetworkSpec spec;
    for (const auto& l : layers({{LayerType::linear, Precision::fp16}, {LayerType::batchnorm1d, Precision::fp16}}))
      spec.layers.push_back(l);
    spec.layers[0].out = 4;
    Network net(spec, Shape{3}, *backend, 1, true);
    try {
      net.promoteLayer(1, Precision::bf16);
      QFAIL("promoting a batch norm layer did not throw");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(std::string(e.what()).find("layers[1] batchnorm1d") != std::string::npos, e.what());
    }
  }

  // The shipped experiment whose early gradients underflow fp16 (seed 42: the fixed run
  // stays at chance), with the policy on and shadow statistics: the layers whose
  // gradients would underflow move to bf16, the run records each promotion (observer,
  // summary and store agree), and it learns.
  void shippedNoScalingExperimentIsRescued() {
    json file = shippedNoScaling();
    file.erase("epochs");
    file["steps"] = 620;
    file["shadow_stats"] = true;
    {
      Experiment fixed = parseExperiment(file);
      const Dataset data = loadDataset(fixed.dataset, fixed.seed);
      std::string note;
      auto backend = createBackend("cpu", note);
      RecordingObserver observer;
      RunControl control;
      const RunOutcome outcome = Trainer(fixed, data, *backend, observer, control).run();
      QVERIFY2(outcome.testAccuracy < 0.55, std::to_string(outcome.testAccuracy).c_str());
      QVERIFY(outcome.promotions.empty());
    }
    file["precision_policy"] = {{"mode", "adaptive"}, {"underflow_limit", 0.05}, {"patience", 2}};
    const Experiment experiment = parseExperiment(file);
    const Dataset data = loadDataset(experiment.dataset, experiment.seed);
    std::string note;
    auto backend = createBackend("cpu", note);
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.sqlite").toStdString();
    RecordingObserver observer;
    StoreRecorder recorder(db);
    ObserverList all;
    all.add(&recorder);
    all.add(&observer);
    RunControl control;
    Trainer trainer(experiment, data, *backend, all, control);
    const RunOutcome outcome = trainer.run();
    QCOMPARE(int(outcome.status), int(RunStatus::completed));

    QVERIFY2(!observer.promotions.empty(), "no layer was promoted");
    const PrecisionPromotion& first = observer.promotions.front();
    QCOMPARE(first.layerName, std::string("layers[0] linear"));
    QCOMPARE(first.from, std::string("fp16"));
    QCOMPARE(first.to, std::string("bf16"));
    QCOMPARE(first.step, std::int64_t(25));  // statistics at 1 and 25: two in a row beyond 5%
    QVERIFY2(first.reason.find("gradients: ") == 0 && first.reason.find("would underflow in fp16 at statistics "
                                                                          "steps 1, 25 (limit 5.0%)") != std::string::npos,
             first.reason.c_str());
    QVERIFY2(outcome.testAccuracy > 0.6, std::to_string(outcome.testAccuracy).c_str());
    QCOMPARE(outcome.promotions, observer.promotions);
    QCOMPARE(int(trainer.network().currentSpec().layers[0].precision), int(Precision::bf16));

    // Statistics after a promotion are taken in the new format.
    bool sawBf16 = false;
    for (const LayerStatsRecord& r : observer.stats)
      if (r.layerIndex == 0 && r.step > first.step) sawBf16 = sawBf16 || r.precision == "bf16";
    QVERIFY(sawBf16);

    RunReader reader(db);
    const std::int64_t runId = reader.listRuns().front().id;
    QCOMPARE(reader.loadPromotions(runId), observer.promotions);
    const RunRecord stored = reader.loadRecord(runId);
    QCOMPARE(stored.promotions, observer.promotions);
    QCOMPARE(stored.summary["promotions"].size(), observer.promotions.size());
    QCOMPARE(stored.summary["promotions"][0]["to"].get<std::string>(), std::string("bf16"));
    QCOMPARE(stored.summary["memory"]["weights"].get<std::int64_t>(), outcome.memory.weights);
    // The stored config is the experiment as written, policy included.
    QCOMPARE(stored.summary.contains("promotions"), true);
    QCOMPARE(parseExperiment(reader.getRun(runId)->config), experiment);
  }
};

QTEST_GUILESS_MAIN(TestAdaptivePrecision)
#include "tst_adaptive_precision.moc"
