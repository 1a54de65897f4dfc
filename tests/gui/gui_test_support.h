#pragma once
// Shared set-up for the GUI suites: a main window on a fresh run store in a temporary
// folder, and the default experiment (experiments/spirals.json) made short.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/app_paths.h"
#include "common/app_resources.h"
#include "editor/experiment_document.h"
#include "common/main_window.h"

namespace plab::ui::test {

inline std::unique_ptr<MainWindow> makeWindow(const QTemporaryDir& dir, const QString& experiment = {}) {
  initResources();
  MainWindowOptions options;
  options.databasePath = dir.filePath(QStringLiteral("runs.sqlite"));
  options.experimentsDir = experimentsDir();
  options.initialExperiment = experiment;
  auto window = std::make_unique<MainWindow>(options);
  window->setInteractive(false);
  return window;
}

// The default experiment with a length in steps, so a run takes a second or two.
inline nlohmann::json shortExperiment(MainWindow& window, std::int64_t steps) {
  nlohmann::json j = window.document()->json();
  j.erase("epochs");
  j["steps"] = steps;
  j["stats_interval"] = 10;
  j["eval_interval"] = std::max<std::int64_t>(1, steps / 4);
  return j;
}

// The precisionlab-cli the window under test runs as its worker (workerExecutable():
// $PLAB_CLI, which ctest sets, else the binary in the build tree), so that a suite
// started by hand drives the same CLI as its window instead of starting "".
inline QString cliPath() { return workerExecutable(); }

// The precisionlab GUI binary, for its headless commands (report): $PLAB_GUI_APP,
// which ctest sets, else the one this build made (PLAB_GUI_APP_PATH, CMakeLists.txt).
inline QString guiAppPath() {
  const QString env = qEnvironmentVariable("PLAB_GUI_APP");
  return env.isEmpty() ? QStringLiteral(PLAB_GUI_APP_PATH) : env;
}

inline QByteArray head(const QString& path, int n) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.read(n);
}

}  // namespace plab::ui::test
