// precisionlab-cli run FILE: trains one experiment headless, writes the run to the
// SQLite store and prints a progress line (docs/architecture.md, "Process model": the same
// engine as the worker, without the pipe). With --worker ssh://..., the run trains on
// that machine through a relay worker and is stored here (remote_run.cpp, docs/remote.md).
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "remote_run.h"
#include "run_support.h"
#include "store/store.h"
#include "train/run_summary.h"
#include "train/store_recorder.h"
#include "train/trainer.h"

namespace plab::cli {

namespace {

struct RunOptions {
  std::string file;
  std::string db;
  std::string summaryJson;
  std::string backend;
  std::string worker;
};

void writeSummary(const std::string& path, const nlohmann::json& summary) {
  std::ofstream out(path);
  out << summary.dump(2) << "\n";
  if (!out) throw CliExit(kExitFailed, "--summary-json: cannot write " + path);
}

int runExperiment(const RunOptions& o) {
  if (!o.worker.empty()) return runOnRemoteWorker(o.file, o.worker, o.backend, o.db, o.summaryJson);
  const StoredRun run = trainAndStore(loadExperimentOrExit(o.file), o.backend, o.db, {}, true, o.file);
  const RunOutcome& outcome = run.outcome;
  const std::int64_t runId = run.runId;
  std::cout << "run " << runId << " stored in " << run.storePath << "\n";
  if (!o.summaryJson.empty()) writeSummary(o.summaryJson, runSummaryJson(outcome, runId, run.backend));
  switch (outcome.status) {
    case RunStatus::completed: return 0;
    case RunStatus::cancelled: return exitCodeForCancel();
    case RunStatus::running:
    case RunStatus::failed:
    case RunStatus::interrupted: break;  // a run that did not finish: reported below
  }
  std::cerr << "precisionlab-cli: run " << runId << " " << toString(outcome.status) << ": " << outcome.error << "\n";
  return kExitFailed;
}

}  // namespace

void addRunCommand(CLI::App& app) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Train one experiment file headless and store the run");
  cmd->footer(
      "Exit codes: 0 completed, 1 the run failed, 2 bad experiment file, 3 dataset error, 4 database error,\n"
      "5 backend not usable, 6 the --worker machine cannot be reached or the connection broke (the run is stored\n"
      "as interrupted), 130/143 cancelled by SIGINT/SIGTERM (the run is stored as cancelled).");
  cmd->add_option("FILE", options->file, "experiment file (JSON)")->required();
  cmd->add_option("--db", options->db, "SQLite run store (default: " + std::string("the user's data folder") + ")");
  cmd->add_option("--summary-json", options->summaryJson, "write a JSON summary of the run to this file");
  cmd->add_option("--backend", options->backend, "cpu, cuda or auto (default: the file's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--worker", options->worker,
                  "ssh://[user@]host[:port][/path/to/precisionlab-cli]: train on that machine, store the run here "
                  "(docs/remote.md)");
  cmd->callback([options] {
    const int code = runExperiment(*options);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
