#include "common/app_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

#include "store/store.h"

namespace plab::ui {
namespace {

QString binaryDir() {
  return QCoreApplication::instance() ? QCoreApplication::applicationDirPath() : QDir::currentPath();
}

bool isExecutableFile(const QString& path) {
  const QFileInfo info(path);
  return info.isFile() && info.isExecutable();
}

}  // namespace

QString experimentsDir() {
  const QString env = qEnvironmentVariable("PLAB_EXPERIMENTS_DIR");
  if (!env.isEmpty()) return env;
  // build/app/gui/precisionlab -> the repository's experiments/ is 3 levels up; an
  // installed layout (bin/ beside share/precisionlab/experiments) is covered too.
  QDir dir(binaryDir());
  for (int up = 0; up < 5; ++up) {
    for (const QString& candidate : {QStringLiteral("experiments"), QStringLiteral("share/precisionlab/experiments")}) {
      if (QFileInfo(dir.filePath(candidate)).isDir()) return QDir(dir.filePath(candidate)).absolutePath();
    }
    if (!dir.cdUp()) break;
  }
  return QStringLiteral(PLAB_SOURCE_DIR "/experiments");
}

QString workerExecutable() {
  const QString env = qEnvironmentVariable("PLAB_CLI");
  if (!env.isEmpty() && isExecutableFile(env)) return env;
  const QDir dir(binaryDir());
  for (const QString& candidate : {QStringLiteral("precisionlab-cli"), QStringLiteral("../cli/precisionlab-cli"),
                                   QStringLiteral("../app/cli/precisionlab-cli"),
                                   QStringLiteral("../../app/cli/precisionlab-cli")}) {
    const QString path = QDir::cleanPath(dir.filePath(candidate));
    if (isExecutableFile(path)) return path;
  }
  return QStandardPaths::findExecutable(QStringLiteral("precisionlab-cli"));
}

QString defaultDatabaseFile() {
  try {
    return QString::fromStdString(defaultDatabasePath());
  } catch (const std::exception&) {
    return QDir::home().filePath(QStringLiteral(".local/share/precisionlab/runs.sqlite"));
  }
}

const char* const kLastExportFolder = "dialogs/lastExportFolder";

QString exportDialogStart(const QString& fileName) {
  const QString folder = QSettings().value(QLatin1String(kLastExportFolder)).toString();
  return folder.isEmpty() || !QFileInfo(folder).isDir() ? fileName : QDir(folder).filePath(fileName);
}

void rememberExportFolder(const QString& chosenPath) {
  if (!chosenPath.isEmpty()) QSettings().setValue(QLatin1String(kLastExportFolder), QFileInfo(chosenPath).absolutePath());
}

}  // namespace plab::ui
