#include "sweeps/sweep_runner.h"

#include <QRegularExpression>

#include "common/app_paths.h"

namespace plab::ui {

SweepRunner::SweepRunner(const QString& databasePath, QObject* parent)
    : SweepSource(parent), databasePath_(databasePath) {
  timer_.setInterval(500);
  connect(&timer_, &QTimer::timeout, this, &SweepRunner::poll);
}

SweepRunner::~SweepRunner() {
  if (isRunning()) {
    process_->terminate();  // the CLI stops its workers and keeps what they recorded
    if (!process_->waitForFinished(5000)) process_->kill();
  }
}

bool SweepRunner::start(const QString& sweepFile, const SweepRunOptions& options, QString* error) {
  if (isRunning()) {
    *error = tr("A sweep is already running");
    return false;
  }
  const QString cli = workerExecutable();
  if (cli.isEmpty()) {
    *error = tr("precisionlab-cli was not found next to the app; set PLAB_CLI to its path");
    return false;
  }
  QStringList args{QStringLiteral("sweep"), sweepFile, QStringLiteral("--db"), databasePath_,
                   QStringLiteral("--jobs"), QString::number(options.jobs)};
  if (options.steps) args << QStringLiteral("--steps") << QString::number(*options.steps);
  if (options.seed) args << QStringLiteral("--seed") << QString::number(*options.seed);
  if (!options.backend.isEmpty()) args << QStringLiteral("--backend") << options.backend;
  if (options.pace > 0) args << QStringLiteral("--pace") << QString::number(options.pace);
  if (!options.worker.isEmpty()) args << QStringLiteral("--worker") << options.worker;
  delete process_;
  process_ = new QProcess(this);
  sweepId_ = 0;
  pending_.clear();
  connect(process_, &QProcess::readyReadStandardOutput, this, &SweepRunner::readOutput);
  connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
    timer_.stop();
    poll();  // the last state: every variant's final status
    const QString err = QString::fromUtf8(process_->readAllStandardError()).trimmed();
    QString message = err.section(QLatin1Char('\n'), -1);
    if (status == QProcess::CrashExit) message = tr("the sweep process crashed or was killed");
    emit finished(sweepId_, status == QProcess::CrashExit ? -1 : code, message);
  });
  connect(process_, &QProcess::errorOccurred, this, [this, cli](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart)
      emit finished(0, -1, tr("cannot start %1: %2").arg(cli, process_->errorString()));
  });
  process_->start(cli, args);
  timer_.start();
  return true;
}

void SweepRunner::stop() {
  if (isRunning()) process_->terminate();
}

// The CLI's first line names the stored sweep: `sweep 7 "Title": 3 variants, ...`.
void SweepRunner::readOutput() {
  pending_ += process_->readAllStandardOutput();
  if (sweepId_ != 0) {
    pending_.clear();
    return;
  }
  static const QRegularExpression first(QStringLiteral("^sweep (\\d+) "), QRegularExpression::MultilineOption);
  const auto match = first.match(QString::fromUtf8(pending_));
  if (!match.hasMatch()) return;
  sweepId_ = match.captured(1).toLongLong();
  pending_.clear();
  emit sweepStarted(sweepId_);
  poll();
}

void SweepRunner::poll() {
  if (sweepId_ == 0) return;
  try {
    SweepStore store(databasePath_.toStdString());
    if (const auto row = store.getSweep(sweepId_)) emit variantsChanged(*row);
  } catch (const std::exception&) {
    // Busy or being migrated by the CLI: the next tick reads it.
  }
}

}  // namespace plab::ui
