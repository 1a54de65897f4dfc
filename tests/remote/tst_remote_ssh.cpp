// A worker over SSH end to end (docs/remote.md), with the real parts a user runs: the
// sshd that tests/remote/with_sshd.sh started on 127.0.0.1, the ssh client, this build's
// precisionlab-cli at both ends, and SQLite stores here. A run and a sweep over SSH are
// stored as the same run and sweep trained here; a connection cut mid-run (the sshd
// session killed, or the ssh client) leaves the run interrupted with the steps received;
// host-key and authentication failures are named.
#include <QDirIterator>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/types.h>

#include "../cli/cli_test_support.h"
#include "protocol/records_json.h"
#include "store/store.h"
#include "store/sweep_store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

QString sshDir() { return qEnvironmentVariable("PLAB_TEST_SSH_DIR"); }

// The worker URL for this machine's sshd, with this build's CLI as the remote program.
QString workerUrl(const QString& program = cliPath()) {
  return QString("ssh://%1@127.0.0.1:%2%3")
      .arg(qEnvironmentVariable("PLAB_TEST_SSH_USER"), qEnvironmentVariable("PLAB_TEST_SSH_PORT"), program);
}

// Runs the CLI with ssh reading the configuration of one case (with_sshd.sh).
std::function<void(QProcess&)> sshCase(const QString& name, const QString& options = "") {
  return [name, options](QProcess& p) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("PLAB_SSH_COMMAND", "ssh -F " + sshDir() + "/ssh_config_" + name + options);
    p.setProcessEnvironment(env);
  };
}

struct ProcessEntry {
  pid_t pid = 0;
  pid_t parent = 0;
  QString name;      // /proc/PID/comm
  QString command;   // /proc/PID/cmdline, NULs as spaces
};

std::vector<ProcessEntry> processes() {
  std::vector<ProcessEntry> all;
  for (const QString& entry : QDir("/proc").entryList(QDir::Dirs)) {
    bool number = false;
    const pid_t pid = pid_t(entry.toLong(&number));
    if (!number) continue;
    QFile stat("/proc/" + entry + "/stat"), comm("/proc/" + entry + "/comm"), cmd("/proc/" + entry + "/cmdline");
    if (!stat.open(QIODevice::ReadOnly) || !comm.open(QIODevice::ReadOnly) || !cmd.open(QIODevice::ReadOnly)) continue;
    const QByteArray s = stat.readAll();
    const QList<QByteArray> fields = s.mid(s.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 2 || fields[0] == "Z") continue;  // zombies are gone already
    all.push_back({pid, pid_t(fields[1].toLong()), QString::fromUtf8(comm.readAll()).trimmed(),
                   QString::fromUtf8(cmd.readAll().replace('\0', ' ')).trimmed()});
  }
  return all;
}

std::vector<ProcessEntry> descendants(pid_t root) {
  const std::vector<ProcessEntry> all = processes();
  std::vector<ProcessEntry> out;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    for (const ProcessEntry& p : all) {
      if (p.parent != parent) continue;
      out.push_back(p);
      frontier.push_back(p.pid);
    }
  }
  return out;
}

bool alive(pid_t pid) {
  for (const ProcessEntry& p : processes())
    if (p.pid == pid) return true;
  return false;
}

