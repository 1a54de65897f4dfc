#pragma once
// Follows a sweep submitted to Slurm (`precisionlab-cli sweep --slurm`, docs/remote.md)
// from the app: every few seconds it runs `precisionlab-cli merge DIR --db DB`, which
// copies the tasks that have finished into the store (idempotently), and reports the
// sweep's variants from the store, so that the sweep view fills in as tasks finish. It
// stops by itself once every task is in the store. The tasks run on the cluster either
// way: stopping only stops watching.
#include <QObject>
#include <QProcess>
#include <QTimer>

#include "sweeps/sweep_source.h"

namespace plab::ui {

// finished: exitCode 0 once every task is in the store (or when stopped); else merge's,
// with its message.
class SlurmFollower : public SweepSource {
  Q_OBJECT
 public:
  explicit SlurmFollower(const QString& databasePath, QObject* parent = nullptr);
  ~SlurmFollower() override;

  // Starts following the folder that `sweep --slurm` wrote. False with *error when the
  // CLI cannot be found or a sweep is followed already.
  bool follow(const QString& dir, QString* error, int intervalMs = 5000);
  void stop();
  bool isFollowing() const { return timer_.isActive() || (process_ && process_->state() != QProcess::NotRunning); }
 private:
  void mergeOnce();
  void onMerged(int exitCode, QProcess::ExitStatus status);

  QString databasePath_;
  QString dir_;
  QString cli_;
  QProcess* process_ = nullptr;
  QTimer timer_;
};

}  // namespace plab::ui
