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

#include "sweeps/sweep_source.h"

namespace plab::ui {

struct SweepRunOptions {
  int jobs = 2;
  std::optional<std::int64_t> steps;   // --steps: every variant this long (tests, quick looks)
  std::optional<std::uint64_t> seed;   // --seed: re-check a lesson on another seed
  QString backend;                     // --backend; empty: each variant's own
  int pace = 0;                        // --pace: steps a second per variant; 0: full speed
  QString worker;                      // --worker ssh://...: every variant trains there; empty: here
};

// finished: exitCode as `precisionlab-cli sweep` documents it; message: its last error line.
class SweepRunner : public SweepSource {
  Q_OBJECT
 public:
  explicit SweepRunner(const QString& databasePath, QObject* parent = nullptr);
  ~SweepRunner() override;

  // False, with *error set, when the CLI cannot be found or a sweep already runs.
  bool start(const QString& sweepFile, const SweepRunOptions& options, QString* error);
  void stop();
  bool isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }
 private:
  void readOutput();
  void poll();
  QString databasePath_;
  QProcess* process_ = nullptr;
  QTimer timer_;
  QByteArray pending_;
};

}  // namespace plab::ui
