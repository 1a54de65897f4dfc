// precisionlab-cli merge DIR [--db PATH]
// Brings the runs of a sweep submitted with `sweep --slurm` (slurm_sweep.h) into one
// store: the sweep with its variants, made once, and each finished task's run copied
// from DIR/runs/NNN.sqlite (store/run_import.h) and linked to its variant, as a local
// sweep links its runs. Merging again adds only tasks that finished since: a variant
// that has its run already is left alone (docs/remote.md, "Merge"). Exit status 4 when
// a task's store could not be read or copied (the others are merged all the same).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "protocol/worker_address.h"
#include "run_support.h"
#include "slurm_sweep.h"
#include "store/run_import.h"
#include "store/store.h"
#include "store/sweep_store.h"

namespace plab::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct MergeOptions {
  std::string dir;
  std::string db;
};

json readManifest(const fs::path& dir) {
  const fs::path path = dir / kSlurmManifest;
  std::ifstream in(path);
  if (!in)
    throw CliExit(kExitBadExperiment, dir.string() + ": no " + kSlurmManifest +
                                          " (not a folder written by `precisionlab-cli sweep --slurm`)");
  json m;
  try {
    m = json::parse(in);
  } catch (const std::exception& e) {
    throw CliExit(kExitBadExperiment, path.string() + ": not valid JSON: " + e.what());
  }
  const auto require = [&](const char* key, bool ok) {
    if (!ok) throw CliExit(kExitBadExperiment, path.string() + ": " + key + ": missing or of the wrong type");
  };
  require("format", m.contains("format") && m["format"] == kSlurmManifestFormat);
  require("version", m.contains("version") && m["version"] == kSlurmManifestVersion);
  for (const char* key : {"id", "title", "source_name", "source"}) require(key, m.contains(key) && m[key].is_string());
  require("options", m.contains("options") && m["options"].is_object());
  require("variants", m.contains("variants") && m["variants"].is_array() && !m["variants"].empty());
  for (const json& v : m["variants"]) {
    require("variants[].name", v.contains("name") && v["name"].is_string());
    require("variants[].db", v.contains("db") && v["db"].is_string());
    require("variants[].experiment", v.contains("experiment") && v["experiment"].is_string());
  }
  return m;
}

// The sweep this folder became in the store, found by the manifest's id; made (with
// its variants, no runs) the first time.
std::int64_t sweepFor(SweepStore& store, const fs::path& dir, const json& m) {
  for (const SweepRow& row : store.listSweeps()) {
    if (row.options.contains("slurm") && row.options["slurm"].value("id", "") == m["id"].get<std::string>())
      return row.id;
  }
  json options = m["options"];
  options["slurm"] = {{"id", m["id"]}, {"dir", dir.string()}, {"job_id", m.value("job_id", "")}};
  std::vector<SweepVariantRow> rows;
  for (std::size_t i = 0; i < m["variants"].size(); ++i) {
    const json& v = m["variants"][i];
    const fs::path experiment = dir / v["experiment"].get<std::string>();
    std::ifstream in(experiment);
    if (!in) throw CliExit(kExitBadExperiment, experiment.string() + ": missing (the folder is incomplete)");
    rows.push_back({int(i), v["name"].get<std::string>(), json::parse(in), std::nullopt, std::nullopt});
  }
  return store.createSweep(m["title"], m["source_name"], m["source"], options, rows);
}

