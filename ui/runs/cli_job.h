#pragma once
// Runs one precisionlab-cli subcommand on the edited experiment, handed to it as a
// temporary file, as a child process: the speed benchmark (`bench`, whose results are
// stored as a run tagged "benchmark") and the precision advisor (`advise`). The owner
// reads the command's output when it finishes.
#include <QObject>
#include <QProcess>
#include <QStringList>
#include <QTemporaryFile>
#include <memory>
#include <nlohmann/json.hpp>

namespace plab::ui {

class CliJob : public QObject {
  Q_OBJECT
 public:
  explicit CliJob(QObject* parent = nullptr);
  ~CliJob() override;
  // `precisionlab-cli COMMAND <experiment file> OPTIONS...`; false with *error when it
  // cannot start (one at a time, the CLI not found, the file not written).
  bool start(const QString& command, const nlohmann::json& experiment, const QStringList& options, QString* error);
  bool isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }

 signals:
  // ok: exit status 0. error: the last line the command wrote to stderr, with its exit
  // status, when not ok.
  void finished(bool ok, const QByteArray& output, const QString& error);

 private:
  QString command_;
  QProcess* process_ = nullptr;
  std::unique_ptr<QTemporaryFile> file_;
};

}  // namespace plab::ui
