// The sweep view following a sweep submitted to Slurm (docs/remote.md, "Merge"), on the
// single-node cluster that tests/remote/with_slurm.sh started: the tasks' runs appear in
// the view as `merge` brings them in, and the comparison table follows once all are in.
#include <QApplication>
#include <QLabel>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "../cli/cli_test_support.h"
#include "sweeps/comparison_view.h"
#include "sweeps/sweep_panel.h"

using namespace plab;
using namespace plab::ui;
using nlohmann::json;

class TestRemoteSlurmGui : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    if (qEnvironmentVariableIsEmpty("PLAB_TEST_SLURM_DIR")) QSKIP("run through tests/remote/with_slurm.sh");
  }

  void sweepViewFillsInAsTasksFinish() {
    QTemporaryDir dir;
    json sweep = {{"title", "followed on slurm"},
                  {"base", test::tinySpirals()},
                  {"variants", json::array({{{"name", "fp32"}},
                                            {{"name", "bf16"}, {"set", {{"network.layers[*].precision", "bf16"}}}},
                                            {{"name", "fp16"}, {"set", {{"network.layers[*].precision", "fp16"}}}}})}};
    const QString file = test::writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString shared = dir.filePath("shared");
    const test::CliResult submit = test::runCli({"sweep", file, "--slurm", "--dir", shared, "--backend", "cpu"});
    QVERIFY2(submit.exitCode == 0, qPrintable(submit.describe()));

    SweepPanel panel(dir.filePath("runs.sqlite"));
    QSignalSpy finished(&panel, &SweepPanel::sweepFinished);
    QSignalSpy compared(&panel, &SweepPanel::comparisonReady);
    QList<int> doneSeen;
    auto* progress = panel.findChild<QProgressBar*>();
    QVERIFY(progress);
    connect(progress, &QProgressBar::valueChanged, this, [&](int v) { doneSeen << v; });
    QString error;
    QVERIFY2(panel.followSlurm(shared, &error, 300), qPrintable(error));
    QVERIFY(panel.isRunning());
    QVERIFY2(finished.wait(90000), "the followed sweep did not finish in 90 s");
    QVERIFY2(finished.first().at(1).toInt() == 0, qPrintable(panel.findChild<QLabel*>(QStringLiteral("sweepStatus"))->text()));
    QVERIFY(!panel.isRunning());
    QCOMPARE(panel.sweepId(), std::int64_t(1));
    QCOMPARE(doneSeen.last(), 3);
    for (int i = 0; i < 3; ++i)
      QVERIFY2(panel.variantTable()->item(i, 3)->text().startsWith('#'), qPrintable(panel.variantTable()->item(i, 3)->text()));
    QCOMPARE(panel.shownRuns().size(), 3);
    QVERIFY(compared.count() > 0 || compared.wait(30000));
    const SweepComparison& c = panel.comparisonView()->comparison();
    QCOMPARE(int(c.rows.size()), 3);
    for (const ComparisonRow& row : c.rows) QCOMPARE(row.status, std::string("completed"));
  }

  // Stop ends the watching, says so, and leaves the tasks to the cluster.
  void stopEndsOnlyTheWatching() {
    QTemporaryDir dir;
    json sweep = {{"base", test::endlessSpirals()}, {"variants", json::array({{{"name", "long"}}})}};
    const QString file = test::writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString shared = dir.filePath("shared");
    const test::CliResult submit = test::runCli({"sweep", file, "--slurm", "--dir", shared, "--backend", "cpu"});
    QVERIFY2(submit.exitCode == 0, qPrintable(submit.describe()));
    const QString job = QRegularExpression("job array (\\d+)").match(submit.out).captured(1);
    SweepPanel panel(dir.filePath("runs.sqlite"));
    QSignalSpy finished(&panel, &SweepPanel::sweepFinished);
    QString error;
    QVERIFY2(panel.followSlurm(shared, &error, 300), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(panel.sweepId() != 0, 20000);
    panel.stop();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 20000);
    QVERIFY(!panel.isRunning());
    auto* status = panel.findChild<QLabel*>(QStringLiteral("sweepStatus"));
    QVERIFY2(status->text().contains("the tasks go on on the cluster"), qPrintable(status->text()));
    QProcess squeue;
    squeue.start("squeue", {"-h", "-j", job, "-o", "%i"});
    QVERIFY(squeue.waitForFinished(20000));
    QVERIFY2(!squeue.readAllStandardOutput().trimmed().isEmpty(), "the task did not go on after the watching stopped");
    QProcess::execute("scancel", {job});
  }

  void aFolderThatIsNotASweepIsNamed() {
    QTemporaryDir dir;
    SweepPanel panel(dir.filePath("runs.sqlite"));
    QString error;
    QVERIFY(!panel.followSlurm(dir.path(), &error));
    QVERIFY2(error.contains(dir.path() + ": no manifest.json"), qPrintable(error));
    QVERIFY(!panel.isRunning());
  }
};

QTEST_MAIN(TestRemoteSlurmGui)
#include "tst_remote_slurm_gui.moc"
