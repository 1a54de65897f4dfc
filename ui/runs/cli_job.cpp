#include "runs/cli_job.h"

#include <QDir>

#include "common/app_paths.h"

namespace plab::ui {

CliJob::CliJob(QObject* parent) : QObject(parent) {}

CliJob::~CliJob() {
  if (isRunning()) {
    process_->kill();
    process_->waitForFinished(2000);
  }
}

bool CliJob::start(const QString& command, const nlohmann::json& experiment, const QStringList& options, QString* error) {
  if (isRunning()) {
    *error = tr("precisionlab-cli %1 is already running").arg(command_);
    return false;
  }
  const QString cli = workerExecutable();
  if (cli.isEmpty()) {
    *error = tr("precisionlab-cli was not found next to the app; set PLAB_CLI to its path");
    return false;
  }
  // The CLI reads experiment files; hand it the edited document as one.
  // In the temporary folder: a bare template would put it in the working directory,
  // the user's folder or a checkout.
  file_ = std::make_unique<QTemporaryFile>(QDir::temp().filePath(QStringLiteral("precisionlab-%1-XXXXXX.json").arg(command)));
  const std::string text = experiment.dump(2);
  if (!file_->open() || file_->write(text.data(), qint64(text.size())) < 0 || !file_->flush()) {
    *error = tr("cannot write a temporary experiment file: %1").arg(file_->errorString());
    return false;
  }
  command_ = command;
  delete process_;
  process_ = new QProcess(this);
  connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
    const QByteArray out = process_->readAllStandardOutput();
    const QString err = QString::fromUtf8(process_->readAllStandardError()).trimmed();
    const bool ok = status == QProcess::NormalExit && code == 0;
    emit finished(ok, out, ok ? QString() : tr("%1 failed (exit %2): %3").arg(command_).arg(code).arg(err.section(QLatin1Char('\n'), -1)));
  });
  process_->start(cli, QStringList{command, file_->fileName()} + options);
  return true;
}

}  // namespace plab::ui
