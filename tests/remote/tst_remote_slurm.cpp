// Sweeps on Slurm end to end (docs/remote.md), on the single-node cluster that
// tests/remote/with_slurm.sh started: real munged, slurmctld and slurmd, the real sbatch,
// this build's precisionlab-cli in every task. A 4-variant sweep is submitted as one job
// array, waited for, merged (twice: the second adds nothing) and compared with the same
// sweep run here; what sbatch refuses and a folder that is not a sweep are named.
#include <QTemporaryDir>
#include <QtTest>

#include "../cli/cli_test_support.h"
#include "store/store.h"
#include "store/sweep_store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

json fourVariants() {
  json base = tinySpirals();
  base["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 5}};
  return {{"title", "slurm sweep"},
          {"base", base},
          {"variants", json::array({{{"name", "fp32"}},
                                    {{"name", "bf16"}, {"set", {{"network.layers[*].precision", "bf16"}}}},
                                    {{"name", "fp16 dynamic"}, {"set", {{"network.layers[*].precision", "fp16"}}}},
                                    {{"name", "fp16 none"},
                                     {"set", {{"network.layers[*].precision", "fp16"}, {"loss_scaling", {{"mode", "none"}}}}}}})}};
}

// The comparison table without what differs between two runs of one experiment: the
// run ids, the median step time and the speed-up (timings).
QString tableWithoutTimings(const QString& csv) {
  QStringList rows = csv.split('\n', Qt::SkipEmptyParts);
  for (QString& row : rows) {
    QStringList cells = row.split(',');
    for (int column : {8, 7, 1}) cells.removeAt(column);  // speedup, median_step_ms, run_id
    row = cells.join(',');
  }
  return rows.join('\n');
}

QString runTool(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  p.waitForFinished(20000);
  return QString::fromUtf8(p.readAllStandardOutput()).trimmed();
}

}  // namespace

class TestRemoteSlurm : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    if (qEnvironmentVariableIsEmpty("PLAB_TEST_SLURM_DIR"))
      QSKIP("run through tests/remote/with_slurm.sh, which starts the cluster");
  }

  void sweepOnSlurmMergesIntoTheLocalSweepsTable() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", fourVariants());
    const QString shared = dir.filePath("shared");
    const CliResult submit = runCli({"sweep", file, "--slurm", "--dir", shared, "--backend", "cpu", "--partition", "plab"});
    QVERIFY2(submit.exitCode == 0, qPrintable(submit.describe()));
    const QRegularExpressionMatch job = QRegularExpression("submitted to Slurm as job array (\\d+)").match(submit.out);
    QVERIFY2(job.hasMatch(), qPrintable(submit.out));
    const json manifest = readJsonFile(shared + "/manifest.json");
    QCOMPARE(manifest["job_id"].get<std::string>(), job.captured(1).toStdString());
    QCOMPARE(int(manifest["variants"].size()), 4);

    // The local sweep meanwhile (two of the machine's cores are the cluster's too).
    const QString local = dir.filePath("local.sqlite");
    const CliResult l = runCli({"sweep", file, "--backend", "cpu", "--db", local}, 120000);
    QVERIFY2(l.exitCode == 0, qPrintable(l.describe()));

    QVERIFY2(waitUntil([&] { return runTool("squeue", {"-h", "-j", job.captured(1), "-o", "%i"}).isEmpty(); }, 90000),
             "the job array did not finish in 90 s");
    const QString merged = dir.filePath("merged.sqlite");
    const CliResult m1 = runCli({"merge", shared, "--db", merged});
    QVERIFY2(m1.exitCode == 0, qPrintable(m1.describe()));
    QVERIFY2(m1.out.contains("4 new runs merged; 4 of 4 tasks in the store"), qPrintable(m1.describe()));

    const CliResult m2 = runCli({"merge", shared, "--db", merged});
    QVERIFY2(m2.exitCode == 0, qPrintable(m2.describe()));
    QVERIFY2(m2.out.contains("0 new runs merged; 4 of 4 tasks in the store"), qPrintable(m2.describe()));
    {
      RunReader reader(merged.toStdString());
      QCOMPARE(int(reader.listRuns().size()), 4);
      for (const RunInfo& run : reader.listRuns()) QCOMPARE(run.status, RunStatus::completed);
      SweepStore sweeps(merged.toStdString());
      QCOMPARE(int(sweeps.listSweeps().size()), 1);
      const SweepRow row = sweeps.listSweeps().front();
      QCOMPARE(row.completed(), 4);
      QCOMPARE(row.options["slurm"]["job_id"].get<std::string>(), job.captured(1).toStdString());
      const auto run = reader.getRun(*row.variants[2].runId);
      QCOMPARE(run->name, std::string("fp16 dynamic · sweep 1"));
      QCOMPARE(run->summary["run_id"].get<std::int64_t>(), *row.variants[2].runId);
    }

    const CliResult cl = runCli({"compare", "1", "--format", "csv", "--db", local});
    const CliResult cm = runCli({"compare", "1", "--format", "csv", "--db", merged});
    QVERIFY2(cl.exitCode == 0 && cm.exitCode == 0, qPrintable(cl.describe() + cm.describe()));
    QCOMPARE(cm.out.count('\n'), 5);
    QCOMPARE(tableWithoutTimings(cm.out), tableWithoutTimings(cl.out));
  }

  // sbatch's own refusal reaches the user with the script it refused.
  void whatSbatchRefusesIsNamed_data() {
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("message");
    QTest::newRow("no such partition") << QStringList{"--partition", "nosuch"} << "nvalid partition";
    QTest::newRow("no such gres") << QStringList{"--gres", "gpu:1"} << "gres";
  }
  void whatSbatchRefusesIsNamed() {
    QFETCH(QStringList, options);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", fourVariants());
    const CliResult r = runCli(QStringList{"sweep", file, "--slurm", "--dir", dir.filePath("shared")} + options);
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("sbatch refused " + dir.filePath("shared") + "/job.sh"), qPrintable(r.describe()));
    QVERIFY2(r.err.contains(message, Qt::CaseInsensitive), qPrintable(r.describe()));
  }

  void mergeNamesAFolderThatIsNotASweep() {
    QTemporaryDir dir;
    const CliResult r = runCli({"merge", dir.path(), "--db", dir.filePath("runs.sqlite")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(dir.path() + ": no manifest.json"), qPrintable(r.describe()));
  }
};

QTEST_GUILESS_MAIN(TestRemoteSlurm)
#include "tst_remote_slurm.moc"
