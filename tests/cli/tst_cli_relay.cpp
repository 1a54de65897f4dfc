// What a remote worker's relay relies on, without SSH (docs/remote.md): the events of a
// real worker, recorded by EventRecorder into a second store, give the same rows as the
// worker's own store; a `--no-store` worker streams the same run and writes no file; a
// wrong worker URL is refused before anything starts, naming the option and the fault.
// The relay over a real sshd is tests/remote/tst_remote_ssh.cpp.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "protocol/messages.h"
#include "store/event_recorder.h"
#include "store/store.h"

using namespace plab;
using namespace plab::test;
namespace proto = plab::protocol;
using nlohmann::json;

namespace {

// Runs tinySpirals (fp16 with dynamic scaling, so that overflow and growth events
// travel too) in a real worker and returns its stdout lines, run_finished last.
json pacedFp16Spirals() {
  json experiment = tinySpirals();
  for (json& layer : experiment["network"]["layers"]) layer["precision"] = "fp16";
  experiment["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 5}};
  experiment["epochs"] = 10;  // 160 steps, paced to 1000 a second: the steps come in several lines
  return experiment;
}

std::vector<std::string> workerLines(const QStringList& args,
                                     const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
                                     const json& experiment = pacedFp16Spirals()) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(cliPath(), args);
  if (!p.waitForStarted(10000)) qFatal("cannot start the worker");
  p.write(QByteArray::fromStdString(proto::encodeLine(proto::Command{proto::StartCommand{experiment}}) + "\n"));
  p.write(QByteArray::fromStdString(proto::encodeLine(proto::Command{proto::PaceCommand{1000}}) + "\n"));
  std::vector<std::string> lines;
  bool finished = false;
  QElapsedTimer clock;
  clock.start();
  while (!finished && clock.elapsed() < 60000) {
    p.waitForReadyRead(200);
    while (p.canReadLine()) {
      lines.push_back(p.readLine().trimmed().toStdString());
      finished = finished || std::holds_alternative<proto::RunFinished>(proto::decodeEvent(lines.back()));
    }
  }
  p.closeWriteChannel();
  p.waitForFinished(10000);
  if (!finished) qFatal("the worker sent no run_finished: %s", p.readAllStandardError().constData());
  return lines;
}

}  // namespace

class TestCliRelay : public QObject {
  Q_OBJECT
 private slots:
  // The relay's whole promise: a run recorded from the events is the run the worker
  // stored itself, row for row (step times included: they travel as numbers that read
  // back to the same double, docs/protocol.md "Numbers").
  void eventsRecordTheRunTheWorkerStores() {
    QTemporaryDir dir;
    const QString workerDb = dir.filePath("worker.sqlite");
    const std::vector<std::string> lines = workerLines({"worker", "--db", workerDb, "--backend", "cpu"});
    const std::string relayDb = dir.filePath("relay.sqlite").toStdString();
    {
      EventRecorder recorder(relayDb);
      for (const std::string& line : lines) recorder.record(proto::decodeEvent(line));
      QVERIFY(recorder.finished());
    }
    RunReader fromWorker(workerDb.toStdString()), fromEvents(relayDb);
    const auto a = fromWorker.getRun(1), b = fromEvents.getRun(1);
    QVERIFY(a && b);
    QCOMPARE(b->status, RunStatus::completed);
    QCOMPARE(b->backend, a->backend);
    QCOMPARE(b->device, a->device);
    QCOMPARE(b->title, a->title);
    QCOMPARE(b->name, a->name);
    QCOMPARE(b->config.dump(), a->config.dump());
    QCOMPARE(b->summary.dump(), a->summary.dump());
    const RunRecord ra = fromWorker.loadRecord(1), rb = fromEvents.loadRecord(1);
    QVERIFY(!ra.steps.empty() && !ra.overflows.empty() && !ra.scaleGrowths.empty() && !ra.layerStats.empty());
    QCOMPARE(json(rb.steps).dump(), json(ra.steps).dump());
    QCOMPARE(json(rb.overflows).dump(), json(ra.overflows).dump());
    QCOMPARE(json(rb.scaleGrowths).dump(), json(ra.scaleGrowths).dump());
    QCOMPARE(json(rb.epochs).dump(), json(ra.epochs).dump());
    QCOMPARE(json(rb.layerStats).dump(), json(ra.layerStats).dump());
    QCOMPARE(json(rb.speed).dump(), json(ra.speed).dump());
    // Across types the pipe may reorder lines (docs/protocol.md, "Batching and rate"):
    // the events table holds the same rows, each step's in place.
    const auto events = [](RunReader& reader) {
      std::vector<std::string> rows;
      for (const StoredEvent& e : reader.loadEvents(1))
        rows.push_back(std::to_string(e.step) + " " + e.name + " " + e.payload.dump());
      std::sort(rows.begin(), rows.end());
      return rows;
    };
    const std::vector<std::string> eventsA = events(fromWorker), eventsB = events(fromEvents);
    QVERIFY(eventsA.size() > 2);
    QCOMPARE(eventsB, eventsA);
  }

