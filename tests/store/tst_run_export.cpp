// A stored run written as CSV and JSON (engine/store/run_export.h): the header, the
// values exactly, NaN and infinities, quoting, and a missing run.
#include <QtTest>

#include <sstream>

#include "core/json_number.h"
#include "store/run_export.h"
#include "store_fixtures.h"

using namespace plab;
using namespace plab::testing;
using nlohmann::json;

class TestRunExport : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::string path_;
  std::int64_t runId_ = 0;

 private slots:
  void initTestCase() {
    path_ = dir_.filePath("export.sqlite").toStdString();
    RunWriter w(path_);
    runId_ = w.createRun({{"dataset", {{"name", "moons"}}}, {"seed", 3}}, "moons bf16", "cpu", "test");
    for (int s = 1; s <= 7; ++s) {
      StepMetrics m = sampleStep(s);
      if (s == 2) m.loss = std::numeric_limits<double>::quiet_NaN();
      if (s == 7) m.culprit = "a \"quoted\", name";
      w.appendStep(m);
    }
    w.appendOverflow({7, 65536, 32768, {"layers[2] linear"}});
    w.appendScaleGrowth({6, 32768, 65536});
    w.appendEpoch({0, 7, 0.5, 0.75, 0.625, -1});
    w.appendLayerStats(sampleLayerStats(5, 1, StatsKind::activation));
    LayerStatsRecord shadowed = sampleLayerStats(5, 1, StatsKind::gradient);
    shadowed.hasShadow = true;  // a run with shadow_stats on (docs/store.md)
    shadowed.shadow.count = 1000;
    shadowed.shadow.underflows = 970;
    shadowed.shadow.relError = 1;
    shadowed.shadow.log2Hist[30] = 1000;
    w.appendLayerStats(shadowed);
    w.appendSpeed(sampleSpeed("fp32"));
    w.finish(RunStatus::completed, "", {{"steps", 7}});
  }

  void csvHasHeaderAndExactValues() {
    RunReader r(path_);
    std::ostringstream out;
    writeStepsCsv(loadStoredRun(r, runId_).record, out);
    const QStringList lines = QString::fromStdString(out.str()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 8);
    QVERIFY2(lines[0].startsWith("step,loss,loss_scale,overflow,skipped,"), qPrintable(lines[0]));
    QCOMPARE(lines[0], QString(kStepsCsvHeader));
    // sampleStep(1): loss 2.5, scale 2^15, no overflow, epoch 0, grad norm 0.125, lr 1e-3, 2.5 ms.
    QCOMPARE(lines[1], QString("1,2.5,32768,0,0,0,,0.125,0.001,2.5,25600"));
    QVERIFY2(lines[2].startsWith("2,nan,"), qPrintable(lines[2]));
    // Step 7 overflowed: inf gradient norm, and a culprit that needs CSV quoting.
    QCOMPARE(lines[7], QString("7,0.35714285714285715,32768,1,1,0,\"a \"\"quoted\"\", name\",inf,0.001,3.5,18285.714285714286"));
  }

  void csvNumbersReadBackExactly() {
    for (double v : {0.1, 1.0 / 3.0, 6.02214076e23, 5e-324, -0.0, 65504.0}) {
      const std::string text = csvNumber(v);
      QCOMPARE(std::strtod(text.c_str(), nullptr), v);  // strtod: stod refuses subnormals
    }
  }

  void epochsCsvLeavesRegressionAccuracyEmpty() {
    RunReader r(path_);
    std::ostringstream out;
    writeEpochsCsv(loadStoredRun(r, runId_).record, out);
    QCOMPARE(QString::fromStdString(out.str()), QString(kEpochsCsvHeader) + "\n0,7,0.5,0.75,0.625,\n");
  }

  void jsonHoldsTheWholeRun() {
    RunReader r(path_);
    const StoredRun run = loadStoredRun(r, runId_);
    const json j = runToJson(run.info, run.record);
    QCOMPARE(j["format"].get<std::string>(), std::string("precisionlab-run"));
    QCOMPARE(j["run"]["status"].get<std::string>(), std::string("completed"));
    QCOMPARE(j["run"]["config"]["seed"].get<int>(), 3);
    QCOMPARE(j["steps"].size(), std::size_t(7));
    QCOMPARE(j["steps"][1]["loss"].get<std::string>(), std::string("nan"));
    QCOMPARE(j["steps"][6].get<StepMetrics>().culprit, std::string("a \"quoted\", name"));
    QCOMPARE(j["epochs"][0]["test_accuracy"].get<double>(), -1.0);
    QCOMPARE(j["overflows"][0]["layers"][0].get<std::string>(), std::string("layers[2] linear"));
    QCOMPARE(j["scale_growth"][0]["scale_after"].get<double>(), 65536.0);
    QCOMPARE(j["layer_stats"][0].get<LayerStatsRecord>().stats.log2Hist[50], 900);
    QVERIFY(!j["layer_stats"][0].contains("shadow"));
    const auto shadowed = j["layer_stats"][1].get<LayerStatsRecord>();
    QVERIFY(shadowed.hasShadow);
    QCOMPARE(shadowed.shadow.underflows, 970);
    QCOMPARE(shadowed.shadow.log2Hist[30], 1000);
    QCOMPARE(j["layer_stats"][1]["shadow"]["rel_error"].get<double>(), 1.0);
    QCOMPARE(j["speed"][0]["layers"].size(), std::size_t(2));
  }

  void missingRunIsAnError() {
    RunReader r(path_);
    try {
      loadStoredRun(r, 999);
      QFAIL("no error");
    } catch (const StoreError& e) {
      QVERIFY2(QString(e.what()).contains("run 999 not found"), e.what());
    }
  }

  // The record the exporter writes is every row of the run, scale growth and speed
  // included, and reading it past a cursor gives exactly the rows after it.
  void recordHoldsEveryRowAndReadsOnFromACursor() {
    RunReader r(path_);
    const RunRecord whole = r.loadRecord(runId_);
    QCOMPARE(whole.steps.size(), std::size_t(7));
    QCOMPARE(whole.overflows.size(), std::size_t(1));
    QCOMPARE(whole.scaleGrowths.size(), std::size_t(1));
    QCOMPARE(whole.scaleGrowths[0].scaleAfter, 65536.0);
    QCOMPARE(whole.epochs.size(), std::size_t(1));
    QCOMPARE(whole.layerStats.size(), std::size_t(2));  // an activation record, a gradient record with its shadow
    QCOMPARE(whole.speed.size(), std::size_t(1));
    QCOMPARE(whole.summary["steps"].get<int>(), 7);
    RunRecordCursor since;
    since.lastStep = 4;
    since.overflows = 1;
    const RunRecord rest = r.loadRecord(runId_, since);
    QCOMPARE(rest.steps.size(), std::size_t(3));
    QCOMPARE(rest.steps.front().step, std::int64_t(5));
    QVERIFY(rest.overflows.empty());
    QCOMPARE(rest.scaleGrowths.size(), std::size_t(1));
    const RunRecord none = r.loadRecord(runId_, cursorOf(whole));
    QVERIFY(none.steps.empty() && none.overflows.empty() && none.scaleGrowths.empty() && none.epochs.empty() &&
            none.layerStats.empty() && none.speed.empty());
  }

  // CSV spells NaN and the infinities as the JSON export does (docs/protocol.md, "Numbers").
  void csvAndJsonSpellNonFiniteAlike() {
    for (double v : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()})
      QCOMPARE(csvNumber(v), numberToJson(v).get<std::string>());
  }

  void csvFilesGoBesideEachOther() {
    QCOMPARE(epochsCsvPath("/tmp/a/run.csv"), std::string("/tmp/a/run.epochs.csv"));
    QCOMPARE(epochsCsvPath("/tmp/a/run"), std::string("/tmp/a/run.epochs.csv"));
    RunReader r(path_);
    try {
      writeRunCsvFiles(loadStoredRun(r, runId_).record, "/nonexistent/folder/run.csv");
      QFAIL("no error");
    } catch (const ExportError& e) {
      QVERIFY2(QString(e.what()).contains("cannot write /nonexistent/folder/run.csv"), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestRunExport)
#include "tst_run_export.moc"
