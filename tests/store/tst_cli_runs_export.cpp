// `precisionlab-cli runs` and `export` as real processes on a store written here.
#include <QtTest>

#include <sys/prctl.h>
#include <linux/capability.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "store/run_export.h"
#include "store/store.h"
#include "store_fixtures.h"

using namespace plab;
using namespace plab::testing;
using nlohmann::json;

namespace {

struct Result {
  int exitCode = -1;
  QString out, err;
};

Result runCli(const QStringList& args, const std::function<void(QProcess&)>& configure = {}) {
  QProcess p;
  if (configure) configure(p);
  p.start(PLAB_CLI, args);
  Result r;
  if (!p.waitForFinished(60000)) return r;
  r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

// Root ignores file permissions (CAP_DAC_OVERRIDE): dropping that capability from the
// child's bounding set before exec makes a read-only folder read-only for it, as for
// any other user (the same as tests/cli/tst_cli_run.cpp); for others a no-op.
void dropPermissionOverride(QProcess& p) {
  p.setChildProcessModifier([] {
    ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
    ::prctl(PR_CAPBSET_DROP, CAP_FOWNER, 0, 0, 0);
  });
}

}  // namespace

class TestCliRunsExport : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QString db_;
  std::int64_t first_ = 0, second_ = 0;

 private slots:
  void initTestCase() {
    db_ = dir_.filePath("runs.sqlite");
    {
      RunWriter w(db_.toStdString());
      first_ = w.createRun({{"dataset", {{"name", "spirals"}}}}, "spirals fp16", "cpu", "test");
      for (int s = 1; s <= 9; ++s) w.appendStep(sampleStep(s));
      w.appendOverflow({7, 65536, 32768, {"layers[2] linear"}});
      w.appendEpoch({0, 9, 0.5, 0.75, 0.625, 0.7});
      w.finish(RunStatus::completed, "", {{"steps", 9}});
    }
    RunWriter w(db_.toStdString());
    second_ = w.createRun({{"dataset", {{"name", "sine"}}}}, "sine bf16", "cpu", "test");
    w.appendStep(sampleStep(1));
    w.finish(RunStatus::failed, "NaN loss at step 2");
  }

