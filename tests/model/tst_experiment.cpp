// Experiment files: every shipped example parses and fits its dataset, bad files
// get messages that name the field and what is allowed, toJson round-trips, and the
// learning-rate schedule.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <map>

#include "data/dataset.h"
#include "model_test_util.h"

// Every format a layer may take, in the table's order (the reader lists them in errors).
#define ALL_FORMATS "fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4, mxint8, nvfp4"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

const json kMinimal = json::parse(R"({
  "dataset": {"name": "spirals"},
  "network": {"layers": [{"type": "linear", "out": 2}]}
})");

QStringList exampleFiles() {
  QDir dir(QStringLiteral(PLAB_SOURCE_DIR "/experiments"));
  QStringList files;
  for (const QString& name : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) files << dir.filePath(name);
  return files;
}

// The examples share a few datasets (Fashion-MNIST takes a second to read): load each once.
const Dataset& datasetFor(const Experiment& e) {
  static std::map<std::string, Dataset> cache;
  const std::string key = e.dataset.dump() + "/" + std::to_string(e.seed);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, loadDataset(e.dataset, e.seed)).first;
  return it->second;
}

QString messageOf(const json& file) {
  try {
    parseExperiment(file);
  } catch (const ExperimentError& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

}  // namespace

class ExperimentFiles : public QObject {
  Q_OBJECT

 private slots:
  void everyExampleParsesAndFitsItsDataset_data() {
    QTest::addColumn<QString>("path");
    for (const QString& f : exampleFiles()) QTest::newRow(qPrintable(QFileInfo(f).fileName())) << f;
  }

  void everyExampleParsesAndFitsItsDataset() {
    QFETCH(QString, path);
    const Experiment e = loadExperimentFile(path.toStdString());
    QVERIFY2(e.title.size() >= 10, "a title a teacher would read");
    QVERIFY2(e.description.size() >= 80, "a description of what it shows and what to look at");
    const Dataset& data = datasetFor(e);
    const auto shapes = inferShapesForDataset(e.network, data);
    QCOMPARE(shapes.size(), e.network.layers.size());
  }

  void shipsTheRequiredExperiments() {
    QStringList names;
    for (const QString& f : exampleFiles()) names << QFileInfo(f).fileName();
    for (const char* required : {"fashion-mnist-mlp.json", "fashion-mnist-mlp-fp16.json", "fashion-mnist-mlp-bf16.json",
                                 "spirals.json"}) {
      QVERIFY2(names.contains(QString::fromLatin1(required)), required);
    }
    QVERIFY2(names.size() >= 10, qPrintable(QString("only %1 files in experiments/").arg(names.size())));
  }

  void everyExampleRoundTrips_data() { everyExampleParsesAndFitsItsDataset_data(); }

  void everyExampleRoundTrips() {
    QFETCH(QString, path);
    const Experiment e = loadExperimentFile(path.toStdString());
    const json written = toJson(e);
    const Experiment again = parseExperiment(written);
    QVERIFY2(again == e, written.dump(2).c_str());
    QCOMPARE(QString::fromStdString(toJson(again).dump()), QString::fromStdString(written.dump()));
  }

  void roundTripKeepsEveryNonDefaultValue() {
    const json file = json::parse(R"({
      "format_version": 1, "title": "t", "description": "d", "seed": 18446744073709551615,
      "dataset": {"name": "shapes", "image_size": 12, "classes": 3},
      "network": {"layers": [
        {"type": "conv2d", "out_channels": 4, "kernel": 5, "stride": 2, "padding": 2, "bias": false,
         "init_gain": 0.25, "precision": "bf16"},
        {"type": "batchnorm2d", "momentum": 0.2, "eps": 0.001, "precision": "fp16"},
        {"type": "leaky_relu", "slope": 0.2, "precision": "fp8_e4m3"},
        {"type": "avgpool2d", "kernel": 3, "stride": 1, "padding": 1, "precision": "tf32"},
        {"type": "flatten"}, {"type": "dropout", "p": 0.25},
        {"type": "linear", "out": 3, "precision": "fp8_e5m2"}], "loss": "cross_entropy"},
      "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 0.0005},
      "schedule": {"type": "step", "step_size": 300, "gamma": 0.5, "warmup_steps": 20},
      "grad_clip_norm": 1.5,
      "loss_scaling": {"mode": "static", "scale": 4096},
      "master_weights": false, "batch_size": 32, "steps": 1234, "stats_interval": 7,
      "log_interval": 3, "eval_interval": 100, "backend": "cpu",
      "fp8": {"history": 4, "margin": 1, "forward": "fp8_e5m2", "backward": "fp8_e5m2"}
    })");
    const Experiment e = parseExperiment(file);
    QCOMPARE(e.seed, std::uint64_t(18446744073709551615ull));
    QCOMPARE(int(e.optimizer.kind), int(OptimizerKind::sgd));
    QVERIFY(e.optimizer.nesterov);
    QCOMPARE(e.gradClipNorm(), 1.5f);
    QCOMPARE(int(e.lossScaling.mode), int(LossScaleMode::fixed));
    QCOMPARE(e.lossScaling.initScale, 4096.0f);
    QCOMPARE(e.steps, std::int64_t(1234));
    QCOMPARE(e.epochs, 0);
    QCOMPARE(formatName(e.fp8.forward), formatName(Precision::fp8_e5m2));
    QCOMPARE(e.network.layers[0].initGain, 0.25f);
    const Experiment again = parseExperiment(toJson(e));
    QVERIFY2(again == e, toJson(e).dump(2).c_str());
    // Written numbers are the short decimals a person typed, not float noise.
    QCOMPARE(QString::fromStdString(toJson(e)["optimizer"]["lr"].dump()), QStringLiteral("0.05"));
  }

  // docs/experiment-format.md is the reference: its example must be a valid file.
  void documentedExampleParses() {
    QFile doc(QStringLiteral(PLAB_SOURCE_DIR "/docs/experiment-format.md"));
    QVERIFY(doc.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(doc.readAll());
    const qsizetype start = text.indexOf("```json\n");
    QVERIFY(start >= 0);
    const qsizetype end = text.indexOf("```", start + 8);
    const std::string example = text.mid(start + 8, end - start - 8).toStdString();
    const Experiment e = parseExperimentText(example, "docs/experiment-format.md");
    QCOMPARE(e.network.layers.size(), std::size_t(3));
    QCOMPARE(int(e.lossScaling.mode), int(LossScaleMode::dynamic));
  }

  void defaultsAreTheDocumentedOnes() {
    const Experiment e = parseExperiment(kMinimal);
    QCOMPARE(int(e.optimizer.kind), int(OptimizerKind::adam));
    QCOMPARE(e.optimizer.lr, 1e-3f);
    QCOMPARE(int(e.lossScaling.mode), int(LossScaleMode::none));
    QVERIFY(e.masterWeights);
    QCOMPARE(e.batchSize, 64);
    QCOMPARE(e.epochs, 1);
    QCOMPARE(e.statsInterval, 50);
    QCOMPARE(formatName(e.network.layers[0].precision), formatName(Precision::fp32));
    QCOMPARE(int(e.network.loss), int(LossKind::cross_entropy));
    const Experiment dyn = parseExperiment(json::parse(R"({"dataset": {"name": "spirals"},
      "network": {"layers": [{"type": "linear", "out": 2}]}, "loss_scaling": {"mode": "dynamic"},
      "optimizer": {"type": "adamw"}})"));
    QCOMPARE(dyn.lossScaling.initScale, 65536.0f);  // torch.amp.GradScaler's defaults
    QCOMPARE(dyn.lossScaling.growthInterval, 2000);
    QCOMPARE(dyn.optimizer.weightDecay, 0.01f);     // torch.optim.AdamW's default
  }

  void rejectsBadFilesNamingTheField_data() {
    QTest::addColumn<QString>("patch");  // RFC 7396 merge patch applied to a minimal valid file
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown precision")
        << R"({"network": {"layers": [{"type": "linear", "out": 8}, {"type": "relu"},
              {"type": "linear", "out": 2, "precision": "fp61"}]}})"
        << R"(network.layers[2].precision: "fp61" is not one of )" ALL_FORMATS;
    QTest::newRow("block-scaled conv2d")
        << R"({"network": {"layers": [{"type": "conv2d", "out_channels": 8, "precision": "mxfp4"}, {"type": "relu"},
              {"type": "linear", "out": 2}]}})"
        << R"(network.layers[0].precision: "mxfp4" is block-scaled, and conv2d layers have no block-scaled )"
           R"(products yet (linear layers do; docs/architecture.md, "Block-scaled training"))";
    QTest::newRow("unknown layer type")
        << R"({"network": {"layers": [{"type": "dense", "out": 2}]}})"
        << R"(network.layers[0].type: "dense" is not one of linear, conv2d, maxpool2d, avgpool2d, flatten, relu, )"
           R"(leaky_relu, gelu, tanh, sigmoid, silu, dropout, batchnorm1d, batchnorm2d)";
    QTest::newRow("layer without type") << R"({"network": {"layers": [{"out": 2}]}})"
                                        << "network.layers[0].type: missing (every layer needs one of linear, conv2d, "
                                           "maxpool2d, avgpool2d, flatten, relu, leaky_relu, gelu, tanh, sigmoid, "
                                           "silu, dropout, batchnorm1d, batchnorm2d)";
    QTest::newRow("missing dataset") << R"({"dataset": null})"
                                     << R"(dataset: missing (e.g. {"name": "spirals"}))";
    QTest::newRow("missing network") << R"({"network": null})"
                                     << R"(network: missing (an object with "layers" and "loss"))";
    QTest::newRow("linear without out") << R"({"network": {"layers": [{"type": "linear"}]}})"
                                        << "network.layers[0].out: missing (a linear layer needs its number of outputs)";
    QTest::newRow("batch size as a string") << R"({"batch_size": "64"})"
                                            << R"(batch_size: expected an integer, got a string "64")";
    QTest::newRow("fractional batch size") << R"({"batch_size": 6.5})"
                                           << "batch_size: expected an integer, got a number 6.5";
    QTest::newRow("master weights as a number") << R"({"master_weights": 1})"
                                                << "master_weights: expected true or false, got an integer 1";
    QTest::newRow("precision as a number")
        << R"({"network": {"layers": [{"type": "relu", "precision": 16}]}})"
        << "network.layers[0].precision: expected a string (one of " ALL_FORMATS "), "
           "got an integer 16";
    QTest::newRow("unknown top-level key") << R"({"learning_rate": 0.1})"
                                           << "learning_rate: unknown key (allowed here: backend, batch_size, dataset, "
                                              "description, epochs, eval_interval, format_version, fp8, grad_clip_norm, "
                                              "log_interval, loss_scaling, master_weights, network, optimizer, precision_policy, schedule, "
                                              "seed, shadow_stats, stats_interval, steps, title)";
    QTest::newRow("misspelt layer key") << R"({"network": {"layers": [{"type": "linear", "out": 2, "bais": false}]}})"
                                        << "network.layers[0].bais: unknown key (allowed here: accumulate, bias, block_backward, "
                                           "block_scaling, init_gain, out, precision, rounding, type)";
    QTest::newRow("key of another layer type") << R"({"network": {"layers": [{"type": "relu", "slope": 0.1}]}})"
                                               << "network.layers[0].slope: unknown key (allowed here: precision, type)";
    QTest::newRow("unknown optimizer key") << R"({"optimizer": {"type": "sgd", "beta1": 0.9}})"
                                           << "optimizer.beta1: unknown key (allowed here: lr, momentum, nesterov, "
                                              "type, weight_decay)";
    QTest::newRow("both epochs and steps") << R"({"epochs": 2, "steps": 100})"
                                           << "steps: give either epochs or steps, not both";
    QTest::newRow("unknown loss scaling mode") << R"({"loss_scaling": {"mode": "auto"}})"
                                               << R"(loss_scaling.mode: "auto" is not one of none, static, dynamic)";
    QTest::newRow("negative learning rate") << R"({"optimizer": {"lr": -0.1}})"
                                            << "optimizer.lr: -0.1 is out of range (allowed: 0 to 1000)";
    QTest::newRow("learning rate that a float holds as 0") << R"({"optimizer": {"lr": 1e-50}})"
        << "optimizer.lr: 1e-50 is too small for a 32-bit float, which would hold it as 0 (allowed: 0, or "
           "1.17549e-38 to 1000)";
    QTest::newRow("dropout of one") << R"({"network": {"layers": [{"type": "dropout", "p": 1.0}]}})"
                                    << "network.layers[0].p: 1.0 is out of range (allowed: 0 to 0.99)";
    QTest::newRow("zero outputs") << R"({"network": {"layers": [{"type": "linear", "out": 0}]}})"
                                  << "network.layers[0].out: 0 is out of range (allowed: 1 to 16777216)";
    QTest::newRow("pool padding over half the kernel")
        << R"({"network": {"layers": [{"type": "maxpool2d", "kernel": 2, "padding": 2}]}})"
        << "network.layers[0].padding: 2 is more than half the kernel (2)";
    QTest::newRow("empty network") << R"({"network": {"layers": []}})"
                                   << "network.layers: empty (the network needs at least one layer)";
    QTest::newRow("unknown loss") << R"({"network": {"loss": "hinge"}})"
                                  << R"(network.loss: "hinge" is not one of cross_entropy, mse)";
    QTest::newRow("newer format") << R"({"format_version": 2})"
                                  << "format_version: 2 is newer than this program reads (1)";
    QTest::newRow("nesterov without momentum") << R"({"optimizer": {"type": "sgd", "nesterov": true}})"
                                               << "optimizer.nesterov: true needs momentum > 0 (as torch.optim.SGD)";
    QTest::newRow("fp8 forward not fp8") << R"({"fp8": {"forward": "fp16"}})"
                                         << R"(fp8.forward: "fp16" is not one of fp8_e4m3, fp8_e5m2)";
    QTest::newRow("dataset without name") << R"({"dataset": {"name": null, "noise": 0.1}})"
                                          << R"(dataset.name: missing (the dataset's name, e.g. "spirals" or "fashion-mnist"))";
    QTest::newRow("layers not an array") << R"({"network": {"layers": {"type": "linear"}}})"
                                         << "network.layers: expected an array of layers, got an object";
  }

  void rejectsBadFilesNamingTheField() {
    QFETCH(QString, patch);
    QFETCH(QString, message);
    json file = kMinimal;
    file.merge_patch(json::parse(patch.toStdString()));
    QCOMPARE(messageOf(file), message);
  }

  void malformedJsonNamesFileLineAndColumn() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("broken.json");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\n  \"title\": \"broken\",\n  \"seed\": 42,,\n  \"batch_size\": 8\n}\n");
    f.close();
    try {
      loadExperimentFile(path.toStdString());
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      const QString msg = QString::fromUtf8(e.what());
      QVERIFY2(msg.startsWith(path + ":3:14: malformed JSON: "), qPrintable(msg));
      QVERIFY2(msg.contains("unexpected ','"), qPrintable(msg));
    }
  }

  // Every later step walks a value once per level (copy, dump, compare): a value
  // nested hundreds of thousands deep overflowed the stack there (issue 17).
  void deepNestingIsRefusedWhereItStarts() {
    const std::string deep = std::string(300000, '[') + std::string(300000, ']');
    try {
      parseExperimentText("{\"title\": " + deep + "}", "deep.json");
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      // The object is level 1, so the 64th bracket opens level 65: column 10 + 64.
      QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("deep.json:1:74: nested deeper than 64 levels"));
    }
  }

  void sixtyFourLevelsAreStillJson() {
    // The object and 63 arrays: 64 levels, read as JSON; the error is the field's.
    const std::string nested = std::string(63, '[') + std::string(63, ']');
    try {
      parseExperimentText("{\"title\": " + nested + "}", "deep.json");
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      const QString msg = QString::fromUtf8(e.what());
      QVERIFY2(msg.startsWith("deep.json: title: expected a string, got an array [[[["), qPrintable(msg));
      QVERIFY2(msg.size() < 120, qPrintable(msg));
    }
  }

  // nlohmann's lexer takes a NUL byte for the end of the input (issue 17).
  void anythingAfterTheValueIsRefused_data() {
    QTest::addColumn<QByteArray>("tail");
    QTest::addColumn<QString>("message");  // after "tail.json:"
    const QByteArray nul(1, '\0');
    const QString end = QString::number(kMinimal.dump().size() + 1);  // the column just past the value
    QTest::newRow("NUL, then text") << nul + "{\"seed\": 9}" << "1:" + end + ": a NUL byte after the JSON value";
    QTest::newRow("NUL alone") << nul << "1:" + end + ": a NUL byte after the JSON value";
    QTest::newRow("newline, NUL, text") << "\n" + nul + "x" << "2:1: a NUL byte after the JSON value";
    QTest::newRow("a second value") << QByteArray(" {}") << "1:" + QString::number(kMinimal.dump().size() + 2) + ": malformed JSON: syntax error";
  }
  void anythingAfterTheValueIsRefused() {
    QFETCH(QByteArray, tail);
    QFETCH(QString, message);
    try {
      parseExperimentText(kMinimal.dump() + tail.toStdString(), "tail.json");
      QFAIL("accepted");
    } catch (const ExperimentError& e) {
      const QString msg = QString::fromUtf8(e.what());
      QVERIFY2(msg.startsWith("tail.json:" + message), qPrintable(msg));
    }
  }

  // A number beyond a double is refused where it is written, not thrown as an
  // unnamed library error (the fuzz test found 16e77216).
  void aNumberBeyondADoubleIsPlaced() {
    try {
      parseExperimentText("{\"seed\": 1,\n \"learning_rate\": 16e77216}", "big.json");
      QFAIL("accepted");
    } catch (const ExperimentError& e) {
      const QString msg = QString::fromUtf8(e.what());
      QVERIFY2(msg.startsWith("big.json:2:19: a number too large for a double: 16e77216"), qPrintable(msg));
    }
  }

  // A rejected value is shown by its start and type, never whole: a 100000-element
  // array once made a 100 KB message.
  void aRejectedValueIsShownShort() {
    json file = kMinimal;
    file["dataset"]["train_size"] = json(std::vector<int>(100000, 7));
    try {
      loadDataset(parseExperiment(file).dataset, 1);
      QFAIL("no DatasetError");
    } catch (const DatasetError& e) {
      const QString msg = QString::fromUtf8(e.what());
      QVERIFY2(msg.size() < 200, qPrintable(msg.left(300)));
      QVERIFY2(msg.contains("train_size") && msg.contains("[7,7,7") && msg.contains("(an array of 100000 items)"),
               qPrintable(msg));
    }
  }

  void fieldErrorsInAFileStartWithItsPath() {
    try {
      parseExperimentText(R"({"dataset": {"name": "spirals"}, "network": {"layers": [{"type": "relu", "precision": "fp61"}]}})",
                          "lesson.json");
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      QCOMPARE(QString::fromUtf8(e.what()),
               QStringLiteral(R"(lesson.json: network.layers[0].precision: "fp61" is not one of )" ALL_FORMATS));
    }
  }

  void missingFileIsAnError() {
    try {
      loadExperimentFile("/nonexistent/lesson.json");
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("/nonexistent/lesson.json: cannot open the experiment file"));
    }
  }

  void learningRateFollowsTheSchedule_data() {
    QTest::addColumn<QString>("schedule");
    QTest::addColumn<qint64>("step");
    QTest::addColumn<double>("expected");  // base rate 0.1, 101 steps
    QTest::newRow("constant") << R"({"type": "constant"})" << qint64(50) << 0.1;
    QTest::newRow("warm-up first step") << R"({"type": "constant", "warmup_steps": 10})" << qint64(1) << 0.01;
    QTest::newRow("warm-up last step") << R"({"type": "constant", "warmup_steps": 10})" << qint64(10) << 0.1;
    QTest::newRow("step before decay") << R"({"type": "step", "step_size": 30, "gamma": 0.5})" << qint64(30) << 0.1;
    QTest::newRow("step after one decay") << R"({"type": "step", "step_size": 30, "gamma": 0.5})" << qint64(31) << 0.05;
    QTest::newRow("step after two") << R"({"type": "step", "step_size": 30, "gamma": 0.5})" << qint64(61) << 0.025;
    QTest::newRow("cosine start") << R"({"type": "cosine", "min_lr": 0.001})" << qint64(1) << 0.1;
    QTest::newRow("cosine middle") << R"({"type": "cosine", "min_lr": 0.0})" << qint64(51) << 0.05;
    QTest::newRow("cosine end") << R"({"type": "cosine", "min_lr": 0.001})" << qint64(101) << 0.001;
  }

  void learningRateFollowsTheSchedule() {
    QFETCH(QString, schedule);
    QFETCH(qint64, step);
    QFETCH(double, expected);
    json file = kMinimal;
    file["schedule"] = json::parse(schedule.toStdString());
    file["optimizer"] = json{{"type", "sgd"}, {"lr", 0.1}};
    const Experiment e = parseExperiment(file);
    const float lr = learningRateAt(e.schedule, e.optimizer.lr, step, 101);
    QVERIFY2(std::fabs(double(lr) - expected) <= 1e-6 * expected + 1e-9,
             qPrintable(QString("lr %1, expected %2").arg(lr, 0, 'g', 9).arg(expected)));
    QCOMPARE(e.hyperAt(step, 101).lr, lr);
  }
};

QTEST_GUILESS_MAIN(ExperimentFiles)
#include "tst_experiment.moc"
