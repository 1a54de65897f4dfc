// copyRun (store/run_import.h): what `precisionlab-cli merge` does with each Slurm task's
// store (docs/remote.md, "Merge"). The copy is the run as it was: every row, its events
// (the backend note, promotions), the summary with the new id, the name, notes, tags and
// the original times; a run still running is refused, naming the file.
#include <QTemporaryDir>
#include <QtTest>

#include "store/run_import.h"
#include "store/store.h"
#include "store_fixtures.h"

using namespace plab;
using namespace plab::testing;
using nlohmann::json;

class TestRunImport : public QObject {
  Q_OBJECT
 private slots:
  void theCopyIsTheRunAsItWas() {
    QTemporaryDir dir;
    const std::string task = dir.filePath("task.sqlite").toStdString(), merged = dir.filePath("merged.sqlite").toStdString();
    {
      RunWriter filler(merged);  // the target already holds a run: the copy gets the next id
      filler.createRun(json{{"title", "other"}}, "other", "cpu", "d");
      filler.finish(RunStatus::completed);
    }
    {
      RunWriter w(task);
      w.createRun(json{{"title", "task"}, {"seed", 3}}, "task", "cuda", "NVIDIA H100");
      w.appendEvent(0, "backend", {{"note", "requested"}});
      for (int s = 1; s <= 300; ++s) w.appendStep(sampleStep(s));
      w.appendLayerStats(std::vector<LayerStatsRecord>{sampleLayerStats(100, 0, StatsKind::activation),
                                                       sampleLayerStats(100, 0, StatsKind::gradient)});
      w.appendOverflow({7, 65536, 32768, {"layers[2] linear"}});
      w.appendScaleGrowth({200, 32768, 65536});
      w.appendPromotion({25, 0, "layers[0] linear", "fp16", "bf16", "underflow"});
      w.appendEpoch({0, 300, 0.5, 0.75, 0.625, 0.7});
      w.appendSpeed(sampleSpeed("fp16-mixed"));
      w.finish(RunStatus::completed, "", json{{"run_id", 1}, {"steps", 300}});
    }
    RunReader from(task);
    from.renameRun(1, "fp16 · sweep 2");
    from.updateNotes(1, "a note");
    from.updateTags(1, {"slurm"});
    const RunInfo original = *from.getRun(1);

    const std::int64_t copy = copyRun(from, 1, merged);
    QCOMPARE(copy, std::int64_t(2));
    RunReader to(merged);
    const RunInfo info = *to.getRun(copy);
    QCOMPARE(info.name, original.name);
    QCOMPARE(info.notes, std::string("a note"));
    QCOMPARE(info.tags, std::vector<std::string>{"slurm"});
    QCOMPARE(info.createdAt, original.createdAt);
    QCOMPARE(info.finishedAt, original.finishedAt);
    QCOMPARE(info.backend, std::string("cuda"));
    QCOMPARE(info.device, std::string("NVIDIA H100"));
    QCOMPARE(info.status, RunStatus::completed);
    QCOMPARE(info.summary["run_id"].get<std::int64_t>(), copy);
    QCOMPARE(info.config.dump(), original.config.dump());
    const RunRecord a = from.loadRecord(1), b = to.loadRecord(copy);
    QCOMPARE(json(b.steps).dump(), json(a.steps).dump());
    QCOMPARE(json(b.layerStats).dump(), json(a.layerStats).dump());
    QCOMPARE(json(b.overflows).dump(), json(a.overflows).dump());
    QCOMPARE(json(b.scaleGrowths).dump(), json(a.scaleGrowths).dump());
    QCOMPARE(json(b.epochs).dump(), json(a.epochs).dump());
    QCOMPARE(json(b.speed).dump(), json(a.speed).dump());
    QCOMPARE(to.loadPromotions(copy), from.loadPromotions(1));
    QCOMPARE(int(to.loadEvents(copy).size()), int(from.loadEvents(1).size()));
  }

  void aRunStillRunningIsRefused() {
    QTemporaryDir dir;
    const std::string task = dir.filePath("task.sqlite").toStdString();
    RunWriter w(task);  // alive: the run stays `running`
    w.createRun(json{{"title", "task"}}, "task", "cpu", "d");
    RunReader from(task);
    try {
      copyRun(from, 1, dir.filePath("merged.sqlite").toStdString());
      QFAIL("copied a running run");
    } catch (const StoreError& e) {
      QVERIFY2(QString(e.what()).contains(QString::fromStdString(task) + ": run 1 is still running"), e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestRunImport)
#include "tst_run_import.moc"
