// The trainer on the real CPU backend, real synthetic datasets and real SQLite files:
// reproducibility, learning, the skipped step and the culprit of an overflow, the
// non-finite loss that ends a run, stop requests, statistics, and the store.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "backend/registry.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "model/network.h"
#include "recording_observer.h"
#include "store/store.h"
#include "train/run_summary.h"
#include "train/speed_benchmark.h"
#include "train/store_recorder.h"
#include "train/trainer.h"
#include "train/training_step.h"

using namespace plab;
using nlohmann::json;
using plab::test::RecordingObserver;

namespace {

// Two spirals, a small MLP: trains in well under a second per epoch on one core.
json spiralsFile() {
  return json{
      {"title", "test spirals"},
      {"seed", 7},
      {"dataset", {{"name", "spirals"}, {"train_size", 1024}, {"test_size", 256}, {"noise", 0.05}}},
      {"network",
       {{"layers",
         json::array({{{"type", "linear"}, {"out", 48}}, {{"type", "tanh"}}, {{"type", "linear"}, {"out", 48}},
                      {{"type", "tanh"}}, {{"type", "linear"}, {"out", 2}}})},
        {"loss", "cross_entropy"}}},
      {"optimizer", {{"type", "adam"}, {"lr", 0.01}}},
      {"batch_size", 32},
      {"epochs", 2},
      {"stats_interval", 0},
  };
}

std::uint32_t bitsOf(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

struct Fixture {
  Experiment experiment;
  Dataset data;
  std::unique_ptr<Backend> backend;
  RunControl control;
  RecordingObserver observer;
  explicit Fixture(const json& file) {
    experiment = parseExperiment(file);
    data = loadDataset(experiment.dataset, experiment.seed);
    std::string note;
    backend = createBackend("cpu", note);
    observer.control = &control;
  }
  RunOutcome run() {
    Trainer trainer(experiment, data, *backend, observer, control);
    return trainer.run();
  }
};

std::vector<float> download(Backend& backend, const Tensor& t) {
  std::vector<float> host(std::size_t(t.numel()));
  backend.download(t, host.data());
  return host;
}

}  // namespace

class TestTrainer : public QObject {
  Q_OBJECT
 private slots:
  // The summary spells NaN and the infinities as every other JSON does
  // (docs/protocol.md, "Numbers"), and null only for "no accuracy".
  void summarySpellsNonFiniteNumbersAsStrings() {
    RunOutcome o;
    o.status = RunStatus::failed;
    o.finalTrainLoss = std::numeric_limits<double>::quiet_NaN();
    o.testLoss = std::numeric_limits<double>::infinity();
    o.finalLossScale = 65536;
    o.testAccuracy = -1;
    BackendInfo cpu;
    cpu.name = "cpu";
    cpu.device = "test";
    const nlohmann::json j = runSummaryJson(o, 5, cpu);
    QCOMPARE(j["final_train_loss"], nlohmann::json("nan"));
    QCOMPARE(j["test_loss"], nlohmann::json("inf"));
    QCOMPARE(j["final_loss_scale"].get<double>(), 65536.0);
    QVERIFY(j["test_accuracy"].is_null());
    QCOMPARE(j["backend"].get<std::string>(), std::string("cpu"));
  }

  void sameSeedGivesBitIdenticalLosses() {
    Fixture a(spiralsFile()), b(spiralsFile());
    a.run();
    b.run();
    QCOMPARE(a.observer.steps.size(), b.observer.steps.size());
    QVERIFY(!a.observer.steps.empty());
    for (std::size_t i = 0; i < a.observer.steps.size(); ++i) {
      const float la = float(a.observer.steps[i].loss), lb = float(b.observer.steps[i].loss);
      if (bitsOf(la) != bitsOf(lb))
        QFAIL(qPrintable(QString("step %1: loss 0x%2 vs 0x%3").arg(i + 1).arg(bitsOf(la), 8, 16, QChar('0')).arg(bitsOf(lb), 8, 16, QChar('0'))));
    }
    QCOMPARE(a.observer.finished.testLoss, b.observer.finished.testLoss);
  }

  void differentSeedGivesDifferentLosses() {
    json other = spiralsFile();
    other["seed"] = 8;
    Fixture a(spiralsFile()), b(other);
    a.run();
    b.run();
    QVERIFY(a.observer.steps.front().loss != b.observer.steps.front().loss);
  }

