#include "runs/benchmark_runner.h"

#include "common/app_paths.h"

namespace plab::ui {

BenchmarkRunner::BenchmarkRunner(QObject* parent) : QObject(parent) {}

BenchmarkRunner::~BenchmarkRunner() {
  if (isRunning()) {
    process_->kill();
    process_->waitForFinished(2000);
  }
}

bool BenchmarkRunner::start(const nlohmann::json& experiment, const QString& databasePath, int measuredSteps, QString* error) {
  if (isRunning()) {
    *error = tr("A benchmark is already running");
    return false;
  }
  const QString cli = workerExecutable();
  if (cli.isEmpty()) {
    *error = tr("precisionlab-cli was not found next to the app; set PLAB_CLI to its path");
    return false;
  }
  // The CLI reads experiment files; hand it the edited document as one.
  file_ = std::make_unique<QTemporaryFile>(QStringLiteral("precisionlab-bench-XXXXXX.json"));
  const std::string text = experiment.dump(2);
  if (!file_->open() || file_->write(text.data(), qint64(text.size())) < 0 || !file_->flush()) {
    *error = tr("cannot write a temporary experiment file: %1").arg(file_->errorString());
    return false;
  }
  delete process_;
  process_ = new QProcess(this);
  connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
    const QByteArray out = process_->readAllStandardOutput();
    const QString err = QString::fromUtf8(process_->readAllStandardError()).trimmed();
    if (status != QProcess::NormalExit || code != 0) {
      emit finished(0, tr("benchmark failed (exit %1): %2").arg(code).arg(err.section(QLatin1Char('\n'), -1)));
      return;
    }
    const auto j = nlohmann::json::parse(out.toStdString(), nullptr, false);
    const qint64 id = j.is_object() ? j.value("run_id", qint64(0)) : 0;
    emit finished(id, id ? tr("benchmark stored as run #%1").arg(id) : tr("benchmark gave no run id: %1").arg(err));
  });
  process_->start(cli, {QStringLiteral("bench"), file_->fileName(), QStringLiteral("--json"), QStringLiteral("--db"), databasePath,
                        QStringLiteral("--steps"), QString::number(measuredSteps), QStringLiteral("--warmup"), QStringLiteral("5")});
  return true;
}

}  // namespace plab::ui
