#include "runs/worker_client.h"

#include <QCoreApplication>
#include <type_traits>
#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

#include "common/app_paths.h"
#include "protocol/messages.h"

namespace plab::ui {
namespace {

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

// How much the worker defers to other processes for the CPU (nice(2); 0 is normal).
constexpr int kWorkerNiceness = 5;

template <class T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

WorkerClient::WorkerClient(QObject* parent) : QObject(parent) {}

WorkerClient::~WorkerClient() {
  if (isRunning()) stopAndWait(3000);
}

bool WorkerClient::isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }

qint64 WorkerClient::processId() const { return process_ ? process_->processId() : 0; }

bool WorkerClient::start(const nlohmann::json& experiment, const QString& databasePath) {
  if (isBusy()) {
    error_ = tr("A run is already going");
    return false;
  }
  if (isRunning()) {
    // The last run has ended and its worker is exiting: let it finish its flush.
    process_->closeWriteChannel();
    if (!process_->waitForFinished(5000)) process_->kill();
  }
  workerPath_ = workerExecutable();
  if (workerPath_.isEmpty()) {
    error_ = tr("precisionlab-cli was not found next to the app (looked beside %1 and in ../cli/); "
                "set PLAB_CLI to its path").arg(QCoreApplication::applicationDirPath());
    return false;
  }
  run_ = std::make_shared<RunData>();
  run_->config = experiment;
  run_->title = fromStd(experiment.value("title", std::string()));
  run_->description = fromStd(experiment.value("description", std::string()));
  pending_.clear();
  messages_.clear();
  paused_ = false;
  finishedSeen_ = false;
  error_.clear();

  delete process_;
  process_ = new QProcess(this);
  connect(process_, &QProcess::readyReadStandardOutput, this, &WorkerClient::readEvents);
  connect(process_, &QProcess::readyReadStandardError, this, &WorkerClient::readErrors);
  connect(process_, &QProcess::finished, this, &WorkerClient::onFinished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart) endRun(QStringLiteral("failed"), tr("cannot start %1: %2").arg(workerPath_, process_->errorString()));
  });
#ifdef Q_OS_UNIX
  // The worker trains flat out; the GUI thread needs a core for a few milliseconds at a
  // time. On a busy machine both wait for a core, and each wait is a stall the user
  // sees; a slightly lower priority lets the GUI thread go first (training loses
  // little: the GUI uses a fraction of one core). GPU work is not affected.
  process_->setChildProcessModifier([] { (void)!nice(kWorkerNiceness); });
#endif
  QStringList args{QStringLiteral("worker"), QStringLiteral("--db"), databasePath};
  if (!remote_.isEmpty()) args << QStringLiteral("--remote") << remote_;
  process_->start(workerPath_, args);
  if (!process_->waitForStarted(10000)) {
    error_ = tr("cannot start %1: %2").arg(workerPath_, process_->errorString());
    return false;
  }
  send(protocol::encodeLine(protocol::Command{protocol::StartCommand{experiment}}));
  if (pace_ > 0) send(protocol::encodeLine(protocol::Command{protocol::PaceCommand{pace_}}));
  return true;
}

void WorkerClient::send(const std::string& line) {
  if (!isRunning()) return;
  process_->write(line.data(), qint64(line.size()));
  process_->write("\n", 1);
}

void WorkerClient::pause() {
  send(protocol::encodeLine(protocol::Command{protocol::PauseCommand{}}));
}

void WorkerClient::setPace(int stepsPerSecond) {
  pace_ = stepsPerSecond;
  send(protocol::encodeLine(protocol::Command{protocol::PaceCommand{pace_}}));
}

void WorkerClient::resume() {
  send(protocol::encodeLine(protocol::Command{protocol::ResumeCommand{}}));
}

void WorkerClient::stop() {
  send(protocol::encodeLine(protocol::Command{protocol::StopCommand{}}));
}

void WorkerClient::stopAndWait(int timeoutMs) {
  if (!isRunning()) return;
  stop();
  process_->closeWriteChannel();
  if (!process_->waitForFinished(timeoutMs)) {
    process_->terminate();  // SIGTERM: the worker still ends the run `cancelled`
    if (!process_->waitForFinished(2000)) process_->kill();
  }
  readEvents();
}