  void spiralsTrainsToHighAccuracy() {
    json file = spiralsFile();
    file["epochs"] = 25;
    file["schedule"] = {{"type", "cosine"}, {"min_lr", 0.0005}};  // a calm ending: the last epoch's accuracy is the figure
    file["network"]["layers"] = json::array({{{"type", "linear"}, {"out", 64}}, {{"type", "relu"}}, {{"type", "linear"}, {"out", 64}},
                      {{"type", "relu"}}, {{"type", "linear"}, {"out", 2}}});
    Fixture f(file);
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::completed));
    QCOMPARE(out.steps, std::int64_t(25 * (1024 / 32)));
    QCOMPARE(f.observer.epochs.size(), std::size_t(25));
    if (out.testAccuracy < 0.95) QFAIL(qPrintable(QString("test accuracy %1 < 0.95").arg(out.testAccuracy)));
    QVERIFY(f.observer.epochs.back().trainLoss < f.observer.epochs.front().trainLoss);
    QCOMPARE(f.observer.finishedCalls, 1);
  }

  // A static scale of 1e9 overflows the fp16 gradients of layers[0] but not the fp32
  // ones of layers[2]: every step is skipped, the weights never move, and the
  // culprit is the fp16 layer, not merely the last layer in backward order.
  void skipsStepOnOverflowAndNamesCulprit() {
    json file = spiralsFile();
    file["network"]["layers"] = json::array({{{"type", "linear"}, {"out", 32}, {"precision", "fp16"}},
                                             {{"type", "relu"}, {"precision", "fp16"}},
                                             {{"type", "linear"}, {"out", 2}, {"precision", "fp32"}}});
    file["loss_scaling"] = {{"mode", "static"}, {"scale", 1e9}};
    file.erase("epochs");
    file["steps"] = 5;
    Fixture f(file);
    Trainer trainer(f.experiment, f.data, *f.backend, f.observer, f.control);
    const std::vector<float> before = download(*f.backend, trainer.network().parameters()[0].working);
    const RunOutcome out = trainer.run();
    const std::vector<float> after = download(*f.backend, trainer.network().parameters()[0].working);
    QCOMPARE(out.skippedSteps, std::int64_t(5));
    QCOMPARE(out.overflowEvents, std::int64_t(5));
    QCOMPARE(f.observer.overflows.size(), std::size_t(5));
    for (const auto& e : f.observer.overflows) {
      QCOMPARE(e.layers.size(), std::size_t(1));
      QCOMPARE(QString::fromStdString(e.layers[0]), QStringLiteral("layers[0] linear"));
      QCOMPARE(e.scaleAfter, double(1e9f));  // static: never backs off
    }
    for (const auto& s : f.observer.steps) {
      QVERIFY(s.skipped && s.overflow);
      QCOMPARE(QString::fromStdString(s.culprit), QStringLiteral("layers[0] linear"));
    }
    QVERIFY2(before == after, "a skipped step changed the weights");
  }

  void dynamicScaleBacksOffThenTrains() {
    json file = spiralsFile();
    file["network"]["layers"][0]["precision"] = "fp16";
    file["network"]["layers"][1]["precision"] = "fp16";
    file["loss_scaling"] = {{"mode", "dynamic"}, {"init_scale", 1e9}, {"growth_interval", 20}};
    Fixture f(file);
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::completed));
    QVERIFY(!f.observer.overflows.empty());
    const auto& first = f.observer.overflows.front();
    QCOMPARE(first.step, std::int64_t(1));
    QCOMPARE(first.scaleAfter, first.scaleBefore * 0.5);
    QVERIFY(out.skippedSteps < out.steps / 2);
    QVERIFY(!f.observer.growths.empty());  // interval 20: grows again once clean
    for (const auto& g : f.observer.growths) QCOMPARE(g.scaleAfter, g.scaleBefore * 2);
  }

  // An fp16 layer initialised 1e5 times too large overflows its output at step 1:
  // the loss is NaN, the run fails, and the message names the step and the layer.
  void nonFiniteLossFailsNamingStepAndLayer() {
    json file = spiralsFile();
    file["network"]["layers"] = json::array({{{"type", "linear"}, {"out", 16}, {"precision", "fp32"}},
                                             {{"type", "linear"}, {"out", 16}, {"precision", "fp16"}, {"init_gain", 1e6}},
                                             {{"type", "relu"}, {"precision", "fp16"}},
                                             {{"type", "linear"}, {"out", 2}}});
    file["loss_scaling"] = {{"mode", "dynamic"}};
    Fixture f(file);
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::failed));
    const QString message = QString::fromStdString(out.error);
    QVERIFY2(message.startsWith("step 1: the loss is"), qPrintable(message));
    QVERIFY2(message.contains("layers[1] linear (fp16)"), qPrintable(message));
    QCOMPARE(out.failedLayer, std::string("layers[1] linear"));
    QCOMPARE(out.steps, std::int64_t(1));
    QCOMPARE(f.observer.finishedCalls, 1);
    // The overflow came from the layer's own product, not from its input.
    QVERIFY2(!message.contains("its input held"), qPrintable(message));
  }

  // Inputs beyond the first layer's format (dataset.input_scale): the run names the
  // layer and says that its input could not be converted (lesson 6).
  void inputBeyondTheFormatIsNamed() {
    json file = spiralsFile();
    file["dataset"]["input_scale"] = 1e5;
    file["network"]["layers"] = json::array({{{"type", "batchnorm1d"}, {"precision", "fp16"}},
                                             {{"type", "linear"}, {"out", 2}, {"precision", "fp16"}}});
    Fixture f(file);
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::failed));
    const QString message = QString::fromStdString(out.error);
    QCOMPARE(out.failedLayer, std::string("layers[0] batchnorm1d"));
    QVERIFY2(message.contains("its input held values up to") && message.contains("beyond fp16's largest 65504"),
             qPrintable(message));
    QCOMPARE(runSummaryJson(out, 1, f.backend->info())["failed_layer"], json("layers[0] batchnorm1d"));
    // The same file with the batch norm in fp32 trains.
    file["network"]["layers"][0]["precision"] = "fp32";
    Fixture fixed(file);
    QCOMPARE(int(fixed.run().status), int(RunStatus::completed));
  }

  // fp8.scaling "none": every fp8 tensor keeps scale 1, so values below the format's
  // smallest subnormal are zeros; delayed scaling moves them into range.
  void fp8WithoutScalingKeepsScaleOne() {
    json file = spiralsFile();
    file["network"]["layers"] = json::array({{{"type", "linear"}, {"out", 8}, {"precision", "fp8_e4m3"}, {"init_gain", 1e-4}},
                                             {{"type", "linear"}, {"out", 2}}});
    file["master_weights"] = true;
    for (const char* mode : {"none", "delayed"}) {
      file["fp8"] = {{"scaling", mode}};
      Fixture f(file);
      Network net(f.experiment.network, f.data.sampleShape, *f.backend, f.experiment.seed, true, f.experiment.fp8);
      const Tensor& w = net.parameters().front().working;
      const std::vector<float> values = download(*f.backend, w);
      const bool allZero = std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; });
      // Weights of about 1e-5 lie below E4M3's smallest subnormal (2^-9) unscaled.
      QVERIFY2(allZero == (std::string(mode) == "none"), mode);
    }
  }

  void stopRequestCancelsBetweenSteps() {
    Fixture f(spiralsFile());
    f.observer.stopAfterStep = 10;
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::cancelled));
    QCOMPARE(out.steps, std::int64_t(10));
    QCOMPARE(f.observer.steps.size(), std::size_t(10));
  }

  void collectsLayerStatisticsEveryInterval() {
    json file = spiralsFile();
    file["stats_interval"] = 16;
    file["epochs"] = 1;
    Fixture f(file);
    f.run();
    // Steps 1, 16 and 32 of 32; each: activations and gradients of all 5 layers.
    std::set<std::int64_t> statSteps;
    int activations = 0, gradients = 0;
    for (const auto& r : f.observer.stats) {
      statSteps.insert(r.step);
      (r.kind == StatsKind::activation ? activations : gradients) += 1;
      QVERIFY(r.stats.count > 0);
    }
    QCOMPARE(statSteps, (std::set<std::int64_t>{1, 16, 32}));
    QCOMPARE(activations, 3 * 5);
    QVERIFY(gradients >= 3 * 3);
  }

  void logIntervalBatchesRecordsWithoutLosingSteps() {
    json file = spiralsFile();
    file["log_interval"] = 7;
    file["epochs"] = 1;
    Fixture a(file), b(spiralsFile());
    a.run();
    QCOMPARE(a.observer.steps.size(), std::size_t(32));
    for (std::size_t i = 0; i < a.observer.steps.size(); ++i) QCOMPARE(a.observer.steps[i].step, std::int64_t(i + 1));
  }

  void evaluatesEveryEvalIntervalAndAtEpochEnd() {
    json file = spiralsFile();
    file["epochs"] = 1;
    file["eval_interval"] = 10;
    Fixture f(file);
    f.run();
    std::vector<std::int64_t> steps;
    for (const auto& e : f.observer.epochs) steps.push_back(e.step);
    QCOMPARE(steps, (std::vector<std::int64_t>{10, 20, 30, 32}));
    QCOMPARE(f.observer.epochs.front().trainAccuracy, -1.0);  // interval evaluations: test set only
    QVERIFY(f.observer.epochs.back().trainAccuracy >= 0);     // epoch end: train accuracy too
  }

  void regressionWithMseLearnsSine() {
    json file = spiralsFile();
    file["dataset"] = {{"name", "sine"}, {"train_size", 1024}, {"test_size", 256}};
    file["network"] = {{"layers", json::array({{{"type", "linear"}, {"out", 32}}, {{"type", "tanh"}},
                                               {{"type", "linear"}, {"out", 1}}})},
                       {"loss", "mse"}};
    file["epochs"] = 10;
    Fixture f(file);
    const RunOutcome out = f.run();
    QCOMPARE(int(out.status), int(RunStatus::completed));
    QCOMPARE(out.testAccuracy, -1.0);  // not a classification task
    const double first = f.observer.epochs.front().testLoss, last = out.testLoss;
    QVERIFY2(last < 0.5 * first, qPrintable(QString("test loss %1 -> %2").arg(first).arg(last)));
  }

  void writesARunTheStoreCanRead() {
    QTemporaryDir dir;
    const std::string db = dir.filePath("runs.sqlite").toStdString();
    json file = spiralsFile();
    file["stats_interval"] = 10;
    std::int64_t runId = 0;
    {
      Fixture f(file);
      StoreRecorder store(db);
      ObserverList both;
      both.add(&store);
      both.add(&f.observer);
      Trainer trainer(f.experiment, f.data, *f.backend, both, f.control);
      trainer.run();
      runId = store.runId();
    }
    RunReader reader(db);
    const auto info = reader.getRun(runId);
    QVERIFY(info.has_value());
    QCOMPARE(QString(toString(info->status)), QStringLiteral("completed"));
    QCOMPARE(QString::fromStdString(info->backend), QStringLiteral("cpu"));
    QCOMPARE(reader.loadSteps(runId).size(), std::size_t(64));
    QCOMPARE(reader.loadEpochs(runId).size(), std::size_t(2));
    QVERIFY(!reader.loadLayerStats(runId).empty());
    QCOMPARE(info->summary.value("steps", 0), 64);
    // The stored config is an experiment file that parses back to the same experiment.
    QVERIFY(parseExperiment(info->config) == parseExperiment(file));
  }

  void speedBenchmarkMeasuresEveryConfiguration() {
    Fixture f(spiralsFile());
    SpeedOptions options;
    options.warmupSteps = 2;
    options.measuredSteps = 5;
    options.layerTimingSteps = 2;
    const auto results = runSpeedBenchmark(f.experiment, f.data, *f.backend, options);
    QCOMPARE(results.size(), std::size_t(5));
    const char* expected[] = {"fp32", "tf32", "fp16-mixed", "bf16-mixed", "custom"};
    for (std::size_t i = 0; i < results.size(); ++i) {
      const SpeedResult& r = results[i];
      QCOMPARE(QString::fromStdString(r.config), QString(expected[i]));
      QCOMPARE(r.batchSize, 32);
      QCOMPARE(r.measuredSteps, 5);
      QVERIFY2(r.medianStepMs > 0 && r.samplesPerSecond > 0, qPrintable(QString::number(r.medianStepMs)));
      QCOMPARE(r.layers.size(), std::size_t(5));
      QCOMPARE(QString::fromStdString(r.layers[0].layerName), QStringLiteral("layers[0] linear"));
      QVERIFY(r.layers[0].forwardMs > 0 && r.layers[0].backwardMs > 0);
    }
    // The configurations really differ in precision (and only there).
    const Experiment fp16 = speedConfigExperiment(f.experiment, "fp16-mixed");
    QCOMPARE(int(fp16.network.layers[2].precision), int(Precision::fp16));
    QCOMPARE(int(fp16.lossScaling.mode), int(LossScaleMode::dynamic));
    QVERIFY(fp16.masterWeights);
    QCOMPARE(int(speedConfigExperiment(f.experiment, "tf32").network.layers[0].precision), int(Precision::tf32));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, speedConfigExperiment(f.experiment, "fp12"));
  }

  // "config@layout" picks the convolution layout of one configuration; the CPU
  // backend runs only nchw, so asking it for nhwc is an error that says so.
  void speedBenchmarkTakesAConvLayoutSuffix() {
    Fixture f(spiralsFile());
    SpeedOptions options;
    options.warmupSteps = 1;
    options.measuredSteps = 2;
    options.layerTimingSteps = 1;
    options.configs = {"fp16-mixed@nchw"};
    const auto results = runSpeedBenchmark(f.experiment, f.data, *f.backend, options);
    QCOMPARE(results.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(results[0].config), QStringLiteral("fp16-mixed@nchw"));
    options.configs = {"fp16-mixed@nhwc"};
    try {
      runSpeedBenchmark(f.experiment, f.data, *f.backend, options);
      QFAIL("the CPU backend accepted an nhwc configuration");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("fp16-mixed@nhwc") && QString(e.what()).contains("nchw only"), e.what());
    }
    options.configs = {"fp16-mixed@chw"};
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, runSpeedBenchmark(f.experiment, f.data, *f.backend, options));
    QCOMPARE(int(f.backend->convLayout()), int(ConvLayoutChoice::nchw));
  }
  // The capture key (train/training_step.h): the same inputs give the same key; each
  // thing a captured step bakes in changes it; the learning rate, passed at each
  // replay, does not.
  void captureKeyFollowsWhatShapesTheStep() {
    Fixture f(spiralsFile());
    Backend& be = *f.backend;
    Network network(f.experiment.network, f.data.sampleShape, be, f.experiment.seed, true, f.experiment.fp8);
    network.allocateOptimizerState(OptimizerKind::adam);
    const int grads = int(network.gradientsInBackwardOrder().size());
    auto state = be.createStepState(f.experiment.lossScaling, grads);
    StepBuffers buffers = makeStepBuffers(be, f.data, 32);
    OptimizerHyper hyper;
    const LossKind ce = LossKind::cross_entropy;
    const auto key = stepCaptureKey(be, network, *state, buffers, ce, hyper);
    QCOMPARE(stepCaptureKey(be, network, *state, buffers, ce, hyper), key);

    OptimizerHyper otherLr = hyper;
    otherLr.lr = 0.5f;
    QCOMPARE(stepCaptureKey(be, network, *state, buffers, ce, otherLr), key);
    for (float OptimizerHyper::*field : {&OptimizerHyper::momentum, &OptimizerHyper::beta1, &OptimizerHyper::beta2,
                                         &OptimizerHyper::eps, &OptimizerHyper::weightDecay,
                                         &OptimizerHyper::clipNorm}) {
      OptimizerHyper changed = hyper;
      changed.*field += 0.25f;
      QVERIFY(stepCaptureKey(be, network, *state, buffers, ce, changed) != key);
    }
    OptimizerHyper nesterov = hyper, sgd = hyper;
    nesterov.nesterov = true;
    sgd.kind = OptimizerKind::sgd;
    QVERIFY(stepCaptureKey(be, network, *state, buffers, ce, nesterov) != key);
    QVERIFY(stepCaptureKey(be, network, *state, buffers, ce, sgd) != key);
    QVERIFY(stepCaptureKey(be, network, *state, buffers, LossKind::mse, hyper) != key);

    auto otherState = be.createStepState(f.experiment.lossScaling, grads);
    QVERIFY(stepCaptureKey(be, network, *otherState, buffers, ce, hyper) != key);
    StepBuffers larger = makeStepBuffers(be, f.data, 64);
    QVERIFY(stepCaptureKey(be, network, *state, larger, ce, hyper) != key);
    // The same storage seen with another shape (a smaller last batch, say).
    StepBuffers reshaped = buffers;
    reshaped.input = buffers.input.reshaped(Shape{16, buffers.input.numel() / 16});
    QVERIFY(stepCaptureKey(be, network, *state, reshaped, ce, hyper) != key);
    StepBuffers withGradient = buffers;
    withGradient.dOutput = be.empty(Shape{32, 2}, network.outputGradPrecision());
    QVERIFY(stepCaptureKey(be, network, *state, withGradient, ce, hyper) != key);
    // A parameter's tensor replaced (a new address): the graph's pointers are stale.
    const Tensor old = network.parameters()[0].grad;
    network.parameters()[0].grad = be.empty(old.shape(), old.precision());
    QVERIFY(stepCaptureKey(be, network, *state, buffers, ce, hyper) != key);
    network.parameters()[0].grad = old;
    QCOMPARE(stepCaptureKey(be, network, *state, buffers, ce, hyper), key);
  }
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
