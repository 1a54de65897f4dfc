#include "run_follower.h"

#include <QtConcurrent>

#include "run_loader.h"

namespace plab::ui {

RunFollower::RunFollower(const QString& databasePath, QObject* parent) : QObject(parent), databasePath_(databasePath) {
  timer_.setInterval(1000);  // the writer commits at least once a second
  connect(&timer_, &QTimer::timeout, this, &RunFollower::poll);
  connect(&watcher_, &QFutureWatcher<QList<RunDataPtr>>::finished, this, [this] {
    QList<RunDataPtr> fresh;
    try {
      fresh = watcher_.result();
    } catch (const std::exception&) {
      return;  // the store was busy; the next tick tries again
    }
    // Swap the updated copies' contents in, so views keep their RunDataPtr.
    for (int i = 0; i < fresh.size() && i < runs_.size(); ++i) *runs_[i] = std::move(*fresh[i]);
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
  // Work on copies: the GUI thread keeps drawing the originals meanwhile.
  QList<RunDataPtr> copies;
  for (const RunDataPtr& r : runs_) copies << std::make_shared<RunData>(*r);
  const QString db = databasePath_;
  watcher_.setFuture(QtConcurrent::run([db, copies] {
    for (const RunDataPtr& r : copies) loadRunIncrement(db, *r);
    return copies;
  }));
}

}  // namespace plab::ui
