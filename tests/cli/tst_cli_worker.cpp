// `precisionlab-cli worker` end to end: a real worker process, its stdin and stdout
// as the GUI uses them (docs/protocol.md), and the run it writes to SQLite.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <variant>

#include "cli_test_support.h"
#include "protocol/messages.h"
#include "store/store.h"

using namespace plab;
using namespace plab::test;
namespace proto = plab::protocol;
using nlohmann::json;

namespace {

// A worker process and the events it has sent so far.
class WorkerSession {
 public:
  explicit WorkerSession(const QString& db) {
    process_.start(cliPath(), {"worker", "--db", db, "--backend", "cpu"});
    if (!process_.waitForStarted(10000)) qFatal("cannot start the worker");
  }
  ~WorkerSession() {
    if (process_.state() != QProcess::NotRunning) {
      process_.kill();
      process_.waitForFinished();
    }
  }
  void send(const proto::Command& c) {
    process_.write(QByteArray::fromStdString(proto::encodeLine(c) + "\n"));
    process_.waitForBytesWritten(5000);
  }
  void sendRaw(const QByteArray& line) {
    process_.write(line + "\n");
    process_.waitForBytesWritten(5000);
  }
  void closeStdin() { process_.closeWriteChannel(); }

  // Reads events until `want` has arrived (true) or timeoutMs passed (false).
  template <class T>
  bool waitFor(int timeoutMs = 20000) {
    QElapsedTimer clock;
    clock.start();
    for (;;) {
      for (; seen_ < events.size(); ++seen_)
        if (std::holds_alternative<T>(events[seen_])) {
          ++seen_;
          return true;
        }
      if (clock.elapsed() > timeoutMs) return false;
      process_.waitForReadyRead(100);
      while (process_.canReadLine()) {
        const QByteArray line = process_.readLine().trimmed();
        lineTimesMs.push_back(clock.elapsed());
        events.push_back(proto::decodeEvent(line.toStdString()));  // throws on a malformed line
      }
    }
  }
  template <class T>
  const T* last() const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (auto* e = std::get_if<T>(&*it)) return e;
    return nullptr;
  }
  bool finished(int timeoutMs = 20000) { return process_.waitForFinished(timeoutMs); }
  int exitCode() const { return process_.exitCode(); }
  bool crashed() const { return process_.exitStatus() == QProcess::CrashExit; }  // ended by a signal
  QString stderrText() { return QString::fromUtf8(process_.readAllStandardError()); }

  std::vector<proto::Event> events;
  std::vector<qint64> lineTimesMs;

 private:
  QProcess process_;
  std::size_t seen_ = 0;
};

}  // namespace

