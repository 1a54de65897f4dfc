#include "runs/run_follower.h"

#include <QtConcurrent>

#include "runs/run_loader.h"

namespace plab::ui {

RunFollower::RunFollower(const QString& databasePath, QObject* parent) : QObject(parent), databasePath_(databasePath) {
  timer_.setInterval(1000);  // the writer commits at least once a second
  connect(&timer_, &QTimer::timeout, this, &RunFollower::poll);
  connect(&watcher_, &QFutureWatcher<QList<RunIncrement>>::finished, this, [this] {
    QList<RunIncrement> fresh;
    try {
      fresh = watcher_.result();
    } catch (const std::exception&) {
      return;  // the store was busy; the next tick tries again
    }
    // Each increment goes to the run it was read for, even if follow() changed the
    // followed runs meanwhile.
    for (int i = 0; i < fresh.size() && i < polled_.size(); ++i) applyRunIncrement(*polled_[i], std::move(fresh[i]));
    polled_.clear();
    QList<RunDataPtr> still;
    for (const RunDataPtr& r : runs_) {
      if (r->isLive()) still << r;
    }
    runs_ = still;
    if (runs_.isEmpty()) timer_.stop();
    emit runsUpdated();
  });
}

RunFollower::~RunFollower() { watcher_.waitForFinished(); }

void RunFollower::follow(const QList<RunDataPtr>& runs) {
  runs_.clear();
  for (const RunDataPtr& r : runs) {
    if (r->isLive()) runs_ << r;
  }
  if (runs_.isEmpty()) timer_.stop();
  else timer_.start();
}

void RunFollower::poll() {
  if (watcher_.isRunning() || runs_.isEmpty()) return;
  // Only where each run stands goes to the worker thread; the GUI thread keeps
  // drawing the runs meanwhile and appends what comes back.
  QList<RunCursor> cursors;
  polled_ = runs_;
  for (const RunDataPtr& r : polled_) cursors << cursorOf(*r);
  const QString db = databasePath_;
  watcher_.setFuture(QtConcurrent::run([db, cursors] {
    QList<RunIncrement> increments;
    for (const RunCursor& c : cursors) increments << readRunIncrement(db, c);
    return increments;
  }));
}

}  // namespace plab::ui