  // Adaptive precision's promotions travel as their own events and are stored as the
  // worker stores them (lesson 14's network: its early layers move to bf16 at step 25).
  void promotionsAreRecordedAsTheWorkerStoresThem() {
    QTemporaryDir dir;
    std::ifstream in(PLAB_SOURCE_DIR "/experiments/moons-deep-sigmoid-fp16.json");
    json experiment = json::parse(in);
    experiment["precision_policy"] = {{"mode", "adaptive"}, {"underflow_limit", 0.05}, {"patience", 2}};
    experiment.erase("epochs");
    experiment["steps"] = 120;
    const QString workerDb = dir.filePath("worker.sqlite");
    const std::vector<std::string> lines =
        workerLines({"worker", "--db", workerDb, "--backend", "cpu"}, QProcessEnvironment::systemEnvironment(), experiment);
    const std::string relayDb = dir.filePath("relay.sqlite").toStdString();
    {
      EventRecorder recorder(relayDb);
      for (const std::string& line : lines) recorder.record(proto::decodeEvent(line));
    }
    RunReader a(workerDb.toStdString()), b(relayDb);
    const auto pa = a.loadPromotions(1), pb = b.loadPromotions(1);
    QVERIFY2(!pa.empty(), "lesson 14's network promoted no layer in 120 steps");
    QCOMPARE(json(pb).dump(), json(pa).dump());
    QCOMPARE(b.getRun(1)->summary.dump(), a.getRun(1)->summary.dump());
  }

  // A stream that stops before run_finished (the connection broke): the run is kept,
  // every step received stored, and marked interrupted with the reason.
  void aStreamCutShortIsStoredInterruptedWithItsSteps() {
    QTemporaryDir dir;
    std::vector<std::string> lines = workerLines({"worker", "--no-store", "--backend", "cpu"});
    std::size_t cut = 0, stepsBefore = 0;
    for (std::size_t i = 0; i < lines.size() && stepsBefore < 20; ++i) {
      const proto::Event event = proto::decodeEvent(lines[i]);
      if (const auto* s = std::get_if<proto::StepsBatch>(&event)) stepsBefore += s->steps.size();
      cut = i + 1;
    }
    QVERIFY2(cut < lines.size() - 1, "the run was too short to cut");
    const std::string db = dir.filePath("relay.sqlite").toStdString();
    std::int64_t lastStep = 0;
    {
      EventRecorder recorder(db);
      for (std::size_t i = 0; i < cut; ++i) recorder.record(proto::decodeEvent(lines[i]));
      lastStep = recorder.lastStep();
      const proto::RunFinished f = recorder.endUnfinished(RunStatus::interrupted, "the connection was lost");
      QCOMPARE(f.status, RunStatus::interrupted);
    }
    RunReader reader(db);
    const auto run = reader.getRun(1);
    QVERIFY(run.has_value());
    QCOMPARE(run->status, RunStatus::interrupted);
    QCOMPARE(run->error, std::string("the connection was lost"));
    const auto steps = reader.loadSteps(1);
    QCOMPARE(std::int64_t(steps.size()), std::int64_t(stepsBefore));
    QCOMPARE(steps.back().step, lastStep);
  }

  // What the remote end runs: the same events, run 0 in no database, and no file
  // written anywhere (HOME and XDG_DATA_HOME point at an empty folder).
  void noStoreWorkerStreamsAndWritesNothing() {
    QTemporaryDir home;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("HOME", home.path());
    env.insert("XDG_DATA_HOME", home.filePath("data"));
    const std::vector<std::string> lines = workerLines({"worker", "--no-store", "--backend", "cpu"}, env);
    bool sawStart = false;
    for (const std::string& line : lines) {
      const proto::Event event = proto::decodeEvent(line);
      if (const auto* s = std::get_if<proto::RunStarted>(&event)) {
        sawStart = true;
        QCOMPARE(s->runId, std::int64_t(0));
        QCOMPARE(s->dbPath, std::string());
      }
    }
    QVERIFY(sawStart);
    QVERIFY2(QDir(home.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries | QDir::Hidden).isEmpty(),
             "a --no-store worker wrote into its home folder");
  }

  void badWorkerUrlsAreNamed_data() {
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("message");
    QTest::newRow("run, not ssh") << "run" << "http://gpu1/x" << "--worker \"http://gpu1/x\": a worker address must start with ssh://";
    QTest::newRow("run, bad port") << "run" << "ssh://gpu1:70000/x" << "port 70000 is not in 1..65535";
    QTest::newRow("sweep, no host") << "sweep" << "ssh:///opt/precisionlab-cli" << "no host";
    QTest::newRow("run, option as host") << "run" << "ssh://-oProxyCommand=x/y" << "must not start with '-'";
  }
  void badWorkerUrlsAreNamed() {
    QFETCH(QString, command);
    QFETCH(QString, url);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QString file = writeExperiment(QDir(dir.path()), "x.json", tinySpirals());
    if (command == "sweep")
      file = writeExperiment(QDir(dir.path()), "s.json", json{{"base", tinySpirals()}, {"variants", json::array({{{"name", "a"}}})}});
    const CliResult r = runCli({command, file, "--worker", url, "--db", dir.filePath("runs.sqlite")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains(message), qPrintable(r.describe()));
    QVERIFY2(!QFile::exists(dir.filePath("runs.sqlite")), "a store was made before the URL was checked");
  }
};

QTEST_GUILESS_MAIN(TestCliRelay)
#include "tst_cli_relay.moc"
