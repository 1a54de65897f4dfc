#include "sweeps/slurm_follower.h"

#include <QRegularExpression>

#include "common/app_paths.h"

namespace plab::ui {

SlurmFollower::SlurmFollower(const QString& databasePath, QObject* parent)
    : SweepSource(parent), databasePath_(databasePath) {
  connect(&timer_, &QTimer::timeout, this, &SlurmFollower::mergeOnce);
}

SlurmFollower::~SlurmFollower() {
  timer_.stop();
  if (process_ && process_->state() != QProcess::NotRunning) {
    process_->disconnect(this);
    process_->waitForFinished(10000);  // a merge half done is finished by the next one anyway
  }
}

bool SlurmFollower::follow(const QString& dir, QString* error, int intervalMs) {
  if (isFollowing()) {
    *error = tr("A Slurm sweep is followed already");
    return false;
  }
  cli_ = workerExecutable();
  if (cli_.isEmpty()) {
    *error = tr("precisionlab-cli was not found next to the app; set PLAB_CLI to its path");
    return false;
  }
  dir_ = dir;
  sweepId_ = 0;
  timer_.setInterval(intervalMs);
  timer_.start();
  mergeOnce();
  return true;
}

void SlurmFollower::stop() {
  if (!isFollowing()) return;
  timer_.stop();
  if (process_ && process_->state() != QProcess::NotRunning) return;  // onMerged says finished
  emit finished(sweepId_, 0, tr("stopped following; the tasks go on on the cluster"));
}

void SlurmFollower::mergeOnce() {
  if (process_ && process_->state() != QProcess::NotRunning) return;  // the last merge is still going
  delete process_;
  process_ = new QProcess(this);
  connect(process_, &QProcess::finished, this, &SlurmFollower::onMerged);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e != QProcess::FailedToStart) return;
    timer_.stop();
    emit finished(sweepId_, -1, tr("cannot start %1: %2").arg(cli_, process_->errorString()));
  });
  process_->start(cli_, {QStringLiteral("merge"), dir_, QStringLiteral("--db"), databasePath_});
}

// merge's first line names the sweep (`sweep 7 "Title" (Slurm job 42), 4 tasks, ...`),
// its last says how many tasks are in the store (`... 3 of 4 tasks in the store`).
void SlurmFollower::onMerged(int exitCode, QProcess::ExitStatus status) {
  const QString out = QString::fromUtf8(process_->readAllStandardOutput());
  const QString err = QString::fromUtf8(process_->readAllStandardError()).trimmed();
  if (status == QProcess::CrashExit || exitCode != 0) {
    timer_.stop();
    emit finished(sweepId_, status == QProcess::CrashExit ? -1 : exitCode,
                  err.isEmpty() ? tr("merge failed") : err.section(QLatin1Char('\n'), -1));
    return;
  }
  static const QRegularExpression first(QStringLiteral("^sweep (\\d+) "), QRegularExpression::MultilineOption);
  static const QRegularExpression tally(QStringLiteral("(\\d+) of (\\d+) tasks in the store"));
  if (sweepId_ == 0) {
    const auto match = first.match(out);
    if (match.hasMatch()) {
      sweepId_ = match.captured(1).toLongLong();
      emit sweepStarted(sweepId_);
    }
  }
  if (sweepId_ != 0) {
    try {
      SweepStore store(databasePath_.toStdString());
      if (const auto row = store.getSweep(sweepId_)) emit variantsChanged(*row);
    } catch (const std::exception&) {
      // Busy: the next merge reads it again.
    }
  }
  const auto done = tally.match(out);
  const bool allIn = done.hasMatch() && done.captured(1) == done.captured(2);
  if (allIn || !timer_.isActive()) {
    timer_.stop();
    emit finished(sweepId_, 0, allIn ? QString() : tr("stopped following; the tasks go on on the cluster"));
  }
}

}  // namespace plab::ui
