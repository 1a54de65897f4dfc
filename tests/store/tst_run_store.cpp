// RunWriter and RunReader on real SQLite files: every record type survives the round
// trip, batching and the flush interval hold, and a second connection sees commits.
#include <QtTest>

#include <QElapsedTimer>
#include <QThread>

#include <cmath>
#include <map>

#include "store/store.h"
#include "store_fixtures.h"

using namespace plab;
using namespace plab::testing;
using nlohmann::json;

namespace {

const json kConfig = {{"title", "spirals fp16"}, {"dataset", {{"name", "spirals"}}}, {"seed", 42}};

StoreOptions manualFlush() {
  StoreOptions o;
  o.flushInterval = std::chrono::hours(1);
  o.backgroundFlush = false;
  return o;
}

QString describe(const StepMetrics& m) {
  return QString::fromStdString(json{{"step", m.step}, {"loss", m.loss}, {"scale", m.lossScale}, {"culprit", m.culprit}}.dump());
}

}  // namespace

class TestRunStore : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString dbPath(const char* name) { return dir_.filePath(name); }

 private slots:
  void everyRecordTypeSurvivesTheRoundTrip() {
    const std::string path = dbPath("roundtrip.sqlite").toStdString();
    std::vector<StepMetrics> steps;
    for (int s = 1; s <= 20; ++s) steps.push_back(sampleStep(s));
    steps[4].loss = std::numeric_limits<double>::quiet_NaN();  // a NaN loss is data, not an error
    OverflowEvent overflow{7, 65536, 32768, {"layers[2] linear", "layers[0] linear"}};
    ScaleGrowthEvent growth{12, 32768, 65536};
    EpochMetrics epoch{0, 20, 0.75, 0.8, 0.9, 0.78};
    std::int64_t runId = 0;
    {
      RunWriter w(path, manualFlush());
      runId = w.createRun(kConfig, "spirals fp16", "cpu", "test cpu (2 threads)");
      for (const auto& m : steps) w.appendStep(m);
      w.appendOverflow(overflow);
      w.appendScaleGrowth(growth);
      w.appendEvent(15, "note", {{"text", "hello"}});
      w.appendEpoch(epoch);
      w.appendLayerStats(sampleLayerStats(10, 0, StatsKind::activation));
      w.appendLayerStats(sampleLayerStats(10, 0, StatsKind::gradient));
      w.appendSpeed(sampleSpeed("fp16-mixed"));
      w.finish(RunStatus::completed, "", {{"final_loss_scale", 65536}});
    }
    RunReader r(path);
    const auto run = r.getRun(runId);
    QVERIFY(run.has_value());
    QCOMPARE(statusText(run->status), QString("completed"));
    QCOMPARE(run->title, std::string("spirals fp16"));
    QCOMPARE(run->backend, std::string("cpu"));
    QCOMPARE(run->device, std::string("test cpu (2 threads)"));
    QCOMPARE(run->datasetName, std::string("spirals"));
    QCOMPARE(run->config, kConfig);
    QCOMPARE(run->summary["final_loss_scale"].get<int>(), 65536);
    QVERIFY(!run->createdAt.empty() && !run->finishedAt.empty());

    const auto loaded = r.loadSteps(runId);
    QCOMPARE(loaded.size(), steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const StepMetrics &a = steps[i], &b = loaded[i];
      const bool same = a.step == b.step && a.epoch == b.epoch && sameDouble(a.loss, b.loss) && a.lossScale == b.lossScale &&
                        a.overflow == b.overflow && a.skipped == b.skipped && a.culprit == b.culprit &&
                        sameDouble(a.gradNorm, b.gradNorm) && a.learningRate == b.learningRate && a.stepMs == b.stepMs &&
                        a.samplesPerSecond == b.samplesPerSecond;
      QVERIFY2(same, qPrintable(describe(a) + " came back as " + describe(b)));
    }
    QVERIFY(std::isinf(loaded[6].gradNorm));  // step 7 overflowed

    const auto overflows = r.loadOverflows(runId);
    QCOMPARE(overflows.size(), std::size_t(1));
    QCOMPARE(overflows[0].layers, overflow.layers);
    QCOMPARE(overflows[0].scaleAfter, 32768.0);
    const auto events = r.loadEvents(runId);
    QCOMPARE(events.size(), std::size_t(3));
    QCOMPARE(events[1].kind, EventKind::scale_growth);
    QCOMPARE(events[1].payload["scale_after"].get<double>(), 65536.0);
    QCOMPARE(events[2].name, std::string("note"));
    QCOMPARE(events[2].payload["text"].get<std::string>(), std::string("hello"));
    QCOMPARE(r.loadEvents(runId, events[1].id).size(), std::size_t(1));

    const auto epochs = r.loadEpochs(runId);
    QCOMPARE(epochs.size(), std::size_t(1));
    QCOMPARE(epochs[0].testAccuracy, 0.78);
    QCOMPARE(epochs[0].trainLoss, 0.75);

    const auto stats = r.loadLayerStats(runId);
    QCOMPARE(stats.size(), std::size_t(2));
    QCOMPARE(stats[0].kind, StatsKind::activation);
    QCOMPARE(stats[1].kind, StatsKind::gradient);
    const LayerStatsRecord expected = sampleLayerStats(10, 0, StatsKind::gradient);
    QCOMPARE(stats[1].stats.log2Hist, expected.stats.log2Hist);
    QCOMPARE(stats[1].stats.overflows, 2);
    QCOMPARE(stats[1].stats.maxAbs, 65504.0f);
    QCOMPARE(stats[1].layerName, expected.layerName);
    QCOMPARE(stats[1].sample, expected.sample);  // inf and -0 included
    QVERIFY(std::signbit(stats[1].sample[1]));
    QVERIFY(stats[0].sample.empty());

    const auto speed = r.loadSpeed(runId);
    QCOMPARE(speed.size(), std::size_t(1));
    QCOMPARE(speed[0].config, std::string("fp16-mixed"));
    QCOMPARE(speed[0].layers.size(), std::size_t(2));
    QCOMPARE(speed[0].layers[1].backwardMs, 0.125);
  }

  void listRunsGivesBrowserFigures() {
    const std::string path = dbPath("list.sqlite").toStdString();
    std::int64_t first = 0, second = 0;
    {
      RunWriter w(path, manualFlush());
      first = w.createRun(kConfig, "first", "cpu", "cpu0");
      for (int s = 1; s <= 14; ++s) w.appendStep(sampleStep(s));  // steps 7 and 14 skipped
      w.appendOverflow({7, 65536, 32768, {"a"}});
      w.appendOverflow({14, 32768, 16384, {"a"}});
      w.appendEpoch({0, 10, 1.0, 0.5, 1.1, 0.4});
      w.appendEpoch({1, 14, 0.9, 0.6, 1.0, 0.55});
      w.finish(RunStatus::completed);
    }
    {
      RunWriter w(path, manualFlush());
      second = w.createRun({{"dataset", {{"name", "sine"}}}}, "second", "cpu", "cpu0");
      w.appendStep(sampleStep(1));
      w.appendEpoch({0, 1, 1.0, -1, 1.2, -1});  // regression: no accuracy
      w.finish(RunStatus::failed, "NaN loss at step 2");
    }
    RunReader r(path);
    const auto runs = r.listRuns();
    QCOMPARE(runs.size(), std::size_t(2));
    QCOMPARE(runs[0].id, second);  // newest first
    QCOMPARE(runs[1].id, first);
    QCOMPARE(runs[1].stepCount, 14);
    QCOMPARE(runs[1].lastStep, 14);
    QCOMPARE(runs[1].lastLoss, 2.5 / 14);
    QCOMPARE(runs[1].overflowCount, 2);
    QCOMPARE(runs[1].skippedCount, 2);
    QVERIFY(runs[1].testAccuracy.has_value());
    QCOMPARE(*runs[1].testAccuracy, 0.55);
    QVERIFY(runs[1].config.is_null());  // listRuns leaves the config out
    QVERIFY(!runs[0].testAccuracy.has_value());
    QCOMPARE(statusText(runs[0].status), QString("failed"));
    QCOMPARE(runs[0].error, std::string("NaN loss at step 2"));
    QCOMPARE(runs[0].datasetName, std::string("sine"));
  }

  void browserFiguresStayExactWhenAStepIsWrittenTwice() {
    const std::string path = dbPath("rewrite.sqlite").toStdString();
    RunWriter w(path, manualFlush());
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    for (int s = 1; s <= 7; ++s) w.appendStep(sampleStep(s));  // step 7 skipped
    w.flush();
    StepMetrics again = sampleStep(3);
    again.skipped = true;  // the rewrite turns step 3 into a skipped step
    w.appendStep(again);
    w.appendStep(sampleStep(8));
    w.appendOverflow({8, 2, 1, {"x"}});
    w.flush();
    RunReader r(path);
    const RunInfo run = r.listRuns().at(0);
    QCOMPARE(run.stepCount, 8);     // not 9: step 3 was replaced
    QCOMPARE(run.skippedCount, 2);  // steps 3 and 7
    QCOMPARE(run.lastStep, 8);
    QCOMPARE(run.lastLoss, sampleStep(8).loss);
    QCOMPARE(run.overflowCount, 1);
    QCOMPARE(r.loadSteps(id).size(), std::size_t(8));
  }

  void rowsAppearForAnotherConnectionOnlyAfterCommit() {
    const std::string path = dbPath("incremental.sqlite").toStdString();
    RunWriter w(path, manualFlush());
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    RunReader r(path);  // open the whole time, as the GUI is
    for (int s = 1; s <= 10; ++s) w.appendStep(sampleStep(s));
    QCOMPARE(r.loadSteps(id).size(), std::size_t(0));  // buffered, not committed
    w.flush();
    QCOMPARE(r.loadSteps(id).size(), std::size_t(10));
    for (int s = 11; s <= 15; ++s) w.appendStep(sampleStep(s));
    w.flush();
    const auto newer = r.loadSteps(id, 10);
    QCOMPARE(newer.size(), std::size_t(5));
    QCOMPARE(newer.front().step, 11);
    QCOMPARE(statusText(r.getRun(id)->status), QString("running"));  // our own live writer: not interrupted
  }

  void appendCommitsOnceTheIntervalHasPassed() {
    const std::string path = dbPath("interval.sqlite").toStdString();
    StoreOptions o;
    o.flushInterval = std::chrono::milliseconds(100);
    o.backgroundFlush = false;
    RunWriter w(path, o);
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    w.appendStep(sampleStep(1));
    QTest::qWait(150);  // past the interval: the next append must commit both rows
    w.appendStep(sampleStep(2));
    RunReader r(path);
    QCOMPARE(r.loadSteps(id).size(), std::size_t(2));
  }

  void backgroundFlushCommitsAnIdleBuffer() {
    const std::string path = dbPath("background.sqlite").toStdString();
    StoreOptions o;
    o.flushInterval = std::chrono::milliseconds(100);
    RunWriter w(path, o);
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    w.appendStep(sampleStep(1));  // and then nothing: the trainer is busy evaluating
    RunReader r(path);
    QTRY_COMPARE_WITH_TIMEOUT(r.loadSteps(id).size(), std::size_t(1), 5000);
  }

  // docs/store.md, "Writing": a row is on disk within a second of its append, so a
  // kill -9 loses at most a second of steps. Steps come every 100 ms (a slow network),
  // the worst case for a commit that waits for the next append; another connection
  // notes when each step becomes visible. With a 1 s interval this took 1.0-1.1 s.
  void everyRowIsCommittedWithinASecond() {
    const std::string path = dbPath("within-a-second.sqlite").toStdString();
    RunWriter w(path);  // the default options: what run and worker use
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    w.flush();
    RunReader r(path);
    QElapsedTimer clock;
    clock.start();
    std::map<std::int64_t, qint64> appendedAt, visibleAt;
    std::int64_t next = 1, seen = 0;
    while (clock.elapsed() < 3000 || seen < next - 1) {
      if (next <= 30 && clock.elapsed() >= (next - 1) * 100) {
        appendedAt[next] = clock.elapsed();
        w.appendStep(sampleStep(next++));
      }
      for (const StepMetrics& m : r.loadSteps(id, seen)) {
        visibleAt[m.step] = clock.elapsed();
        seen = std::max(seen, m.step);
      }
      QVERIFY2(clock.elapsed() < 10000, "steps were not committed within 10 s");
      QThread::msleep(10);
    }
    qint64 worst = 0;
    for (const auto& [step, at] : appendedAt) worst = std::max(worst, visibleAt.at(step) - at);
    QVERIFY2(worst < 1000, qPrintable(QString("a step waited %1 ms for its commit").arg(worst)));
  }

  void finishCommitsWhatIsBuffered() {
    const std::string path = dbPath("finish.sqlite").toStdString();
    RunWriter w(path, manualFlush());
    const auto id = w.createRun(kConfig, "t", "cpu", "d");
    for (int s = 1; s <= 3; ++s) w.appendStep(sampleStep(s));
    w.finish(RunStatus::cancelled);
    QVERIFY(w.finished());
    RunReader r(path);
    QCOMPARE(r.loadSteps(id).size(), std::size_t(3));
    QCOMPARE(statusText(r.getRun(id)->status), QString("cancelled"));
    QVERIFY_THROWS_EXCEPTION(StoreError, w.appendStep(sampleStep(4)));
  }

  void destructorFlushesAndLeavesTheRunRunning() {
    const std::string path = dbPath("destructor.sqlite").toStdString();
    std::int64_t id = 0;
    {
      RunWriter w(path, manualFlush());
      id = w.createRun(kConfig, "t", "cpu", "d");
      w.appendStep(sampleStep(1));
    }
    RunReader r(path);
    QCOMPARE(r.loadSteps(id).size(), std::size_t(1));
    // Its writer (this process) is alive, so the run is not marked interrupted.
    QCOMPARE(statusText(r.getRun(id)->status), QString("running"));
    QVERIFY(r.interruptedOnOpen().empty());
  }

  void appendBeforeCreateRunIsAnError() {
    RunWriter w(dbPath("early.sqlite").toStdString(), manualFlush());
    try {
      w.appendStep(sampleStep(1));
      QFAIL("no error");
    } catch (const StoreError& e) {
      QVERIFY2(QString(e.what()).contains("appendStep before createRun"), e.what());
    }
  }

  void notesTagsNameAndDelete() {
    const std::string path = dbPath("edit.sqlite").toStdString();
    std::int64_t id = 0;
    {
      RunWriter w(path, manualFlush());
      id = w.createRun(kConfig, "t", "cpu", "d");
      w.appendStep(sampleStep(1));
      w.appendLayerStats(sampleLayerStats(1, 0, StatsKind::activation));
      w.appendSpeed(sampleSpeed("fp32"));
      w.finish(RunStatus::completed);
    }
    RunReader r(path);
    r.updateNotes(id, "fp16 diverges after step 900");
    r.updateTags(id, {"demo", "fp16"});
    r.renameRun(id, "spirals, fp16 without scaling");
    const auto run = r.getRun(id);
    QCOMPARE(run->notes, std::string("fp16 diverges after step 900"));
    QCOMPARE(run->tags, (std::vector<std::string>{"demo", "fp16"}));
    QCOMPARE(run->name, std::string("spirals, fp16 without scaling"));
    QCOMPARE(run->title, std::string("t"));
    r.deleteRun(id);
    QVERIFY(!r.getRun(id).has_value());
    QVERIFY(r.loadSteps(id).empty());
    QVERIFY(r.loadLayerStats(id).empty());
    QVERIFY(r.loadSpeed(id).empty());
    try {
      r.updateNotes(id, "x");
      QFAIL("no error");
    } catch (const StoreError& e) {
      QVERIFY2(QString(e.what()).contains("run " + QString::number(id) + " not found"), e.what());
    }
  }

  void defaultPathFollowsXdgDataHome() {
    const QByteArray oldXdg = qgetenv("XDG_DATA_HOME"), oldHome = qgetenv("HOME");
    QTemporaryDir xdg, home;
    qputenv("XDG_DATA_HOME", xdg.path().toLocal8Bit());
    const QString fromXdg = QString::fromStdString(defaultDatabasePath());
    qunsetenv("XDG_DATA_HOME");
    qputenv("HOME", home.path().toLocal8Bit());
    const QString fromHome = QString::fromStdString(defaultDatabasePath());
    oldXdg.isNull() ? qunsetenv("XDG_DATA_HOME") : qputenv("XDG_DATA_HOME", oldXdg);
    qputenv("HOME", oldHome);
    QCOMPARE(fromXdg, xdg.path() + "/precisionlab/runs.sqlite");
    QCOMPARE(fromHome, home.path() + "/.local/share/precisionlab/runs.sqlite");
    QVERIFY(QFileInfo(xdg.path() + "/precisionlab").isDir());
    QVERIFY(QFileInfo(home.path() + "/.local/share/precisionlab").isDir());
  }
};

QTEST_GUILESS_MAIN(TestRunStore)
#include "tst_run_store.moc"
