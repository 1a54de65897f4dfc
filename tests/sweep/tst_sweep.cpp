// Sweep files: key paths, the expansion of variants and grids, and errors that name
// the variant and the key path. Every variant is a real experiment (parsed).
#include <QtTest>

#include <QTemporaryDir>

#include <fstream>

#include "sweep/key_path.h"
#include "sweep/run_metrics.h"
#include "sweep/sweep.h"

using namespace plab;
using nlohmann::json;

namespace {

const json kBase = json::parse(R"({
  "seed": 7,
  "dataset": {"name": "spirals", "train_size": 256, "test_size": 64},
  "network": {"layers": [{"type": "linear", "out": 16, "precision": "fp16"},
                         {"type": "relu", "precision": "fp16"},
                         {"type": "linear", "out": 2}]},
  "epochs": 1
})");

json sweepWith(const json& extra) {
  json s = {{"title", "test sweep"}, {"base", kBase}};
  s.update(extra);
  return s;
}

Sweep parse(const json& s) { return parseSweepText(s.dump(), "sweep.json"); }

// The message of the SweepError that parsing s throws ("" if it parses).
QString errorOf(const json& s, QString* keyPath = nullptr) {
  try {
    parse(s);
  } catch (const SweepError& e) {
    if (keyPath) *keyPath = QString::fromStdString(e.keyPath());
    return QString::fromStdString(e.what());
  }
  return {};
}

}  // namespace

class TestSweep : public QObject {
  Q_OBJECT
 private slots:
  void keyPathSetsOneElementOrEvery() {
    json doc = kBase;
    setAtKeyPath(doc, "network.layers[2].precision", "bf16");
    QCOMPARE(doc["network"]["layers"][2]["precision"].get<std::string>(), std::string("bf16"));
    setAtKeyPath(doc, "network.layers[*].precision", "fp32");
    for (const auto& layer : doc["network"]["layers"]) QCOMPARE(layer["precision"].get<std::string>(), std::string("fp32"));
  }

  void keyPathCreatesObjectsButNeverArrayElements() {
    json doc = kBase;
    setAtKeyPath(doc, "loss_scaling.mode", "dynamic");
    QCOMPARE(doc["loss_scaling"]["mode"].get<std::string>(), std::string("dynamic"));
    try {
      setAtKeyPath(doc, "network.layers[3].precision", "fp16");
      QFAIL("an index past the end was accepted");
    } catch (const KeyPathError& e) {
      QCOMPARE(QString::fromStdString(e.keyPath()), QStringLiteral("network.layers[3]"));
      QVERIFY2(QString(e.what()).contains("has 3 elements"), e.what());
    }
  }

