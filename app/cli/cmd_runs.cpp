// precisionlab-cli runs [--db PATH] [--json]
// Lists the runs of a store, newest first: a table for people, --json for scripts.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "protocol/records_json.h"
#include "store/run_export.h"
#include "store/store.h"

namespace plab::cli {
namespace {

struct RunsOptions {
  std::string db;
  bool json = false;
};

std::string cut(const std::string& text, std::size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

std::string number(double v, const char* format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void printTable(const std::vector<RunInfo>& runs, const std::string& path) {
  if (runs.empty()) {
    std::cout << "No runs in " << path << "\n";
    return;
  }
  std::printf("%5s  %-11s  %-19s  %-28s  %-13s  %-4s  %8s  %10s  %9s  %5s  %8s\n", "ID", "STATUS", "CREATED (UTC)",
              "TITLE", "DATASET", "BACK", "STEPS", "LAST LOSS", "SCALE", "OVFL", "TEST ACC");
  for (const RunInfo& r : runs) {
    const std::string created = r.createdAt.substr(0, 19);
    const std::string accuracy = r.testAccuracy ? number(*r.testAccuracy, "%.4f") : "-";
    const std::string loss = r.stepCount ? number(r.lastLoss, "%.4g") : "-";
    const std::string scale = r.stepCount ? number(r.lastLossScale, "%.6g") : "-";
    std::printf("%5lld  %-11s  %-19s  %-28s  %-13s  %-4s  %8lld  %10s  %9s  %5lld  %8s\n", (long long)r.id,
                protocol::runStatusText(r.status), created.c_str(), cut(r.name.empty() ? r.title : r.name, 28).c_str(),
                cut(r.datasetName, 13).c_str(), cut(r.backend, 4).c_str(), (long long)r.lastStep, loss.c_str(),
                scale.c_str(), (long long)r.overflowCount, accuracy.c_str());
  }
}

void runRuns(const RunsOptions& o) {
  // The default store is created on first use; a --db that does not exist is a typo.
  const std::string path = o.db.empty() ? defaultDatabasePath() : o.db;
  if (!o.db.empty() && !std::filesystem::exists(path)) throw CliExit(1, "runs: " + path + ": no such database");
  RunReader reader(path);
  const auto runs = reader.listRuns();
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : runs) list.push_back(runInfoToJson(r));
    std::cout << list.dump(2) << "\n";
    return;
  }
  printTable(runs, path);
  for (auto id : reader.interruptedOnOpen())
    std::cerr << "precisionlab-cli: run " << id << " was left running by a process that is gone; marked interrupted\n";
}

}  // namespace

void addRunsCommand(CLI::App& app) {
  auto options = std::make_shared<RunsOptions>();
  CLI::App* cmd = app.add_subcommand("runs", "List the runs stored in a database, newest first");
  cmd->add_option("--db", options->db, "SQLite run store (default: $XDG_DATA_HOME/precisionlab/runs.sqlite)");
  cmd->add_flag("--json", options->json, "Print a JSON array instead of a table");
  cmd->callback([options] { runRuns(*options); });
}

}  // namespace plab::cli