void WorkerClient::readEvents() {
  if (!process_) return;
  pending_ += process_->readAllStandardOutput();
  qsizetype start = 0;
  for (qsizetype nl = pending_.indexOf('\n'); nl >= 0; nl = pending_.indexOf('\n', start)) {
    handleLine(pending_.mid(start, nl - start));
    start = nl + 1;
  }
  pending_.remove(0, start);
}

void WorkerClient::readErrors() {
  const QString text = QString::fromUtf8(process_->readAllStandardError()).trimmed();
  for (const QString& line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) remember(line);
}

void WorkerClient::remember(const QString& text) {
  messages_.append(text);
  while (messages_.size() > 50) messages_.removeFirst();
  emit message(text);
}

void WorkerClient::handleLine(const QByteArray& line) {
  if (line.trimmed().isEmpty() || !run_) return;
  protocol::Event event;
  try {
    event = protocol::decodeEvent(std::string_view(line.constData(), std::size_t(line.size())));
  } catch (const std::exception& e) {
    remember(tr("unreadable worker message: %1").arg(QString::fromUtf8(e.what())));
    return;
  }
  RunData& run = *run_;
  bool appended = false;
  std::visit([&](auto&& m) {
    using T = std::decay_t<decltype(m)>;
    if constexpr (std::is_same_v<T, protocol::Hello>) {
      // The worker's default backend; the run may use another (the experiment's
      // "backend"), so the run is labelled from run_started.
    } else if constexpr (std::is_same_v<T, protocol::RunStarted>) {
      run.runId = m.runId;
      run.backend = fromStd(m.backend);
      run.device = fromStd(m.device);
      run.config = m.config;
      run.totalSteps = m.totalSteps;
      run.reserveSteps(m.totalSteps);
      run.layerNames = m.layers;
      emit runStarted(m.runId);
    } else if constexpr (std::is_same_v<T, protocol::StepsBatch>) {
      append(run.steps, std::move(m.steps));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::OverflowBatch>) {
      append(run.overflows, std::move(m.events));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::ScaleGrowthBatch>) {
      append(run.scaleGrowths, std::move(m.events));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::PromotionBatch>) {
      append(run.promotions, std::move(m.events));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::EpochBatch>) {
      append(run.epochs, std::move(m.epochs));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::LayerStatsBatch>) {
      append(run.layerStats, std::move(m.records));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::SpeedBatch>) {
      append(run.speed, std::move(m.results));
      appended = true;
    } else if constexpr (std::is_same_v<T, protocol::Progress>) {
      run.stepsPerSecond = m.stepsPerSecond;
      run.etaSeconds = m.etaSeconds;
      if (m.total > 0) run.totalSteps = m.total;
      paused_ = m.paused;
      emit progressChanged();
    } else if constexpr (std::is_same_v<T, protocol::LogBatch>) {
      for (const auto& entry : m.entries) remember(fromStd(entry.level) + QStringLiteral(": ") + fromStd(entry.text));
    } else if constexpr (std::is_same_v<T, protocol::ErrorMessage>) {
      const QString text = m.context.empty() ? fromStd(m.message) : fromStd(m.context) + QStringLiteral(": ") + fromStd(m.message);
      run.error = text;
      remember(QStringLiteral("error: ") + text);
    } else if constexpr (std::is_same_v<T, protocol::RunFinished>) {
      finishedSeen_ = true;
      run.summary = m.summary;
      const QString error = m.error.empty() ? run.error : fromStd(m.error);
      endRun(QString::fromLatin1(protocol::runStatusText(m.status)), error);
    }
  }, event);
  if (appended) {
    ++run.revision;
    emit dataAppended();
  }
}

void WorkerClient::endRun(const QString& status, const QString& error) {
  if (!run_ || !run_->isLive()) return;
  run_->status = status;
  run_->error = error;
  ++run_->revision;
  emit runEnded(status);
}

void WorkerClient::onFinished(int exitCode, QProcess::ExitStatus status) {
  readEvents();
  readErrors();
  if (finishedSeen_) return;
  // No run_finished line: the worker died (killed, crashed, out of memory).
  QString why = status == QProcess::CrashExit ? tr("the worker crashed or was killed")
                                              : tr("the worker exited with code %1 before finishing the run").arg(exitCode);
  if (!messages_.isEmpty()) why += tr("; its last message: %1").arg(messages_.last());
  remember(why);
  endRun(QStringLiteral("failed"), why);
}

}  // namespace plab::ui