  void keyPathRejectsMalformedPaths_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    QTest::newRow("empty") << "" << "empty key path";
    QTest::newRow("double dot") << "optimizer..lr" << "empty key";
    QTest::newRow("trailing dot") << "optimizer." << "ends with '.'";
    QTest::newRow("open bracket") << "network.layers[2" << "without a closing";
    QTest::newRow("bad index") << "network.layers[x]" << "is not an index";
    QTest::newRow("negative index") << "network.layers[-1]" << "is not an index";
    QTest::newRow("upper case") << "Optimizer.lr" << "cannot be part of a key";
  }
  void keyPathRejectsMalformedPaths() {
    QFETCH(QString, path);
    QFETCH(QString, message);
    try {
      parseKeyPath(path.toStdString());
      QFAIL("accepted");
    } catch (const KeyPathError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  void variantsApplyTheirChangesToTheBase() {
    const Sweep s = parse(sweepWith({{"variants", json::array({
        {{"name", "as is"}},
        {{"name", "all bf16"}, {"set", {{"network.layers[*].precision", "bf16"}, {"batch_size", 32}}}},
    })}}));
    QCOMPARE(s.title, std::string("test sweep"));
    QCOMPARE(int(s.variants.size()), 2);
    QCOMPARE(s.variants[0].name, std::string("as is"));
    QVERIFY(s.variants[0].experiment.network.layers[0].precision == Precision::fp16);
    QVERIFY(s.variants[1].experiment.network.layers[2].precision == Precision::bf16);
    QCOMPARE(s.variants[1].experiment.batchSize, 32);
    QCOMPARE(s.variants[1].experiment.seed, std::uint64_t(7));
  }

  void gridExpandsToTheProductInTheFilesOrder() {
    // "seed" before "batch_size" in the file: names follow the file, not the alphabet.
    const std::string text = R"({"base": )" + kBase.dump() +
                             R"(, "variants": [{"name": "a"}, {"name": "b", "set": {"optimizer.lr": 0.5}}],
                                  "grid": {"seed": [1, 2, 3], "batch_size": [500, 512]}})";
    const Sweep s = parseSweepText(text, "sweep.json");
    QCOMPARE(int(s.variants.size()), 12);
    QCOMPARE(s.variants[0].name, std::string("a; seed=1, batch_size=500"));
    QCOMPARE(s.variants[1].name, std::string("a; seed=1, batch_size=512"));
    QCOMPARE(s.variants[11].name, std::string("b; seed=3, batch_size=512"));
    QCOMPARE(s.variants[11].experiment.seed, std::uint64_t(3));
    QCOMPARE(s.variants[11].experiment.batchSize, 512);
    QCOMPARE(s.variants[11].experiment.optimizer.lr, 0.5f);
    QCOMPARE(s.variants[11].set["seed"].get<int>(), 3);
  }

  void gridAloneNamesVariantsByTheirValues() {
    const Sweep s = parse(sweepWith({{"grid", {{"network.layers[*].precision", {"fp32", "bf16"}}}}}));
    QCOMPARE(int(s.variants.size()), 2);
    QCOMPARE(s.variants[1].name, std::string("network.layers[*].precision=bf16"));
  }

  void overridesReplaceSeedAndLength() {
    SweepOverrides o;
    o.seed = 99;
    o.steps = 17;
    const Sweep s = parseSweepText(sweepWith({{"grid", {{"seed", {1, 2}}}}}).dump(), "sweep.json", o);
    for (const SweepVariant& v : s.variants) {
      QCOMPARE(v.experiment.seed, std::uint64_t(99));
      QCOMPARE(v.experiment.steps, std::int64_t(17));
      QCOMPARE(v.experiment.epochs, 0);
    }
  }

  void baseFileIsReadRelativeToTheSweep() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("sweeps"));
    std::ofstream(dir.filePath("base.json").toStdString()) << kBase.dump();
    const std::string sweepPath = dir.filePath("sweeps/s.json").toStdString();
    std::ofstream(sweepPath) << json{{"base_file", "../base.json"}, {"grid", {{"seed", {5}}}}}.dump();
    const Sweep s = loadSweepFile(sweepPath);
    QCOMPARE(s.variants.at(0).experiment.seed, std::uint64_t(5));
    QCOMPARE(s.base, kBase);
  }

  void shippedSweepsParse() {
    QDir dir(QStringLiteral(PLAB_SOURCE_DIR "/experiments/sweeps"));
    const QStringList files = dir.entryList({"*.json"}, QDir::Files);
    QVERIFY(!files.isEmpty());
    for (const QString& name : files) {
      try {
        const Sweep s = loadSweepFile(dir.filePath(name).toStdString());
        QVERIFY2(!s.variants.empty(), qPrintable(name));
        QVERIFY2(!s.title.empty(), qPrintable(name));
      } catch (const SweepError& e) {
        QFAIL(e.what());
      }
    }
  }

  void errorsNameTheVariantAndTheKeyPath_data() {
    QTest::addColumn<QString>("sweep");
    QTest::addColumn<QString>("keyPath");
    QTest::addColumn<QString>("message");
    auto row = [](const char* tag, const json& extra, const char* keyPath, const char* message) {
      QTest::newRow(tag) << QString::fromStdString(sweepWith(extra).dump()) << keyPath << message;
    };
    row("bad format", {{"variants", {{{"name", "x"}, {"set", {{"network.layers[0].precision", "fp61"}}}}}}},
        "variants[0]", "variant \"x\" (variants[0]): network.layers[0].precision: \"fp61\" is not one of");
    row("index past the end", {{"variants", {{{"name", "deep"}, {"set", {{"network.layers[9].precision", "fp16"}}}}}}},
        "variants[0].set.network.layers[9].precision", "network.layers[9]: the array has 3 elements");
    row("unknown key", {{"variants", {{{"name", "x"}, {"set", {{"optimizer.lr_typo", 1}}}}}}},
        "variants[0]", "lr_typo");
    row("key not in the experiment", {{"variants", {{{"name", "x"}, {"set", {{"network.layeork.layers[0].precision", "fp16"}}}}}}},
        "variants[0].set.network.layeork.layers[0].precision", "(in variants[0].set.network.layeork.layers[0].precision)");
    row("malformed key path", {{"variants", {{{"name", "x"}, {"set", {{"network.layers[0].precisi{n", "fp16"}}}}}}},
        "variants[0].set.network.layers[0].precisi{n", "variants[0].set.network.layers[0].precisi{n: '{' cannot be part");
    row("duplicate name", {{"variants", {{{"name", "x"}}, {{"name", "x"}}}}}, "", "\"x\" is already the name of variants[0]");
    row("nameless", {{"variants", {{{"set", json::object()}}}}}, "", "every variant needs a name");
    row("empty grid axis", {{"grid", {{"seed", json::array()}}}}, "grid.seed", "non-empty array");
    row("grid and variant set one key", {{"variants", {{{"name", "x"}, {"set", {{"seed", 1}}}}}}, {"grid", {{"seed", {1, 2}}}}},
        "grid.seed", "sets the same key");
    row("nothing to vary", json::object(), "", "needs \"variants\", a \"grid\", or both");
    row("unknown sweep key", {{"grid", {{"seed", {1}}}}, {"variantz", 1}}, "", "variantz");
    row("bad key path", {{"grid", {{"network..x", {1}}}}}, "grid.network..x", "empty key");
    row("huge grid", {{"grid", {{"seed", json(std::vector<int>(1001, 1))}}}}, "grid", "more than 1000 variants");
  }
  void errorsNameTheVariantAndTheKeyPath() {
    QFETCH(QString, sweep);
    QFETCH(QString, keyPath);
    QFETCH(QString, message);
    QString gotPath;
    const QString error = errorOf(json::parse(sweep.toStdString()), &gotPath);
    QVERIFY2(!error.isEmpty(), "the sweep was accepted");
    QVERIFY2(error.startsWith("sweep.json: "), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
    if (!keyPath.isEmpty()) QCOMPARE(gotPath, keyPath);
  }

  void baseAndBaseFileAreExclusive() {
    json s = sweepWith({{"grid", {{"seed", {1}}}}});
    s["base_file"] = "x.json";
    QVERIFY(errorOf(s).contains("not both"));
    s.erase("base");
    s.erase("base_file");
    QVERIFY(errorOf(s).contains("needs its base experiment"));
    s["base_file"] = std::string(5000, 'x');  // the message shows its length, not the path
    const QString tooLong = errorOf(s);
    QVERIFY2(tooLong.contains("base_file: a path of 5000 characters") && tooLong.size() < 200, qPrintable(tooLong));
  }

  void lessonClaimsParseAndEvaluate() {
    const json lesson = {{"watch", "Look at the loss."},
                         {"claims", json::array({
                             {{"claim", "bf16 ends at least 0.2 under fp32"}, {"metric", "test_accuracy"}, {"variant", "bf16"},
                              {"less_than", {{"variant", "fp32"}, {"by", 0.2}}}},
                             {{"claim", "bf16 is within 0.02 of fp32"}, {"metric", "test_accuracy"}, {"variant", "bf16"},
                              {"within", {{"variant", "fp32"}, {"by", 0.02}}}},
                             {{"claim", "skipped steps are the overflow steps"}, {"metric", "skipped_steps"}, {"variant", "bf16"},
                              {"equals", {{"metric", "overflow_events"}}}},
                             {{"claim", "the culprit is the first layer"}, {"metric", "culprit"}, {"variant", "bf16"},
                              {"equals", "layers[0] linear"}},
                             {{"claim", "aligned shapes are faster"}, {"metric", "median_step_ms"}, {"variant", "bf16"},
                              {"less_than", {{"variant", "fp32"}}}, {"requires_backend", "cuda"}},
                             {{"claim", "at least 90%"}, {"metric", "test_accuracy"}, {"variant", "fp32"}, {"at_least", 0.9}},
                         })}};
    const Sweep s = parse(sweepWith({{"variants", {{{"name", "fp32"}}, {{"name", "bf16"}}}}, {"lesson", lesson}}));
    QVERIFY(s.lesson.has_value());
    QCOMPARE(s.lesson->watch, std::string("Look at the loss."));
    QCOMPARE(int(s.lesson->claims.size()), 6);

    std::map<std::string, RunMetrics> m;
    m["fp32"] = {{"test_accuracy", 0.95}, {"median_step_ms", 1.0}};
    m["bf16"] = {{"test_accuracy", 0.94}, {"skipped_steps", 3.0}, {"overflow_events", 3.0},
                 {"culprit", std::string("layers[0] linear")}, {"median_step_ms", 0.5}};
    const auto& c = s.lesson->claims;
    QCOMPARE(evaluateClaim(c[0], m, "cpu").status, ClaimStatus::fails);   // 0.94 is not < 0.75
    QCOMPARE(evaluateClaim(c[1], m, "cpu").status, ClaimStatus::holds);   // |0.94 - 0.95| <= 0.02
    QCOMPARE(evaluateClaim(c[2], m, "cpu").status, ClaimStatus::holds);
    QCOMPARE(evaluateClaim(c[3], m, "cpu").status, ClaimStatus::holds);
    QCOMPARE(evaluateClaim(c[4], m, "cpu").status, ClaimStatus::not_applicable);
    QCOMPARE(evaluateClaim(c[4], m, "cuda").status, ClaimStatus::holds);
    QCOMPARE(evaluateClaim(c[5], m, "cpu").status, ClaimStatus::holds);
    const ClaimResult r0 = evaluateClaim(c[0], m, "cpu");
    QVERIFY2(QString::fromStdString(r0.measured).contains("bf16: test_accuracy 0.94 < fp32: test_accuracy 0.95 - 0.2"),
             r0.measured.c_str());
    m["bf16"]["overflow_events"] = 4.0;
    QCOMPARE(evaluateClaim(c[2], m, "cpu").status, ClaimStatus::fails);
    m.erase("fp32");  // the fp32 run failed: nothing to compare with
    QCOMPARE(evaluateClaim(c[1], m, "cpu").status, ClaimStatus::no_data);
  }

  // "times" scales the other variant's value: lesson 7's "at least 10 times fp32's".
  void claimTimesScalesTheOtherVariantsValue() {
    const json lesson = {{"watch", "w"},
                         {"claims", json::array({{{"claim", "at least 10 times"}, {"metric", "product_error_fp64"},
                                                  {"variant", "fp16"},
                                                  {"at_least", {{"variant", "fp32"}, {"times", 10}}}}})}};
    const Sweep s = parse(sweepWith({{"variants", {{{"name", "fp32"}}, {{"name", "fp16"}}}}, {"lesson", lesson}}));
    std::map<std::string, RunMetrics> m;
    m["fp32"] = {{"product_error_fp64", 0.0002}};
    m["fp16"] = {{"product_error_fp64", 0.0061}};
    const ClaimResult holds = evaluateClaim(s.lesson->claims[0], m, "cpu");
    QCOMPARE(holds.status, ClaimStatus::holds);
    QVERIFY2(QString::fromStdString(holds.measured).contains(">= 10 x fp32: product_error_fp64 0.0002"),
             holds.measured.c_str());
    m["fp16"]["product_error_fp64"] = 0.0019;  // 9.5 times: not 10
    QCOMPARE(evaluateClaim(s.lesson->claims[0], m, "cpu").status, ClaimStatus::fails);
  }

  // product_error_fp64: the largest layer's error at each statistics step, averaged
  // over the steps; records without a product error are not counted.
  void productErrorAveragesTheLargestLayerPerStep() {
    auto record = [](std::int64_t step, std::int32_t layer, std::optional<double> error) {
      LayerStatsRecord r;
      r.step = step;
      r.layerIndex = layer;
      r.productRelError = error;
      return r;
    };
    QVERIFY(!productErrorFp64({record(1, 0, std::nullopt)}).has_value());
    const auto mean = productErrorFp64({record(10, 1, 0.004), record(10, 3, 0.001), record(10, 2, std::nullopt),
                                        record(20, 1, 0.002), record(20, 3, 0.006)});
    QVERIFY(mean.has_value());
    QCOMPARE(*mean, (0.004 + 0.006) / 2);
  }

  void claimErrorsNameTheKeyPath_data() {
    QTest::addColumn<QString>("claim");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown variant") << R"({"claim": "x", "metric": "test_accuracy", "variant": "fp8", "at_least": 0.5})"
                                     << "lesson.claims[0].variant: \"fp8\" is not a variant of this sweep";
    QTest::newRow("unknown metric") << R"({"claim": "x", "metric": "accuracy", "variant": "fp32", "at_least": 0.5})"
                                    << "lesson.claims[0].metric: \"accuracy\" is not a metric";
    QTest::newRow("no comparison") << R"({"claim": "x", "metric": "test_accuracy", "variant": "fp32"})"
                                   << "needs exactly one of";
    QTest::newRow("two comparisons") << R"({"claim": "x", "metric": "test_accuracy", "variant": "fp32", "at_least": 0.5, "at_most": 1})"
                                     << "needs exactly one of";
    QTest::newRow("bad operand key") << R"({"claim": "x", "metric": "test_accuracy", "variant": "fp32", "at_least": {"variantt": "fp32"}})"
                                     << "variantt";
    QTest::newRow("no sentence") << R"({"metric": "test_accuracy", "variant": "fp32", "at_least": 0.5})"
                                 << "lesson.claims[0].claim";
  }
  void claimErrorsNameTheKeyPath() {
    QFETCH(QString, claim);
    QFETCH(QString, message);
    const json lesson = {{"claims", json::array({json::parse(claim.toStdString())})}};
    const QString error = errorOf(sweepWith({{"variants", {{{"name", "fp32"}}}}, {"lesson", lesson}}));
    QVERIFY2(error.contains(message), qPrintable(error));
  }

  void looksLikeSweepTellsSweepsFromExperiments() {
    QVERIFY(!looksLikeSweep(kBase));
    QVERIFY(looksLikeSweep(sweepWith({{"grid", {{"seed", {1}}}}})));
  }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