  void runsPrintsATable() {
    const Result r = runCli({"runs", "--db", db_});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);
    QVERIFY2(lines[0].contains("STATUS") && lines[0].contains("LAST LOSS"), qPrintable(lines[0]));
    QVERIFY2(lines[1].contains("failed") && lines[1].contains("sine bf16"), qPrintable(lines[1]));  // newest first
    QVERIFY2(lines[2].contains("completed") && lines[2].contains("spirals fp16") && lines[2].contains("0.7000"), qPrintable(lines[2]));
  }

  void runsJsonIsAnArrayOfRuns() {
    const Result r = runCli({"runs", "--db", db_, "--json"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const json runs = json::parse(r.out.toStdString());
    QCOMPARE(runs.size(), std::size_t(2));
    QCOMPARE(runs[1]["id"].get<std::int64_t>(), first_);
    QCOMPARE(runs[1]["steps"].get<int>(), 9);
    QCOMPARE(runs[1]["overflow_events"].get<int>(), 1);
    QCOMPARE(runs[0]["status"].get<std::string>(), std::string("failed"));
    QCOMPARE(runs[0]["error"].get<std::string>(), std::string("NaN loss at step 2"));
  }

  void exportCsvToStdoutHasBothTables() {
    const Result r = runCli({"export", "--db", db_, "--run", QString::number(first_), "--format", "csv"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    const QStringList parts = r.out.split("\n\n");
    QCOMPARE(parts.size(), 2);
    const QStringList steps = parts[0].split('\n');
    QVERIFY2(steps[0].startsWith("step,loss,loss_scale,overflow,skipped"), qPrintable(steps[0]));
    QCOMPARE(steps.size(), 10);
    QCOMPARE(steps[7].section(',', 0, 0), QString("7"));
    QCOMPARE(steps[7].section(',', 3, 4), QString("1,1"));  // overflow and skipped
    QCOMPARE(parts[1].trimmed(), QString(kEpochsCsvHeader) + "\n0,9,0.5,0.75,0.625,0.7");
  }

  void exportCsvToAFileWritesTwoFiles() {
    const QString out = dir_.filePath("first.csv");
    const Result r = runCli({"export", "--db", db_, "--run", QString::number(first_), "--format", "csv", "-o", out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QFile steps(out), epochs(dir_.filePath("first.epochs.csv"));
    QVERIFY(steps.open(QIODevice::ReadOnly));
    QVERIFY(epochs.open(QIODevice::ReadOnly));
    QCOMPARE(QString(steps.readLine()).trimmed(), QString(kStepsCsvHeader));
    QCOMPARE(QString(epochs.readLine()).trimmed(), QString(kEpochsCsvHeader));
  }

  void exportJsonIsOneObject() {
    const QString out = dir_.filePath("first.json");
    const Result r = runCli({"export", "--db", db_, "--run", QString::number(first_), "--format", "json", "-o", out});
    QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const json j = json::parse(f.readAll().toStdString());
    QCOMPARE(j["steps"].size(), std::size_t(9));
    QCOMPARE(j["epochs"][0]["test_accuracy"].get<double>(), 0.7);
    QCOMPARE(j["run"]["summary"]["steps"].get<int>(), 9);
  }

  // docs/store.md, "Opening": a reader lists and loads a store whose folder it cannot
  // write. A WAL file needs its -shm index, which cannot be made there: it is read
  // as immutable (this once failed with "unable to open database file").
  void readOnlyFolderCanBeListedAndExported() {
    QDir(dir_.path()).mkpath("ro");
    const QString roDir = dir_.filePath("ro");
    const QString db = roDir + "/runs.sqlite";
    std::int64_t id = 0;
    {
      RunWriter w(db.toStdString());
      id = w.createRun({{"dataset", {{"name", "moons"}}}}, "archived run", "cpu", "test");
      for (int s = 1; s <= 5; ++s) w.appendStep(sampleStep(s));
      w.finish(RunStatus::completed);
    }
    QVERIFY2(!QFile::exists(db + "-shm"), "the writer left its WAL index behind");
    QFile::setPermissions(db, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
    QFile::setPermissions(roDir, QFileDevice::ReadOwner | QFileDevice::ExeOwner);
    const Result runs = runCli({"runs", "--db", db}, dropPermissionOverride);
    const Result exported = runCli({"export", "--db", db, "--run", QString::number(id), "--format", "json"}, dropPermissionOverride);
    const bool indexMade = QFile::exists(db + "-shm");
    QFile::setPermissions(roDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    QVERIFY2(runs.exitCode == 0, qPrintable(runs.err));
    QVERIFY2(runs.out.contains("archived run") && runs.out.contains("completed"), qPrintable(runs.out));
    QVERIFY2(exported.exitCode == 0, qPrintable(exported.err));
    QCOMPARE(json::parse(exported.out.toStdString())["steps"].size(), std::size_t(5));
    QVERIFY2(!indexMade, "a -shm file appeared in the read-only folder: the capability drop did not hold");
  }

  void errorsNameTheRunOrFile_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing run") << QStringList{"export", "--db", "DB", "--run", "99", "--format", "csv"} << "run 99 not found in";
    QTest::newRow("missing db") << QStringList{"export", "--db", "/nonexistent/x.sqlite", "--run", "1", "--format", "json"}
                                << "/nonexistent/x.sqlite: no such database";
    QTest::newRow("runs missing db") << QStringList{"runs", "--db", "/nonexistent/x.sqlite"} << "/nonexistent/x.sqlite: no such database";
    QTest::newRow("runs on a folder") << QStringList{"runs", "--db", "DIR"} << "DIR: is a directory, not a database file";
    QTest::newRow("export on a folder") << QStringList{"export", "--db", "DIR", "--run", "1", "--format", "json"}
                                        << "DIR: is a directory, not a database file";
    QTest::newRow("unwritable output") << QStringList{"export", "--db", "DB", "--run", "1", "--format", "csv", "-o", "/nonexistent/out.csv"}
                                       << "cannot write /nonexistent/out.csv";
  }
  void errorsNameTheRunOrFile() {
    QFETCH(QStringList, args);
    QFETCH(QString, expected);
    args.replaceInStrings("DB", db_);
    args.replaceInStrings("DIR", dir_.path());
    expected.replace("DIR", dir_.path());
    const Result r = runCli(args);
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(expected), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestCliRunsExport)
#include "tst_cli_runs_export.moc"
