// precisionlab-cli sweep: the real binary runs every variant of a sweep file in real
// worker processes, several at once, into a real SQLite store; overrides, failures of
// one variant, bad files and a stop signal.
#include <QtTest>

#include <QTemporaryDir>

#include <csignal>
#include <fstream>
#include <set>

#include "cli_test_support.h"
#include "store/store.h"
#include "store/sweep_store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

json threeVariants() {
  return json{{"title", "cli sweep"},
              {"base", tinySpirals()},
              {"variants", json::array({
                               {{"name", "fp32"}},
                               {{"name", "bf16"}, {"set", {{"network.layers[*].precision", "bf16"}}}},
                               {{"name", "fp16, dynamic"},
                                {"set", {{"network.layers[*].precision", "fp16"}, {"loss_scaling.mode", "dynamic"}}}},
                           })}};
}

}  // namespace

class TestCliSweep : public QObject {
  Q_OBJECT
 private slots:
  void runsEveryVariantAsAStoredRun() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", threeVariants());
    const QString db = dir.filePath("runs.sqlite");
    const QString summary = dir.filePath("summary.json");
    const CliResult r = runCli({"sweep", file, "--jobs", "2", "--db", db, "--summary-json", summary}, 120000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    QVERIFY2(r.out.contains("3 variants, 2 at a time"), qPrintable(r.out));
    QVERIFY2(r.out.contains("variant 3 of 3 \"fp16, dynamic\": completed"), qPrintable(r.out));

    const json s = readJsonFile(summary);
    QCOMPARE(int(s["variants"].size()), 3);
    std::set<std::int64_t> ids;
    RunReader reader(db.toStdString());
    const char* formats[] = {"fp32", "bf16", "fp16"};
    for (int i = 0; i < 3; ++i) {
      const json& v = s["variants"][i];
      QCOMPARE(v["status"].get<std::string>(), std::string("completed"));
      const std::int64_t id = v["run_id"].get<std::int64_t>();
      ids.insert(id);
      // Each variant keeps its own experiment text, as every run does.
      const auto run = reader.getRun(id);
      QVERIFY(run.has_value());
      QCOMPARE(run->status, RunStatus::completed);
      QCOMPARE(run->config["network"]["layers"][0]["precision"].get<std::string>(), std::string(formats[i]));
      QVERIFY2(r.out.contains(QString::fromStdString(v["name"].get<std::string>())), qPrintable(r.out));
    }
    QCOMPARE(int(ids.size()), 3);
    QCOMPARE(readJsonFile(summary)["variants"][2]["set"]["loss_scaling.mode"].get<std::string>(), std::string("dynamic"));
  }

  void seedAndStepsOverrideEveryVariant() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", threeVariants());
    const QString db = dir.filePath("runs.sqlite");
    const QString summary = dir.filePath("summary.json");
    const CliResult r = runCli({"sweep", file, "--jobs", "3", "--seed", "11", "--steps", "5", "--db", db,
                                "--summary-json", summary, "--backend", "cpu"}, 120000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    RunReader reader(db.toStdString());
    for (const json& v : readJsonFile(summary)["variants"]) {
      const auto run = reader.getRun(v["run_id"].get<std::int64_t>());
      QVERIFY(run.has_value());
      QCOMPARE(run->config["seed"].get<std::uint64_t>(), std::uint64_t(11));
      QCOMPARE(run->config["steps"].get<std::int64_t>(), std::int64_t(5));
      QCOMPARE(reader.loadSteps(run->id).size(), std::size_t(5));
    }
  }

  void aFailedVariantFailsTheSweepButNotTheOthers() {
    QTemporaryDir dir;
    json sweep = threeVariants();
    sweep["variants"][1]["set"] = {{"dataset", {{"name", "idx"}, {"path", dir.filePath("no-such-folder").toStdString()}}},
                                   {"network.layers[2].out", 10}};
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString summary = dir.filePath("summary.json");
    const CliResult r = runCli({"sweep", file, "--jobs", "2", "--db", dir.filePath("runs.sqlite"), "--summary-json", summary}, 120000);
    QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
    const json s = readJsonFile(summary);
    QCOMPARE(s["variants"][0]["status"].get<std::string>(), std::string("completed"));
    QCOMPARE(s["variants"][1]["status"].get<std::string>(), std::string("failed"));
    QVERIFY2(s["variants"][1]["error"].get<std::string>().find("no-such-folder") != std::string::npos,
             s["variants"][1]["error"].dump().c_str());
    QCOMPARE(s["variants"][2]["status"].get<std::string>(), std::string("completed"));
  }