class TestCliWorker : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

 private slots:
  void startStreamsEventsAndStopCancels() {
    const QString db = dir_.filePath("worker.sqlite");
    WorkerSession w(db);
    QVERIFY(w.waitFor<proto::Hello>());
    nlohmann::json onCpu = endlessSpirals();
    onCpu["backend"] = "cpu";  // on a GPU machine hello says cuda; the run must say cpu
    w.send(proto::StartCommand{onCpu});
    QVERIFY2(w.waitFor<proto::RunStarted>(), qPrintable(w.stderrText()));
    const std::int64_t runId = w.last<proto::RunStarted>()->runId;
    QVERIFY(runId > 0);
    QVERIFY(w.waitFor<proto::StepsBatch>());
    QVERIFY(w.waitFor<proto::LayerStatsBatch>());

    w.send(proto::PauseCommand{});
    auto sawPausedProgress = [&] {
      for (const auto& e : w.events)
        if (auto* p = std::get_if<proto::Progress>(&e); p && p->paused) return true;
      return false;
    };
    QElapsedTimer clock;
    clock.start();
    while (!sawPausedProgress() && clock.elapsed() < 10000) w.waitFor<proto::Progress>(500);
    const bool sawPaused = sawPausedProgress();
    QVERIFY2(sawPaused, "no progress event said paused");
    w.send(proto::ResumeCommand{});
    w.send(proto::StopCommand{});
    QVERIFY(w.waitFor<proto::RunFinished>());
    const auto* done = w.last<proto::RunFinished>();
    QCOMPARE(int(done->status), int(RunStatus::cancelled));
    QCOMPARE(done->summary.value("run_id", std::int64_t(0)), runId);
    QVERIFY(std::holds_alternative<proto::RunFinished>(w.events.back()));  // the last line
    QVERIFY(w.finished());
    QCOMPARE(w.exitCode(), 0);

    RunReader reader(db.toStdString());
    const auto run = reader.getRun(runId);
    QVERIFY(run.has_value());
    QCOMPARE(int(run->status), int(RunStatus::cancelled));
    QCOMPARE(std::int64_t(reader.loadSteps(runId).size()), done->summary["steps"].get<std::int64_t>());
    // The run is labelled with the backend it ran on, one text in run_started, the
    // store's run row and the summary (docs/protocol.md, "run_started").
    const auto* started = w.last<proto::RunStarted>();
    QVERIFY(!started->backend.empty() && !started->device.empty());
    QCOMPARE(started->backend, run->backend);
    QCOMPARE(started->device, run->device);
    QCOMPARE(done->summary["backend"].get<std::string>(), run->backend);
    QCOMPARE(done->summary["device"].get<std::string>(), run->device);
    QCOMPARE(run->backend, std::string("cpu"));
  }

  // Steps take about 0.1 ms here, so a run of a second or two would make thousands
  // of records: the pipe must still carry about 30 lines a second.
  void batchesEventsToAboutThirtyLinesPerSecond() {
    WorkerSession w(dir_.filePath("rate.sqlite"));
    QVERIFY(w.waitFor<proto::Hello>());
    w.send(proto::StartCommand{endlessSpirals()});
    QVERIFY(w.waitFor<proto::RunStarted>());
    const std::size_t firstLine = w.lineTimesMs.size();
    QVERIFY(!w.waitFor<proto::RunFinished>(2000));  // read for two seconds
    const std::size_t lines = w.lineTimesMs.size() - firstLine;
    const double seconds = (w.lineTimesMs.back() - w.lineTimesMs[firstLine - 1]) / 1000.0;
    std::int64_t steps = 0;
    for (const auto& e : w.events)
      if (auto* s = std::get_if<proto::StepsBatch>(&e)) steps += std::int64_t(s->steps.size());
    w.send(proto::StopCommand{});
    QVERIFY(w.waitFor<proto::RunFinished>());
    QVERIFY2(steps > 1000, qPrintable(QString("only %1 steps streamed").arg(steps)));
    // 30 a second plus the burst allowance, measured over the reading window.
    const double rate = lines / std::max(seconds, 1.0);
    QVERIFY2(rate <= 36, qPrintable(QString("%1 lines in %2 s (%3 steps)").arg(lines).arg(seconds).arg(steps)));
  }

  void closedStdinStopsTheRun() {
    WorkerSession w(dir_.filePath("eof.sqlite"));
    QVERIFY(w.waitFor<proto::Hello>());
    w.send(proto::StartCommand{endlessSpirals()});
    QVERIFY(w.waitFor<proto::StepsBatch>());
    w.closeStdin();  // the GUI went away
    QVERIFY(w.waitFor<proto::RunFinished>());
    QCOMPARE(int(w.last<proto::RunFinished>()->status), int(RunStatus::cancelled));
    QVERIFY(w.finished());
  }

  void badExperimentGivesErrorEvent() {
    WorkerSession w(dir_.filePath("bad.sqlite"));
    QVERIFY(w.waitFor<proto::Hello>());
    json bad = tinySpirals();
    bad["network"]["layers"][0]["precision"] = "fp61";
    w.send(proto::StartCommand{bad});
    QVERIFY(w.waitFor<proto::ErrorMessage>());
    const auto* e = w.last<proto::ErrorMessage>();
    QVERIFY2(QString::fromStdString(e->message).contains("fp61"), e->message.c_str());
    QCOMPARE(QString::fromStdString(e->context), QStringLiteral("experiment"));
    QVERIFY(w.finished());
    QCOMPARE(w.exitCode(), 2);
  }

  // A network whose training cannot fit in memory is refused before anything is
  // allocated (once a bare std::bad_alloc, or the OOM killer's SIGKILL).
  void networkTooLargeForMemoryGivesErrorEvent() {
    WorkerSession w(dir_.filePath("huge.sqlite"));
    QVERIFY(w.waitFor<proto::Hello>());
    json huge = tinySpirals();
    huge["backend"] = "cpu";
    huge["network"]["layers"][0]["out"] = 16777216;
    huge["dataset"]["train_size"] = 1048576;
    huge["batch_size"] = 1048576;
    w.send(proto::StartCommand{huge});
    QVERIFY2(w.waitFor<proto::ErrorMessage>(60000), qPrintable(w.stderrText()));
    const auto* e = w.last<proto::ErrorMessage>();
    QVERIFY2(QString::fromStdString(e->message).contains("layers[0] linear: training needs at least"), e->message.c_str());
    QCOMPARE(QString::fromStdString(e->context), QStringLiteral("network"));
    QVERIFY(w.finished(60000));
    QVERIFY(!w.crashed());
    QCOMPARE(w.exitCode(), 2);
  }

  void failedRunSendsErrorThenRunFinished() {
    const QString db = dir_.filePath("nan.sqlite");
    WorkerSession w(db);
    QVERIFY(w.waitFor<proto::Hello>());
    json nan = tinySpirals();
    nan["network"]["layers"][0]["precision"] = "fp16";
    nan["network"]["layers"][0]["init_gain"] = 1e6;
    nan["network"]["layers"][0]["out"] = 4096;
    w.send(proto::StartCommand{nan});
    QVERIFY(w.waitFor<proto::RunFinished>());
    QVERIFY(w.last<proto::ErrorMessage>() != nullptr);
    const auto* done = w.last<proto::RunFinished>();
    QCOMPARE(int(done->status), int(RunStatus::failed));
    QVERIFY2(QString::fromStdString(done->error).contains("step 1"), done->error.c_str());
    RunReader reader(db.toStdString());
    QCOMPARE(int(reader.listRuns().front().status), int(RunStatus::failed));
  }

  void malformedCommandIsReportedAndIgnored() {
    WorkerSession w(dir_.filePath("cmd.sqlite"));
    QVERIFY(w.waitFor<proto::Hello>());
    // Not JSON at all: the worker says so and keeps listening.
    w.sendRaw("this is not json");
    QVERIFY(w.waitFor<proto::ErrorMessage>());
    QCOMPARE(QString::fromStdString(w.last<proto::ErrorMessage>()->context), QStringLiteral("command"));
    w.send(proto::StopCommand{});  // still obeyed
    QVERIFY(w.finished());
    QCOMPARE(w.exitCode(), 0);
  }

  // Lines that once ended the worker by a signal (issue 17): each is an error event,
  // and a run under way goes on and is stored.
  void hostileCommandsAreReportedAndTheRunKept() {
    const QString db = dir_.filePath("hostile.sqlite");
    WorkerSession w(db);
    QVERIFY(w.waitFor<proto::Hello>());
    w.sendRaw(R"({"v":1,"type":"start","experiment":)" + QByteArray(300000, '[') + QByteArray(300000, ']') + "}");
    QVERIFY2(w.waitFor<proto::ErrorMessage>(), qPrintable(w.stderrText()));
    QVERIFY2(QString::fromStdString(w.last<proto::ErrorMessage>()->message).contains("column 99: nested deeper than 64 levels"),
             w.last<proto::ErrorMessage>()->message.c_str());

    json onCpu = endlessSpirals();
    onCpu["backend"] = "cpu";
    w.send(proto::StartCommand{onCpu});
    QVERIFY2(w.waitFor<proto::RunStarted>(), qPrintable(w.stderrText()));
    QVERIFY(w.waitFor<proto::StepsBatch>());
    w.sendRaw("{\"v\":1,\"type\":\"pa\xffuse\"}");  // mid-run: a byte that is not UTF-8
    QVERIFY2(w.waitFor<proto::ErrorMessage>(), qPrintable(w.stderrText()));
    QCOMPARE(QString::fromStdString(w.last<proto::ErrorMessage>()->context), QStringLiteral("command"));
    QVERIFY(QString::fromStdString(w.last<proto::ErrorMessage>()->message).contains("column 18: malformed JSON"));
    w.sendRaw(QByteArray(R"({"v":1,"type":"pause"})") + '\0' + "garbage");
    QVERIFY2(w.waitFor<proto::ErrorMessage>(), qPrintable(w.stderrText()));
    QVERIFY(QString::fromStdString(w.last<proto::ErrorMessage>()->message).contains("a NUL byte after the JSON value"));

    w.send(proto::StopCommand{});
    QVERIFY2(w.waitFor<proto::RunFinished>(), qPrintable(w.stderrText()));
    QCOMPARE(int(w.last<proto::RunFinished>()->status), int(RunStatus::cancelled));
    QVERIFY(w.finished());
    QVERIFY2(!w.crashed(), qPrintable(w.stderrText()));
    QCOMPARE(w.exitCode(), 0);
    RunReader reader(db.toStdString());
    const auto runs = reader.listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(int(runs.front().status), int(RunStatus::cancelled));
    QVERIFY(!reader.loadSteps(runs.front().id).empty());
  }
};

QTEST_GUILESS_MAIN(TestCliWorker)
#include "tst_cli_worker.moc"
