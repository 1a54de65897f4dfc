#pragma once
// Driving the real precisionlab-cli binary (PLAB_CLI_PATH, set by CMake) from tests:
// experiment files in a temporary folder, a process with its exit code and output.
#include <QByteArray>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QThread>

#include <fstream>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace plab::test {

inline QString cliPath() { return QStringLiteral(PLAB_CLI_PATH); }

// A two-spirals experiment small enough to train in a fraction of a second.
inline nlohmann::json tinySpirals() {
  using nlohmann::json;
  return json{
      {"title", "cli test"},
      {"seed", 3},
      {"dataset", {{"name", "spirals"}, {"train_size", 512}, {"test_size", 128}}},
      {"network",
       {{"layers", json::array({{{"type", "linear"}, {"out", 32}}, {{"type", "relu"}}, {{"type", "linear"}, {"out", 2}}})},
        {"loss", "cross_entropy"}}},
      {"optimizer", {{"type", "adam"}, {"lr", 0.01}}},
      {"batch_size", 32},
      {"epochs", 2},
      {"stats_interval", 8},
  };
}

// The same, running for a long time (until a test stops it).
inline nlohmann::json endlessSpirals() {
  nlohmann::json j = tinySpirals();
  j.erase("epochs");
  j["steps"] = 10000000;
  return j;
}

inline QString writeFile(const QString& path, const QByteArray& content) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) qFatal("cannot write %s", qPrintable(path));
  f.write(content);
  return path;
}

// A JSON file's contents (a summary, a stored experiment).
inline nlohmann::json readJsonFile(const QString& path) {
  std::ifstream in(path.toStdString());
  return nlohmann::json::parse(in);
}

inline QString writeExperiment(const QDir& dir, const QString& name, const nlohmann::json& j) {
  return writeFile(dir.filePath(name), QByteArray::fromStdString(j.dump(2)));
}

struct CliResult {
  int exitCode = -1;
  QProcess::ExitStatus exitStatus = QProcess::NormalExit;
  QString out, err;
  QString describe() const {
    return QString("exit %1\n--- stdout ---\n%2\n--- stderr ---\n%3").arg(exitCode).arg(out, err);
  }
};

inline CliResult runCli(const QStringList& args, int timeoutMs = 60000,
                        const std::function<void(QProcess&)>& configure = {}) {
  QProcess p;
  if (configure) configure(p);
  p.start(cliPath(), args);
  CliResult r;
  if (!p.waitForStarted(10000)) qFatal("cannot start %s", qPrintable(cliPath()));
  if (!p.waitForFinished(timeoutMs)) {
    p.kill();
    p.waitForFinished();
  }
  r.exitCode = p.exitCode();
  r.exitStatus = p.exitStatus();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

// Polls `ready` every 50 ms until it holds or timeoutMs passes (no blind sleeps).
inline bool waitUntil(const std::function<bool()>& ready, int timeoutMs = 20000) {
  QElapsedTimer clock;
  clock.start();
  while (clock.elapsed() < timeoutMs) {
    if (ready()) return true;
    QThread::msleep(50);
  }
  return ready();
}

}  // namespace plab::test
