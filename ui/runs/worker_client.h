#pragma once
// Runs one experiment in `precisionlab-cli worker` (a child process) and turns its
// JSON-lines events (engine/protocol, docs/protocol.md) into a RunData. The GUI thread
// only parses the lines (the worker batches them to ~30 a second); the worker trains
// and writes the store. A worker that dies leaves the run marked failed, with the
// worker's last message, and the GUI untouched.
#include <QObject>
#include <QProcess>
#include <QStringList>
#include <nlohmann/json.hpp>

#include "runs/run_data.h"

namespace plab::ui {

class WorkerClient : public QObject {
  Q_OBJECT
 public:
  explicit WorkerClient(QObject* parent = nullptr);
  ~WorkerClient() override;

  // Starts a worker for experiment, storing into databasePath. False (and error())
  // when the worker binary cannot be found or started.
  bool start(const nlohmann::json& experiment, const QString& databasePath);
  // ssh://...: the next runs train there, through a local relay worker that stores them
  // here (docs/remote.md); "" trains here.
  void setRemote(const QString& address) { remote_ = address; }
  QString remote() const { return remote_; }
  void pause();
  void resume();
  // At most this many steps a second (0: full speed), for this run and the next ones.
  void setPace(int stepsPerSecond);
  int pace() const { return pace_; }
  // Asks the worker to finish the run as `cancelled` (it flushes the store first).
  void stop();
  // Stops and waits up to timeoutMs for a clean exit, then kills. For closing the app.
  void stopAndWait(int timeoutMs);

  // The worker process exists (it may still be exiting after its run ended).
  bool isRunning() const;
  // A run is in progress: what Start/Stop and closing the window care about.
  bool isBusy() const { return isRunning() && run_ && run_->isLive(); }
  bool isPaused() const { return paused_; }
  RunDataPtr run() const { return run_; }
  QString error() const { return error_; }
  qint64 processId() const;
  QString workerPath() const { return workerPath_; }
  // The worker's last messages (log entries, errors, stderr), newest last.
  QStringList lastMessages() const { return messages_; }

 signals:
  void runStarted(qint64 runId);
  void dataAppended();
  void progressChanged();
  void message(const QString& text);
  void runEnded(const QString& status);

 private:
  void readEvents();
  void readErrors();
  void handleLine(const QByteArray& line);
  void onFinished(int exitCode, QProcess::ExitStatus status);
  void send(const std::string& line);
  void remember(const QString& text);
  void endRun(const QString& status, const QString& error);

  QProcess* process_ = nullptr;
  RunDataPtr run_;
  QByteArray pending_;
  QString workerPath_;
  QString remote_;
  QString error_;
  QStringList messages_;
  bool paused_ = false;
  int pace_ = 0;
  bool finishedSeen_ = false;
};

}  // namespace plab::ui