  void aBadSweepFileNamesTheKeyPathAndRunsNothing() {
    QTemporaryDir dir;
    json sweep = threeVariants();
    sweep["variants"][2]["set"]["network.layers[7].precision"] = "fp16";
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString db = dir.filePath("runs.sqlite");
    const CliResult r = runCli({"sweep", file, "--db", db});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("variant \"fp16, dynamic\" (variants[2]): network.layers[7]: the array has 3 elements"),
             qPrintable(r.err));
    QVERIFY2(!QFile::exists(db), "a run started although the file was bad");
  }

  void resumeRunsOnlyTheVariantsWithoutACompletedRun() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", threeVariants());
    const QString db = dir.filePath("runs.sqlite");
    const QString summary = dir.filePath("summary.json");
    const CliResult first = runCli({"sweep", file, "--db", db, "--summary-json", summary}, 120000);
    QVERIFY2(first.exitCode == 0, qPrintable(first.describe()));
    const json s = readJsonFile(summary);
    const std::int64_t sweepId = s["sweep_id"].get<std::int64_t>();
    {
      SweepStore store(db.toStdString());
      const auto row = store.getSweep(sweepId);
      QVERIFY(row.has_value());
      QCOMPARE(row->completed(), 3);
      QCOMPARE(row->variants[1].name, std::string("bf16"));
      QCOMPARE(store.sweepOfRun(s["variants"][1]["run_id"].get<std::int64_t>())->second, 1);
    }
    // The bf16 run is deleted: its variant has no run any more.
    RunReader(db.toStdString()).deleteRun(s["variants"][1]["run_id"].get<std::int64_t>());
    const QString summary2 = dir.filePath("summary2.json");
    const CliResult resumed = runCli({"sweep", "--resume", QString::number(sweepId), "--db", db, "--summary-json", summary2}, 120000);
    QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.describe()));
    QVERIFY2(resumed.out.contains("1 variant left to run"), qPrintable(resumed.out));
    const json s2 = readJsonFile(summary2);
    QCOMPARE(int(s2["variants"].size()), 1);
    QCOMPARE(s2["variants"][0]["name"].get<std::string>(), std::string("bf16"));
    SweepStore store(db.toStdString());
    QCOMPARE(store.getSweep(sweepId)->completed(), 3);
    // Nothing is left: a second resume runs nothing and succeeds.
    const CliResult again = runCli({"sweep", "--resume", QString::number(sweepId), "--db", db});
    QVERIFY2(again.exitCode == 0 && again.out.contains("0 variants left to run"), qPrintable(again.describe()));
    QCOMPARE(runCli({"sweep", "--resume", "999", "--db", db}).exitCode, 2);
  }

  void aLessonPrintsItsClaimsAndFailsWhenOneDoesNotHold() {
    QTemporaryDir dir;
    json sweep = threeVariants();
    sweep["lesson"] = {
        {"watch", "the loss"},
        {"claims", json::array({
            {{"claim", "fp32 learns the spirals"}, {"metric", "test_accuracy"}, {"variant", "fp32"}, {"at_least", 0.55}},
            {{"claim", "skipped steps are the overflow steps"}, {"metric", "skipped_steps"}, {"variant", "fp16, dynamic"},
             {"equals", {{"metric", "overflow_events"}}}},
            {{"claim", "an impossible claim"}, {"metric", "test_accuracy"}, {"variant", "bf16"}, {"greater_than", 1.5}},
        })}};
    const QString file = writeExperiment(QDir(dir.path()), "lesson.json", sweep);
    const QString summary = dir.filePath("summary.json");
    const CliResult r = runCli({"sweep", file, "--jobs", "3", "--db", dir.filePath("runs.sqlite"), "--summary-json", summary}, 120000);
    QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
    QVERIFY2(r.out.contains("fails          an impossible claim"), qPrintable(r.out));
    const json claims = readJsonFile(summary)["claims"];
    QCOMPARE(int(claims.size()), 3);
    QCOMPARE(claims[0]["status"].get<std::string>(), std::string("holds"));
    QCOMPARE(claims[1]["status"].get<std::string>(), std::string("holds"));
    QCOMPARE(claims[2]["status"].get<std::string>(), std::string("fails"));
    QVERIFY2(claims[2]["measured"].get<std::string>().find("bf16: test_accuracy 0.") == 0, claims[2].dump().c_str());

    // The comparison table of the same stored sweep, and its two exports.
    const json stored = readJsonFile(summary);
    const QString id = QString::number(stored["sweep_id"].get<std::int64_t>());
    const QString db = dir.filePath("runs.sqlite");
    const CliResult csv = runCli({"compare", id, "--db", db, "--format", "csv"});
    QVERIFY2(csv.exitCode == 0, qPrintable(csv.describe()));
    const QStringList lines = csv.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 4);
    const QStringList header = lines[0].split(',');
    QCOMPARE(header.mid(0, 3), QStringList({"variant", "run_id", "status"}));
    QMap<QString, QStringList> rows;
    for (int i = 1; i < 4; ++i) {
      QStringList cells = lines[i].split(',');
      if (cells[0].startsWith('"')) cells = QStringList{"fp16, dynamic"} + cells.mid(2);  // the quoted name
      QCOMPARE(cells.size(), header.size());
      rows[cells[0]] = cells;
    }
    const auto column = [&](const QString& variant, const char* name) { return rows[variant][header.indexOf(name)]; };
    QCOMPARE(column("fp32", "status"), QString("completed"));
    QCOMPARE(column("fp32", "speedup"), QString("1"));
    QCOMPARE(column("fp32", "run_id"), QString::number(stored["variants"][0]["run_id"].get<std::int64_t>()));
    // Memory from the engine's tensors: bf16 weights and activations take half of fp32's bytes.
    const qint64 fp32Weights = column("fp32", "weights_bytes").toLongLong();
    QVERIFY(fp32Weights > 0);
    QCOMPARE(column("bf16", "weights_bytes").toLongLong() * 2, fp32Weights);
    QCOMPARE(column("bf16", "activations_bytes").toLongLong() * 2, column("fp32", "activations_bytes").toLongLong());
    QCOMPARE(column("bf16", "master_weights_bytes").toLongLong(), fp32Weights);  // fp32 master copies
    QVERIFY2(column("fp16, dynamic", "gradient_underflow").contains("layers[0] linear fp16"),
             qPrintable(column("fp16, dynamic", "gradient_underflow")));

    const CliResult md = runCli({"compare", id, "--db", db});
    QVERIFY2(md.exitCode == 0, qPrintable(md.describe()));
    QVERIFY2(md.out.startsWith("# cli sweep\n"), qPrintable(md.out));
    QVERIFY2(md.out.contains("| fails | an impossible claim | bf16: test_accuracy 0."), qPrintable(md.out));
    QVERIFY2(md.out.contains("| holds | fp32 learns the spirals |"), qPrintable(md.out));

    // Each run is named after its variant.
    RunReader reader(db.toStdString());
    QCOMPARE(reader.getRun(stored["variants"][1]["run_id"].get<std::int64_t>())->name, "bf16 · sweep " + id.toStdString());

    const CliResult missing = runCli({"compare", "999", "--db", db});
    QCOMPARE(missing.exitCode, 4);
    QVERIFY2(missing.err.contains("no sweep 999"), qPrintable(missing.describe()));
  }

  // A lesson run by a relative path, with its base in a file beside it, is compared
  // from another folder: the claims are still checked (the store keeps the absolute path).
  void aSweepRunByARelativePathIsComparedFromAnywhere() {
    QTemporaryDir dir;
    json sweep = threeVariants();
    writeExperiment(QDir(dir.path()), "base.json", sweep["base"]);
    sweep.erase("base");
    sweep["base_file"] = "base.json";
    sweep["lesson"] = {{"watch", "the loss"},
                       {"claims", json::array({{{"claim", "fp32 runs"}, {"metric", "overflow_events"}, {"variant", "fp32"},
                                                {"equals", 0}}})}};
    writeExperiment(QDir(dir.path()), "lesson.json", sweep);
    const QString db = dir.filePath("runs.sqlite");
    const CliResult r = runCli({"sweep", "lesson.json", "--steps", "3", "--jobs", "3", "--db", db}, 120000,
                               [&](QProcess& p) { p.setWorkingDirectory(dir.path()); });
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    const CliResult md = runCli({"compare", "1", "--db", db}, 60000, [](QProcess& p) { p.setWorkingDirectory(QDir::rootPath()); });
    QVERIFY2(md.exitCode == 0, qPrintable(md.describe()));
    QVERIFY2(md.out.contains("| holds | fp32 runs |"), qPrintable(md.out));
  }

  void aStopSignalStopsEveryVariantAndKeepsWhatTheyRecorded() {
    QTemporaryDir dir;
    json sweep = threeVariants();
    sweep["base"] = endlessSpirals();
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString db = dir.filePath("runs.sqlite");
    QProcess p;
    p.start(cliPath(), {"sweep", file, "--jobs", "2", "--db", db});
    QVERIFY(p.waitForStarted());
    // Both first variants are training once the store holds their steps.
    QVERIFY(waitUntil([&] {
      if (!QFile::exists(db)) return false;
      RunReader reader(db.toStdString());
      const auto runs = reader.listRuns();
      return runs.size() == 2 && runs[0].stepCount > 0 && runs[1].stepCount > 0;
    }));
    ::kill(pid_t(p.processId()), SIGTERM);
    QVERIFY(p.waitForFinished(30000));
    QCOMPARE(p.exitCode(), 143);
    RunReader reader(db.toStdString());
    const auto runs = reader.listRuns();
    QCOMPARE(int(runs.size()), 2);  // the third variant never started
    for (const RunInfo& run : runs) {
      QCOMPARE(run.status, RunStatus::cancelled);
      QVERIFY(run.stepCount > 0);
    }
  }
};

QTEST_GUILESS_MAIN(TestCliSweep)
#include "tst_cli_sweep.moc"
