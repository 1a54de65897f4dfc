#pragma once
// Runs the speed benchmark of the current experiment in `precisionlab-cli bench`
// (fp32, tf32, fp16-mixed, bf16-mixed and the file's own assignment), as a child
// process; the results are stored as a run tagged "benchmark" and shown by the speed view.
#include <QObject>
#include <QProcess>
#include <QTemporaryFile>
#include <memory>
#include <nlohmann/json.hpp>

namespace plab::ui {

class BenchmarkRunner : public QObject {
  Q_OBJECT
 public:
  explicit BenchmarkRunner(QObject* parent = nullptr);
  ~BenchmarkRunner() override;
  bool start(const nlohmann::json& experiment, const QString& databasePath, int measuredSteps, QString* error);
  bool isRunning() const { return process_ && process_->state() != QProcess::NotRunning; }

 signals:
  // runId 0 and a message when it failed.
  void finished(qint64 runId, const QString& message);

 private:
  QProcess* process_ = nullptr;
  std::unique_ptr<QTemporaryFile> file_;
};

}  // namespace plab::ui
