#pragma once
// What the Sweep panel follows a sweep through, wherever its variants train: a sweep
// run here (SweepRunner) or one submitted to Slurm and merged as its tasks finish
// (SlurmFollower). Both report the same three things.
#include <QObject>
#include <QString>
#include <cstdint>

#include "store/sweep_store.h"

namespace plab::ui {

class SweepSource : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  std::int64_t sweepId() const { return sweepId_; }

 signals:
  void sweepStarted(qint64 sweepId);
  // The sweep's variants and the run each one started, as the store has them now.
  void variantsChanged(const plab::SweepRow& sweep);
  // exitCode 0 when the sweep ended well; else the command's own code, with its last
  // error line (SweepRunner: `precisionlab-cli sweep`'s; SlurmFollower: `merge`'s).
  void finished(qint64 sweepId, int exitCode, const QString& message);

 protected:
  std::int64_t sweepId_ = 0;
};

}  // namespace plab::ui
