#pragma once
// What `run`, `worker` and `bench` share: loading an experiment and its dataset with
// the exit codes of the CLI, choosing the backend, the stop flag that SIGINT/SIGTERM
// set, and the progress line.
#include <cstdint>
#include <memory>
#include <initializer_list>
#include <string>

#include "backend/backend.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "train/run_control.h"
#include "train/run_observer.h"
#include "train/store_recorder.h"

namespace plab::cli {

// Exit codes of run/bench (documented in `run --help`).
inline constexpr int kExitFailed = 1;          // the run ended failed (e.g. a NaN loss)
inline constexpr int kExitBadExperiment = 2;   // the file: JSON, a field, a shape
inline constexpr int kExitDataset = 3;         // the dataset could not be made or read
inline constexpr int kExitStore = 4;           // the database could not be opened or written
inline constexpr int kExitBackend = 5;         // the requested backend is not usable
inline constexpr int kExitRemote = 6;          // a remote worker could not be reached, or its connection broke (docs/remote.md)

// The stop flag of the run in progress. SIGINT and SIGTERM set stopRequested (and
// remember which signal came); nothing else happens in the handler.
RunControl& processRunControl();
void installStopSignalHandlers();
int stopSignal();  // 0, SIGINT or SIGTERM: the first stop signal received
// 128 + signal for a run cancelled by a signal, as shells report it (130, 143).
int exitCodeForCancel();

// Parses the file; throws CliExit(kExitBadExperiment) with the field-naming message.
Experiment loadExperimentOrExit(const std::string& path);
// Loads the dataset and checks the network's shapes against it; throws CliExit, its
// message starting with `source` (the experiment's file) when given.
Dataset loadDatasetOrExit(const Experiment& experiment, const std::string& source = "");
// Refuses a network whose training cannot fit in the backend's memory
// (model/memory_estimate.h): CliExit(kExitBadExperiment) naming the layer and the figure.
void requireMemoryOrExit(const Experiment& experiment, const Dataset& data, const Backend& backend);
// Opens the run store (db, or the user's default store when empty) for one run;
// CliExit(kExitStore) naming the file when it cannot.
std::unique_ptr<StoreRecorder> openStoreOrExit(const std::string& db);
// A run trained and stored: what `run` and `advise` share.
struct StoredRun {
  RunOutcome outcome;
  std::int64_t runId = 0;
  std::string storePath;
  BackendInfo backend;
};
// Loads the dataset, makes the backend (`backend`: "" takes the file's), checks memory,
// opens the store (`db`, "" for the user's) and trains `experiment` into it, with the
// progress line on stdout when `progress` and the `extra` observers beside the store.
// A failure of the store ends with CliExit(kExitStore), any other exception with
// CliExit(kExitFailed), after marking the run failed; a failed or cancelled run is
// returned as such. `source` (the experiment's file) starts dataset messages.
StoredRun trainAndStore(const Experiment& experiment, const std::string& backend, const std::string& db,
                        std::initializer_list<RunObserver*> extra, bool progress, const std::string& source = "");
// which: "" takes the file's "backend"; prints the registry's note to stderr.
std::unique_ptr<Backend> createBackendOrExit(const std::string& which, const Experiment& experiment,
                                             std::string& note);

// One line of progress: rewritten in place (\r) on a terminal, else a plain line at
// most every few seconds; epoch evaluations, adaptive precision's promotions and the
// end always get their own line.
class ProgressLine final : public RunObserver {
 public:
  explicit ProgressLine(bool terminal);
  void onStarted(const RunStartInfo& info) override;
  void onEpoch(const EpochMetrics& e) override;
  void onPromotion(const PrecisionPromotion& p) override;
  void onProgress(const RunProgress& p) override;
  void onFinished(const RunOutcome& o) override;

 private:
  void endLine();
  bool terminal_;
  bool lineOpen_ = false;
  double lastPlainLine_ = -1e9;
  std::int32_t epochs_ = 0;
};

}  // namespace plab::cli
