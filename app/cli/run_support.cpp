#include "run_support.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include "backend/registry.h"
#include "commands.h"
#include "model/memory_estimate.h"
#include "model/network.h"
#include "store/store.h"
#include "train/trainer.h"

namespace plab::cli {

namespace {
std::atomic<int> gStopSignal{0};
RunControl gRunControl;

extern "C" void onStopSignal(int sig) {
  int none = 0;
  gStopSignal.compare_exchange_strong(none, sig);
  gRunControl.stopRequested.store(true);
}

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

RunControl& processRunControl() { return gRunControl; }

void installStopSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stopSignal() { return gStopSignal.load(); }

int exitCodeForCancel() {
  const int sig = stopSignal();
  return sig ? 128 + sig : 130;
}

Experiment loadExperimentOrExit(const std::string& path) {
  try {
    return loadExperimentFile(path);
  } catch (const ExperimentError& e) {
    throw CliExit(kExitBadExperiment, e.what());
  }
}

std::unique_ptr<StoreRecorder> openStoreOrExit(const std::string& db) {
  const std::string path = db.empty() ? defaultDatabasePath() : db;
  try {
    return std::make_unique<StoreRecorder>(path);
  } catch (const std::exception& e) {
    throw CliExit(kExitStore, std::string("database: ") + e.what());
  }
}

StoredRun trainAndStore(const Experiment& experiment, const std::string& backendChoice, const std::string& db,
                        std::initializer_list<RunObserver*> extra, bool progress, const std::string& source) {
  const Dataset data = loadDatasetOrExit(experiment, source);
  std::string note;
  auto backend = createBackendOrExit(backendChoice, experiment, note);
  requireMemoryOrExit(experiment, data, *backend);
  auto store = openStoreOrExit(db);

  installStopSignalHandlers();
  ProgressLine line(isatty(STDOUT_FILENO) != 0);
  ObserverList observers;
  observers.add(store.get());
  for (RunObserver* o : extra) observers.add(o);
  if (progress) observers.add(&line);

  StoredRun out;
  try {
    Trainer trainer(experiment, data, *backend, observers, processRunControl(), note);
    out.outcome = trainer.run();
  } catch (const CliExit&) {
    throw;
  } catch (const StoreError& e) {
    // The store itself failed (read-only file, full disk): say so and keep what was written.
    try { store->markFailed(e.what()); } catch (const std::exception&) {}
    throw CliExit(kExitStore, std::string("database: ") + e.what());
  } catch (const std::exception& e) {
    try { store->markFailed(e.what()); } catch (const std::exception&) {}
    throw CliExit(kExitFailed, e.what());
  }
  out.runId = store->runId();
  out.storePath = store->writer().path();
  out.backend = backend->info();
  return out;
}

Dataset loadDatasetOrExit(const Experiment& experiment, const std::string& source) {
  Dataset data;
  try {
    data = loadDataset(experiment.dataset, experiment.seed);
  } catch (const DatasetError& e) {
    // FILE: dataset.KEY: what is wrong, as every other key's message (the error names
    // its key already; without a file it says that it is about the dataset).
    const std::string what = e.what();
    const bool named = what.rfind("dataset", 0) == 0;
    throw CliExit(kExitDataset, (source.empty() ? std::string(named ? "" : "dataset: ") : source + ": ") + what);
  }
  try {
    inferShapesForDataset(experiment.network, data);
  } catch (const ShapeError& e) {
    throw CliExit(kExitBadExperiment, e.what());  // names the layer and both shapes
  }
  return data;
}

void requireMemoryOrExit(const Experiment& experiment, const Dataset& data, const Backend& backend) {
  try {
    requireTrainingMemory(experiment, data, backend.info());
  } catch (const ShapeError& e) {
    throw CliExit(kExitBadExperiment, e.what());
  }
}

std::unique_ptr<Backend> createBackendOrExit(const std::string& which, const Experiment& experiment,
                                             std::string& note) {
  const std::string name = which.empty() ? experiment.backend : which;
  try {
    auto backend = createBackend(name, note);
    if (!note.empty()) std::cerr << "backend: " << note << "\n";
    return backend;
  } catch (const std::exception& e) {
    throw CliExit(kExitBackend, std::string("backend \"") + name + "\": " + e.what());
  }
}

ProgressLine::ProgressLine(bool terminal) : terminal_(terminal) {}

void ProgressLine::endLine() {
  if (lineOpen_) std::cout << "\n";
  lineOpen_ = false;
}

void ProgressLine::onStarted(const RunStartInfo& info) {
  epochs_ = info.epochs;
  std::cout << (info.title.empty() ? "run" : info.title) << ": " << info.totalSteps << " steps on "
            << info.backend.name << " (" << info.backend.device << ")\n";
  std::cout.flush();
}

void ProgressLine::onEpoch(const EpochMetrics& e) {
  endLine();
  char line[256];
  std::snprintf(line, sizeof line, "epoch %d (step %lld): train loss %.4f", e.epoch + 1, (long long)e.step,
                e.trainLoss);
  std::cout << line;
  if (e.trainAccuracy >= 0) std::cout << ", train accuracy " << std::fixed << std::setprecision(4) << e.trainAccuracy;
  std::snprintf(line, sizeof line, ", test loss %.4f", e.testLoss);
  std::cout << line;
  if (e.testAccuracy >= 0) std::cout << ", test accuracy " << std::fixed << std::setprecision(4) << e.testAccuracy;
  std::cout << std::defaultfloat << "\n";
  std::cout.flush();
}

void ProgressLine::onPromotion(const PrecisionPromotion& p) {
  endLine();
  std::cout << "step " << p.step << ": " << p.layerName << " promoted " << p.from << " -> " << p.to << " ("
            << p.reason << ")\n";
  std::cout.flush();
}

void ProgressLine::onProgress(const RunProgress& p) {
  // Plain output (a log, a pipe) gets a line every few seconds, not ten a second.
  static constexpr double kPlainInterval = 2.0;
  const double now = nowSeconds();
  if (!terminal_ && !p.paused && now - lastPlainLine_ < kPlainInterval) return;
  lastPlainLine_ = now;
  char line[256];
  const int eta = int(std::lround(p.etaSeconds));
  std::snprintf(line, sizeof line, "step %lld/%lld  epoch %d  loss %.4g  scale %g  %.0f steps/s  eta %d:%02d%s",
                (long long)p.step, (long long)p.totalSteps, p.epoch + 1, p.lastLoss, p.lossScale, p.stepsPerSecond,
                eta / 60, eta % 60, p.paused ? "  (paused)" : "");
  if (terminal_) {
    std::cout << "\r" << line << "\x1b[K";
    lineOpen_ = true;
  } else {
    std::cout << line << "\n";
  }
  std::cout.flush();
}

void ProgressLine::onFinished(const RunOutcome& o) {
  endLine();
  std::cout << "finished: " << toString(o.status) << " after " << o.steps << " steps (" << o.skippedSteps
            << " skipped, " << o.overflowEvents << " overflow events, final loss scale " << o.finalLossScale
            << ", median step " << o.medianStepMs << " ms)\n";
  if (!o.promotions.empty()) {
    std::cout << "adaptive precision promoted " << o.promotions.size() << " layer"
              << (o.promotions.size() == 1 ? "" : "s") << ":";
    for (const PrecisionPromotion& p : o.promotions)
      std::cout << " " << p.layerName << " " << p.from << "->" << p.to << " at step " << p.step << ";";
    std::cout << "\n";
  }
  std::cout.flush();
}

}  // namespace plab::cli
