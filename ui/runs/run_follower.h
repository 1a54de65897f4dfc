#pragma once
// Follows shown runs that another process (a headless `precisionlab-cli run`) is still
// writing: once a second it reads what the store gained since, on a worker thread,
// and hands it to the GUI thread, which appends it and asks for a replot. The GUI
// thread only notes where each run stands and appends the new rows: no copy of a run.
#include <QFutureWatcher>
#include <QList>
#include <QObject>
#include <QTimer>

#include "runs/run_data.h"
#include "runs/run_loader.h"

namespace plab::ui {

class RunFollower : public QObject {
  Q_OBJECT
 public:
  RunFollower(const QString& databasePath, QObject* parent = nullptr);
  ~RunFollower() override;
  // Follows those of runs that are `running` (the others need nothing).
  void follow(const QList<RunDataPtr>& runs);
  bool isFollowing() const { return !runs_.isEmpty(); }

 signals:
  void runsUpdated();

 private:
  void poll();
  QString databasePath_;
  QList<RunDataPtr> runs_;
  QList<RunDataPtr> polled_;  // the runs of the read in flight
  QTimer timer_;
  QFutureWatcher<QList<RunIncrement>> watcher_;
};

}  // namespace plab::ui