json smallExperiment(int epochs) {
  json j = tinySpirals();
  for (json& layer : j["network"]["layers"]) layer["precision"] = "fp16";
  j["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 5}};
  j["epochs"] = epochs;
  return j;
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

// A run of `endless` started over SSH and its store, for the connection-cut tests.
struct RunningRemote {
  QProcess process;
  QString db;
  std::int64_t stepsStored() const {
    try {
      RunReader reader(db.toStdString(), StoreOptions{.readOnly = true});
      return std::int64_t(reader.loadSteps(1).size());
    } catch (const std::exception&) {
      return 0;
    }
  }
};

}  // namespace

class TestRemoteSsh : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    if (sshDir().isEmpty()) QSKIP("run through tests/remote/with_sshd.sh, which starts the sshd");
  }

  // The run is stored here as the same experiment trained here is: the same rows (step
  // times aside), the same summary, the worker's backend and device.
  void runOverSshIsStoredAsALocalRun() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "x.json", smallExperiment(3));
    const QString local = dir.filePath("local.sqlite"), remote = dir.filePath("remote.sqlite");
    const CliResult l = runCli({"run", file, "--backend", "cpu", "--db", local}, 60000);
    QVERIFY2(l.exitCode == 0, qPrintable(l.describe()));
    const CliResult r = runCli({"run", file, "--backend", "cpu", "--db", remote, "--worker", workerUrl(),
                                "--summary-json", dir.filePath("summary.json")}, 60000, sshCase("good"));
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    QVERIFY2(r.out.contains("run 1 stored in " + remote), qPrintable(r.out));
    QVERIFY2(r.out.contains("finished: completed"), qPrintable(r.out));

    RunReader a(local.toStdString()), b(remote.toStdString());
    const auto ia = a.getRun(1), ib = b.getRun(1);
    QVERIFY(ia && ib);
    QCOMPARE(ib->status, RunStatus::completed);
    QCOMPARE(ib->backend, ia->backend);
    QCOMPARE(ib->device, ia->device);
    QVERIFY2(r.out.contains("on " + QString::fromStdString(ib->backend) + " (" + QString::fromStdString(ib->device) + ")"),
             qPrintable(r.out));
    QCOMPARE(ib->config.dump(), ia->config.dump());
    QCOMPARE(ib->title, ia->title);
    const RunRecord ra = a.loadRecord(1), rb = b.loadRecord(1);
    QCOMPARE(rb.steps.size(), ra.steps.size());
    for (std::size_t i = 0; i < ra.steps.size(); ++i) {
      StepMetrics x = ra.steps[i], y = rb.steps[i];
      x.stepMs = y.stepMs = 0;
      x.samplesPerSecond = y.samplesPerSecond = 0;
      QCOMPARE(json(y).dump(), json(x).dump());
    }
    QVERIFY(!ra.overflows.empty());
    QCOMPARE(json(rb.overflows).dump(), json(ra.overflows).dump());
    QCOMPARE(json(rb.scaleGrowths).dump(), json(ra.scaleGrowths).dump());
    QCOMPARE(json(rb.epochs).dump(), json(ra.epochs).dump());
    QCOMPARE(json(rb.layerStats).dump(), json(ra.layerStats).dump());
    json sa = ia->summary, sb = ib->summary;
    for (json* s : {&sa, &sb}) s->erase("median_step_ms");
    QCOMPARE(sb.dump(), sa.dump());
    QCOMPARE(readJsonFile(dir.filePath("summary.json"))["run_id"].get<int>(), 1);
  }

  // A sweep's variants each train over SSH; its comparison table is the local one's.
  void sweepOverSshComparesAsTheLocalSweep() {
    QTemporaryDir dir;
    const json base = smallExperiment(2);
    const json sweep = {{"title", "ssh sweep"},
                        {"base", base},
                        {"variants", json::array({{{"name", "fp32"}, {"set", {{"network.layers[*].precision", "fp32"}}}},
                                                  {{"name", "bf16"}, {"set", {{"network.layers[*].precision", "bf16"}}}},
                                                  {{"name", "fp16 dynamic"}},
                                                  {{"name", "fp16 none"}, {"set", {{"loss_scaling", {{"mode", "none"}}}}}}})}};
    const QString file = writeExperiment(QDir(dir.path()), "sweep.json", sweep);
    const QString local = dir.filePath("local.sqlite"), remote = dir.filePath("remote.sqlite");
    const CliResult l = runCli({"sweep", file, "--jobs", "2", "--backend", "cpu", "--db", local}, 90000);
    QVERIFY2(l.exitCode == 0, qPrintable(l.describe()));
    const CliResult r = runCli({"sweep", file, "--jobs", "2", "--backend", "cpu", "--db", remote, "--worker", workerUrl()},
                               90000, sshCase("good"));
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    QVERIFY2(r.out.contains("variant 4 of 4 \"fp16 none\": completed"), qPrintable(r.out));
    const CliResult cl = runCli({"compare", "1", "--format", "csv", "--db", local});
    const CliResult cr = runCli({"compare", "1", "--format", "csv", "--db", remote});
    QVERIFY2(cl.exitCode == 0 && cr.exitCode == 0, qPrintable(cl.describe() + cr.describe()));
    QCOMPARE(tableWithoutTimings(cr.out), tableWithoutTimings(cl.out));
    QCOMPARE(cr.out.count('\n'), 5);
    SweepStore store(remote.toStdString());
    const auto row = store.getSweep(1);
    QVERIFY(row.has_value());
    QCOMPARE(row->completed(), 4);
    QCOMPARE(row->options["worker"].get<std::string>(), workerUrl().toStdString());
  }

  // The connection breaks mid-run: the sshd session is killed (the server side of a
  // dropped network), or the ssh client is, or the server goes silent (its sshd
  // session stopped: a network that drops packets rather than closing, found by ssh's
  // keep-alives, here made 1 s x 2 instead of 15 s x 4). The run stays here,
  // interrupted, with every step that arrived; the worker on the server sees its input
  // end and stops.
  void connectionCutMidRunKeepsTheStepsReceived_data() {
    QTest::addColumn<QString>("cut");
    QTest::addColumn<QString>("sshSays");
    QTest::newRow("sshd session killed") << "sshd" << "(ssh: ";  // "closed by remote host", "Broken pipe", ...
    QTest::newRow("ssh client killed") << "ssh" << "ssh was killed";
    QTest::newRow("server silent") << "silent" << "not responding";
  }
  void connectionCutMidRunKeepsTheStepsReceived() {
    QFETCH(QString, cut);
    QFETCH(QString, sshSays);
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "endless.json", endlessSpirals());
    RunningRemote run;
    run.db = dir.filePath("cut.sqlite");
    sshCase("good", cut == "silent" ? " -o ServerAliveInterval=1 -o ServerAliveCountMax=2" : "")(run.process);
    run.process.start(cliPath(), {"run", file, "--backend", "cpu", "--db", run.db, "--worker", workerUrl()});
    QVERIFY(run.process.waitForStarted(10000));
    QVERIFY2(waitUntil([&] { return run.stepsStored() >= 200; }, 30000),
             qPrintable("no steps arrived: " + run.process.readAllStandardError()));

    const pid_t sshd = pid_t(qEnvironmentVariable("PLAB_TEST_SSHD_PID").toLong());
    pid_t remoteWorker = 0;
    for (const ProcessEntry& p : descendants(sshd))
      if (p.command.contains("--no-store")) remoteWorker = p.pid;
    QVERIFY2(remoteWorker != 0, "the remote worker is not among the sshd's processes");
    std::vector<pid_t> hit;
    const pid_t root = cut == "ssh" ? pid_t(run.process.processId()) : sshd;
    for (const ProcessEntry& p : descendants(root)) {
      if (p.name != (cut == "ssh" ? "ssh" : "sshd")) continue;
      ::kill(p.pid, cut == "silent" ? SIGSTOP : SIGKILL);
      hit.push_back(p.pid);
    }
    QVERIFY2(!hit.empty(), qPrintable("no process to " + cut));
    const std::int64_t before = run.stepsStored();

    QVERIFY2(run.process.waitForFinished(30000), "the CLI did not end after the connection broke");
    for (pid_t pid : hit) ::kill(pid, SIGKILL);  // the silent session: now gone for good
    const QString err = QString::fromUtf8(run.process.readAllStandardError());
    QVERIFY2(run.process.exitCode() == 6, qPrintable(QString("exit %1: %2").arg(run.process.exitCode()).arg(err)));
    QVERIFY2(err.contains("was lost after step"), qPrintable(err));
    QVERIFY2(err.contains(sshSays), qPrintable(err));
    QVERIFY2(!err.contains("not a protocol message"), qPrintable(err));  // a line cut in half is no stranger's
    RunReader reader(run.db.toStdString());
    const auto info = reader.getRun(1);
    QVERIFY(info.has_value());
    QCOMPARE(info->status, RunStatus::interrupted);
    QVERIFY2(info->error.find("the connection to") != std::string::npos, info->error.c_str());
    const auto steps = reader.loadSteps(1);
    QVERIFY2(std::int64_t(steps.size()) >= before, qPrintable(QString("%1 < %2").arg(steps.size()).arg(before)));
    QCOMPARE(steps.back().step, std::int64_t(steps.size()));  // every step up to the last, none missing
    QVERIFY2(info->error.find("after step " + std::to_string(steps.back().step)) != std::string::npos, info->error.c_str());
    QVERIFY2(waitUntil([&] { return !alive(remoteWorker); }, 15000), "the remote worker trained on after the cut");
  }

  // Ctrl-C (or SIGTERM) on `run --worker` stops the remote run the way it stops a
  // local one: cancelled, what was recorded kept, 128 + the signal.
  void aStopSignalCancelsTheRemoteRun() {
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "endless.json", endlessSpirals());
    RunningRemote run;
    run.db = dir.filePath("stop.sqlite");
    sshCase("good")(run.process);
    run.process.start(cliPath(), {"run", file, "--backend", "cpu", "--db", run.db, "--worker", workerUrl()});
    QVERIFY(run.process.waitForStarted(10000));
    QVERIFY2(waitUntil([&] { return run.stepsStored() >= 50; }, 30000),
             qPrintable("no steps arrived: " + run.process.readAllStandardError()));
    ::kill(pid_t(run.process.processId()), SIGTERM);
    QVERIFY(run.process.waitForFinished(30000));
    QVERIFY2(run.process.exitCode() == 143, qPrintable(QString("exit %1: %2").arg(run.process.exitCode())
                                                          .arg(QString::fromUtf8(run.process.readAllStandardError()))));
    const auto info = RunReader(run.db.toStdString()).getRun(1);
    QVERIFY(info.has_value());
    QCOMPARE(info->status, RunStatus::cancelled);
    QVERIFY(info->stepCount >= 50);
  }

  // Failures before any run: named, exit 6, nothing stored.
  void connectionFailuresAreNamed_data() {
    QTest::addColumn<QString>("sshCaseName");
    QTest::addColumn<QString>("program");
    QTest::addColumn<QString>("message");
    QTest::newRow("wrong host key") << "wrong_host_key" << cliPath()
                                    << "host key verification failed: the host key that";
    QTest::newRow("unknown host key") << "unknown_host" << cliPath() << "no host key is known for";
    QTest::newRow("refused user key") << "refused_key" << cliPath() << "authentication failed";
    QTest::newRow("no such program") << "good" << "/nonexistent/precisionlab-cli" << "cannot be run on";
  }
  void connectionFailuresAreNamed() {
    QFETCH(QString, sshCaseName);
    QFETCH(QString, program);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString file = writeExperiment(QDir(dir.path()), "x.json", smallExperiment(1));
    const QString db = dir.filePath("runs.sqlite");
    const CliResult r = runCli({"run", file, "--db", db, "--worker", workerUrl(program)}, 60000, sshCase(sshCaseName));
    QVERIFY2(r.exitCode == 6, qPrintable(r.describe()));
    QVERIFY2(r.err.contains(workerUrl(program) + ": " ), qPrintable(r.describe()));
    QVERIFY2(r.err.contains(message), qPrintable(r.describe()));
    RunReader reader(db.toStdString());
    QVERIFY(reader.listRuns().empty());
  }
};

QTEST_GUILESS_MAIN(TestRemoteSsh)
#include "tst_remote_ssh.moc"
