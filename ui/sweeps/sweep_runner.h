#pragma once
// Runs a sweep file as `precisionlab-cli sweep FILE --db DB --jobs N` (the same
// command as on a terminal: N worker processes, each writing its run to the store)
// and watches the store: twice a second it reads the sweep's variants and the run
// each one started, and says so. Stopping sends SIGTERM, which stops every variant
// and keeps what they recorded.
#include <QObject>
#include <QProcess>
#include <QTimer>
#include <optional>

#include "store/sweep_store.h"

namespace plab::ui {

struct SweepRunOptions {
  int jobs = 2;
  std::optional<std::int64_t> steps;   // --steps: every variant this long (tests, quick looks)
  std::optional<std::uint64_t> seed;   // --seed: re-check a lesson on another seed
  QString backend;                     // --backend; empty: each variant's own
  int pace = 0;                        // --pace: steps a second per variant; 0: full speed
  QString worker;                      // --worker ssh://...: every variant trains there; empty: here
};

class SweepRunner : public QObject {
  Q_OBJECT
 public:
  explicit SweepRunner(const QString& databasePath, QObject* parent = nullptr);
  ~SweepRunner() override;

  // False, with *error set, when the CLI cannot be found or a sweep already runs.
  bool start(const QString& sweepFile, const SweepRunOptions& options, QString* error);
  void stop();
  bool isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }
  std::int64_t sweepId() const { return sweepId_; }

 signals:
  void sweepStarted(qint64 sweepId);
  void variantsChanged(const plab::SweepRow& sweep);
  // exitCode as `precisionlab-cli sweep` documents it; message: its last error line.
  void finished(qint64 sweepId, int exitCode, const QString& message);

 private:
  void readOutput();
  void poll();
  QString databasePath_;
  QProcess* process_ = nullptr;
  QTimer timer_;
  std::int64_t sweepId_ = 0;
  QByteArray pending_;
};

}  // namespace plab::ui