// What a task without a finished run is doing, from its store and its log.
// The runs in a task's store. A task that has just started creates its store while we
// look: between its first and last schema step a reader sees a store that is not one
// yet. That lasts milliseconds, so a failed read is tried again a few times before the
// file counts as unreadable (a task killed mid-write, random bytes).
std::vector<RunInfo> taskRuns(const fs::path& taskDb, std::unique_ptr<RunReader>& reader) {
  constexpr int kTries = 10;
  for (int attempt = 1;; ++attempt) {
    try {
      reader = std::make_unique<RunReader>(taskDb.string(), StoreOptions{.readOnly = true});
      return reader->listRuns();
    } catch (const StoreError&) {
      if (attempt == kTries) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::string taskState(const fs::path& dir, const json& v, const fs::path& db) {
  if (!fs::exists(db)) {
    const fs::path log = dir / v.value("log", std::string());
    std::ifstream in(log);
    if (!in) return "not started yet (no " + db.filename().string() + ", no log)";
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string last = protocol::lastLine(text);
    return "no run stored; its log " + log.string() + (last.empty() ? " is empty" : " ends: " + last);
  }
  return "";
}

int runMerge(const MergeOptions& o) {
  const fs::path dir = fs::absolute(o.dir).lexically_normal();
  const json m = readManifest(dir);
  const std::string db = o.db.empty() ? defaultDatabasePath() : o.db;
  std::unique_ptr<SweepStore> store;
  std::unique_ptr<RunReader> target;
  try {
    store = std::make_unique<SweepStore>(db);
    target = std::make_unique<RunReader>(db);
  } catch (const std::exception& e) {
    throw CliExit(kExitStore, std::string("database: ") + e.what());
  }
  const std::int64_t sweepId = sweepFor(*store, dir, m);
  const SweepRow row = *store->getSweep(sweepId);
  const std::size_t n = m["variants"].size();
  std::cout << "sweep " << sweepId << " \"" << m["title"].get<std::string>() << "\" (Slurm job "
            << m.value("job_id", std::string("?")) << "), " << n << " tasks, store " << db << "\n";
  int merged = 0, done = 0, unreadable = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const json& v = m["variants"][i];
    const std::string name = v["name"];
    std::cout << "task " << i << " \"" << name << "\": ";
    const SweepVariantRow& stored = row.variants[i];
    if (stored.runId) {
      ++done;
      std::cout << "merged before (run " << *stored.runId << ")\n";
      continue;
    }
    const fs::path taskDb = dir / v["db"].get<std::string>();
    if (const std::string state = taskState(dir, v, taskDb); !state.empty()) {
      std::cout << state << "\n";
      continue;
    }
    try {
      std::unique_ptr<RunReader> reader;
      const std::vector<RunInfo> runs = taskRuns(taskDb, reader);
      RunReader& task = *reader;
      if (runs.empty()) {
        std::cout << "its store holds no run yet\n";
        continue;
      }
      const RunInfo& run = runs.front();  // newest: a requeued task's latest try
      if (run.status == RunStatus::running) {
        std::cout << "running (step " << run.lastStep << "; a task killed by Slurm stays so: see "
                  << (dir / v.value("log", std::string())).string() << ")\n";
        continue;
      }
      const std::int64_t copy = copyRun(task, run.id, db);
      store->setVariantRun(sweepId, int(i), copy);
      target->renameRun(copy, name + " · sweep " + std::to_string(sweepId));
      ++merged;
      ++done;
      std::cout << "merged as run " << copy << " (" << toString(run.status) << ")\n";
    } catch (const StoreError& e) {
      // One task's file (a task killed mid-write, say) does not stop the others.
      std::cout << "cannot be merged: " << e.what() << "\n";
      ++unreadable;
    }
  }
  std::cout << merged << " new run" << (merged == 1 ? "" : "s") << " merged; " << done << " of " << n
            << " tasks in the store";
  if (done == int(n)) std::cout << "; compare: precisionlab-cli compare " << sweepId << " --db " << db;
  std::cout << "\n";
  return unreadable > 0 ? kExitStore : 0;
}

}  // namespace

void addMergeCommand(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "merge", "Bring the finished tasks of a sweep submitted with `sweep --slurm` into one store, as a sweep "
               "(again: only what finished since)");
  cmd->add_option("DIR", options->dir, "the folder `sweep --slurm` wrote (its --dir)")->required();
  cmd->add_option("--db", options->db, "SQLite run store (default: the user's data folder)");
  cmd->callback([options] {
    const int code = runMerge(*options);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
