// Faults a user's machine throws at precisionlab-cli, each through the real binary on
// real SQLite files (issue 15, "Faults, each named, losing nothing"): a file system
// that refuses to grow the database, a read-only database folder, a database file of
// random bytes, two runs writing one database at once, and a worker killed in the
// middle of a sweep. Each asserts the error the user reads and that nothing already
// stored was lost. docs/store.md describes the store these rely on.
#include <QtTest>

#include <QTemporaryDir>

#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "cli_test_support.h"
#include "store/store.h"
#include "store/sweep_store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {


QByteArray fileBytes(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

StoreOptions readOnly() {
  StoreOptions o;
  o.readOnly = true;
  return o;
}

// The stored steps of a run are 1, 2, ..., n with no gap; returns n, or -1 (printed).
qint64 contiguousSteps(RunReader& r, std::int64_t runId) {
  const auto steps = r.loadSteps(runId);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].step != std::int64_t(i) + 1) {
      qWarning("run %lld: stored step %zu is %lld", qlonglong(runId), i, qlonglong(steps[i].step));
      return -1;
    }
  }
  return qint64(steps.size());
}

json spiralsFor(std::int64_t steps) {
  json j = tinySpirals();
  j.erase("epochs");
  j["steps"] = steps;
  return j;
}

// The unprivileged account the read-only folder test runs the CLI as when the tests
// run as root (root writes through any permission bits).
constexpr uid_t kNobody = 65534;
constexpr int kCannotDropPrivileges = 125;

}  // namespace

class TestCliFaults : public QObject {
  Q_OBJECT
 private slots:
  // A real full disk needs a small file system, and mounting one needs root. The next
  // best thing the kernel offers any user: RLIMIT_FSIZE on the CLI process, so every
  // write past 8 MiB in any file fails (EFBIG; SIGXFSZ is ignored so that the write
  // returns an error instead of killing the process). SQLite reports that as a
  // write error ("disk I/O error"), not as SQLITE_FULL; the store says what may be
  // full, and adds the errno ("File too large") when SQLite still has it. tests/store's fullDatabaseKeepsCommittedRows covers SQLITE_FULL.
  void aFileSizeLimitStopsTheRunAndKeepsEveryCommittedStep() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "long.json", spiralsFor(2000000));
    const QString db = dir.filePath("runs.sqlite");
    constexpr rlim_t kLimit = 8 << 20;
    const CliResult r = runCli({"run", file, "--db", db, "--backend", "cpu"}, 120000, [](QProcess& p) {
      p.setChildProcessModifier([] {
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{kLimit, kLimit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
      });
    });
    // Exit code 4 is "database error" (precisionlab-cli run --help); the message
    // names the file and what SQLite could not do.
    QVERIFY2(r.exitStatus == QProcess::NormalExit && r.exitCode == 4, qPrintable(r.describe()));
    QVERIFY2(r.err.contains(db + ": ") && r.err.contains("disk I/O error") &&
                 r.err.contains("the system refused the write: is the disk, a quota or the file-size limit full?"),
             qPrintable(r.err));
    QVERIFY2(QFileInfo(db).size() <= qint64(kLimit), qPrintable(QString::number(QFileInfo(db).size())));

    // Without the limit the file opens, is consistent, and holds every step of each
    // batch committed before the limit struck; the run, whose last status could not be
    // written, is marked interrupted.
    RunReader reader(db.toStdString());
    const auto runs = reader.listRuns();
    QCOMPARE(int(runs.size()), 1);
    QCOMPARE(runs[0].status, RunStatus::interrupted);
    const qint64 kept = contiguousSteps(reader, runs[0].id);
    QVERIFY2(kept > 0 && kept < 2000000, qPrintable(QString::number(kept)));
    const CliResult check = runCli({"export", "--run", QString::number(runs[0].id), "--format", "csv", "--db", db});
    QVERIFY2(check.exitCode == 0 && check.out.count('\n') > kept, qPrintable(check.describe().left(2000)));
  }

  void aReadOnlyDatabaseFolderIsNamedAndItsRunsKept() {
    QTemporaryDir dir;
    QVERIFY(QFile::setPermissions(dir.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner | QFile::ReadGroup |
                                                  QFile::ExeGroup | QFile::ReadOther | QFile::ExeOther));
    const QString file = writeExperiment(QDir(dir.path()), "tiny.json", tinySpirals());
    QVERIFY(QDir(dir.path()).mkdir("locked"));
    const QString folder = dir.filePath("locked");
    const QString db = folder + "/runs.sqlite";
    const CliResult first = runCli({"run", file, "--db", db, "--backend", "cpu"});
    QVERIFY2(first.exitCode == 0, qPrintable(first.describe()));
    const bool root = ::geteuid() == 0;
    if (root) {
      for (const QString& path : {folder, db}) QCOMPARE(::chown(path.toLocal8Bit().constData(), kNobody, kNobody), 0);
    }
    const QByteArray before = fileBytes(db);
    QVERIFY(QFile::setPermissions(folder, QFile::ReadOwner | QFile::ExeOwner | QFile::ReadOther | QFile::ExeOther));

    // nobody may not reach the build folder (a checkout under /root), so it runs a
    // copy of the CLI from this folder: the binary needs nothing from the build
    // (tests/packaging/check_deb.sh runs it from an unpacked package).
    QString cli = cliPath();
    if (root) {
      cli = dir.filePath("precisionlab-cli");
      QVERIFY(QFile::copy(cliPath(), cli));
    }
    QProcess p;
    if (root) {
      p.setChildProcessModifier([] {
        if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(kCannotDropPrivileges);
      });
    }
    p.start(cli, {"run", file, "--db", db, "--backend", "cpu"});
    const bool started = p.waitForStarted(10000);
    p.waitForFinished(60000);
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QFile::setPermissions(folder, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    if (root && (!started || p.exitCode() == kCannotDropPrivileges)) {
      QSKIP("running as root, and this system does not let the test run the CLI as nobody");
    }
    QVERIFY(started);
    // Exit code 4: a database error, naming the folder and why.
    QVERIFY2(p.exitCode() == 4 && err.contains(folder) && err.contains("not writable"),
             qPrintable(QStringLiteral("exit %1: %2").arg(p.exitCode()).arg(err)));
    QCOMPARE(fileBytes(db), before);
    RunReader reader(db.toStdString());
    const auto runs = reader.listRuns();
    QCOMPARE(int(runs.size()), 1);
    QCOMPARE(runs[0].status, RunStatus::completed);
    QCOMPARE(contiguousSteps(reader, runs[0].id), qint64(32));  // 2 epochs of 512 / 32
  }

  void aDatabaseOfRandomBytesIsNamedAndLeftAsItWas() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "tiny.json", tinySpirals());
    const QString db = dir.filePath("runs.sqlite");
    QByteArray noise(256 * 1024, '\0');
    QRandomGenerator generator(15);  // seeded: a failure is reproducible
    for (char& c : noise) c = char(generator.bounded(256));
    writeFile(db, noise);
    for (const QStringList& args : {QStringList{"run", file, "--db", db, "--backend", "cpu"}, QStringList{"runs", "--db", db}}) {
      const CliResult r = runCli(args);
      QVERIFY2(r.exitCode == 4 || (args[0] == "runs" && r.exitCode == 1), qPrintable(args[0] + ": " + r.describe()));
      QVERIFY2(r.err.contains(db + ": ") && r.err.contains("file is not a database") &&
                   r.err.contains("not a Precision Lab run database or is damaged"),
               qPrintable(r.err));
    }
    // Whatever the file was, it is still exactly that: no schema written into it, no
    // WAL or journal left beside it.
    QCOMPARE(fileBytes(db), noise);
    QVERIFY(!QFile::exists(db + "-wal") && !QFile::exists(db + "-journal"));
  }

  // Two runs started together into one database, over several fresh files: the
  // moment most likely to clash is when both open a new file and switch it to WAL
  // (engine/store/database.cpp), which once failed with "database is locked" here.
  void twoRunsIntoOneDatabaseAtOnceBothKeepEveryStep() {
    QTemporaryDir dir;
    // Long enough (about a second each) that a start delayed by a loaded machine still
    // overlaps the other run: at 4000 steps a CI run once started after the other ended.
    constexpr int kSteps = 16000;
    for (int round = 1; round <= 4; ++round) {
      const QString db = dir.filePath(QStringLiteral("runs-%1.sqlite").arg(round));
      QProcess a, b;
      for (QProcess* p : {&a, &b}) {
        const QString name = p == &a ? "a" : "b";
        json j = spiralsFor(kSteps);
        j["title"] = "concurrent " + name.toStdString();
        const QString file = writeExperiment(QDir(dir.path()), name + ".json", j);
        p->start(cliPath(), {"run", file, "--db", db, "--backend", "cpu"});
      }
      for (QProcess* p : {&a, &b}) {
        QVERIFY(p->waitForFinished(120000));
        QVERIFY2(p->exitStatus() == QProcess::NormalExit && p->exitCode() == 0,
                 qPrintable(QStringLiteral("round %1: ").arg(round) + p->readAllStandardError()));
      }
      RunReader reader(db.toStdString());
      const auto runs = reader.listRuns();
      QCOMPARE(int(runs.size()), 2);
      for (const RunInfo& run : runs) {
        QCOMPARE(run.status, RunStatus::completed);
        QCOMPARE(contiguousSteps(reader, run.id), qint64(kSteps));
      }
      // The two processes really overlapped: each started before the other finished.
      const auto first = reader.getRun(runs[0].id), second = reader.getRun(runs[1].id);
      QVERIFY2(first->createdAt < second->finishedAt && second->createdAt < first->finishedAt,
               qPrintable(QString::fromStdString(first->createdAt + " - " + first->finishedAt + ", " +
                                                 second->createdAt + " - " + second->finishedAt)));
    }
  }

  // One worker of a running sweep is killed (SIGKILL, as the kernel's OOM killer does);
  // the sweep finishes the other variant and fails, the killed run keeps the steps it
  // committed and is marked interrupted, and `sweep --resume` runs that variant again.
  void aWorkerKilledDuringASweepIsResumed() {
    QTemporaryDir dir;
    const json sweep{{"title", "killed worker"},
                     {"base", spiralsFor(300)},
                     {"variants", json::array({{{"name", "fp32"}},
                                               {{"name", "bf16"}, {"set", {{"network.layers[*].precision", "bf16"}}}}})}};
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString db = dir.filePath("runs.sqlite");
    const QString summary = dir.filePath("summary.json");
    QProcess sweepProcess;
    // --pace 100: 300 steps take 3 s, time enough to find a worker mid-run.
    sweepProcess.start(cliPath(), {"sweep", file, "--jobs", "2", "--pace", "100", "--backend", "cpu", "--db", db,
                                   "--summary-json", summary});
    QVERIFY(sweepProcess.waitForStarted(10000));

    // The worker is found by the run it writes: its pid is stored with the run.
    std::int64_t victimRun = 0;
    qint64 victimPid = 0;
    QVERIFY2(waitUntil([&] {
               if (!QFile::exists(db)) return false;
               try {
                 RunReader r(db.toStdString(), readOnly());
                 for (const RunInfo& run : r.listRuns()) {
                   if (run.status == RunStatus::running && run.writerPid > 0 && run.writerPid != sweepProcess.processId() &&
                       r.loadSteps(run.id).size() >= 20) {
                     victimRun = run.id;
                     victimPid = run.writerPid;
                     return true;
                   }
                 }
               } catch (const StoreError&) {
                 // the sweep is still creating the file
               }
               return false;
             }),
             "no worker had stored 20 steps within 20 s");
    QCOMPARE(::kill(pid_t(victimPid), SIGKILL), 0);
    QVERIFY(sweepProcess.waitForFinished(60000));
    const QString out = QString::fromUtf8(sweepProcess.readAllStandardOutput());
    QVERIFY2(sweepProcess.exitCode() == 1, qPrintable(out + sweepProcess.readAllStandardError()));

    const json s = readJsonFile(summary);
    const std::int64_t sweepId = s["sweep_id"].get<std::int64_t>();
    int killedPosition = -1;
    for (int i = 0; i < 2; ++i) {
      const json& v = s["variants"][i];
      if (v["run_id"].get<std::int64_t>() == victimRun) {
        killedPosition = i;
        QVERIFY2(v["status"] != "completed", v.dump().c_str());
      } else {
        QCOMPARE(v["status"].get<std::string>(), std::string("completed"));
      }
    }
    QVERIFY2(killedPosition >= 0, s.dump().c_str());
    std::int64_t keptSteps = 0;
    {
      RunReader r(db.toStdString());  // a read-write open marks the dead writer's run
      QCOMPARE(r.getRun(victimRun)->status, RunStatus::interrupted);
      keptSteps = contiguousSteps(r, victimRun);
      QVERIFY2(keptSteps >= 20 && keptSteps < 300, qPrintable(QString::number(keptSteps)));
    }

    const QString summary2 = dir.filePath("summary2.json");
    const CliResult resumed =
        runCli({"sweep", "--resume", QString::number(sweepId), "--db", db, "--summary-json", summary2}, 120000);
    QVERIFY2(resumed.exitCode == 0 && resumed.out.contains("1 variant left to run"), qPrintable(resumed.describe()));
    const json s2 = readJsonFile(summary2);
    QCOMPARE(s2["variants"][0]["name"], s["variants"][killedPosition]["name"]);
    SweepStore store(db.toStdString());
    const auto row = store.getSweep(sweepId);
    QCOMPARE(row->completed(), 2);
    RunReader r(db.toStdString());
    QCOMPARE(contiguousSteps(r, *row->variants[killedPosition].runId), qint64(300));
    // The killed run is still there, as it was: resuming adds a run, it deletes nothing.
    QCOMPARE(r.getRun(victimRun)->status, RunStatus::interrupted);
    QCOMPARE(contiguousSteps(r, victimRun), keptSteps);
  }
};

QTEST_GUILESS_MAIN(TestCliFaults)
#include "tst_cli_faults.moc"
