// precisionlab-cli compare SWEEP_ID [--db PATH] [--format markdown|csv] [-o FILE]
// The comparison table of a stored sweep (engine/sweep/comparison.h): per variant the
// final train loss, test accuracy, skipped steps, overflows, median step time and
// speed-up, memory by kind and per-layer gradient underflow, plus a lesson's claims.
// The GUI's sweep view exports the same two texts.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "run_support.h"
#include "store/store.h"
#include "sweep/comparison.h"

namespace plab::cli {
namespace {

struct CompareOptions {
  std::int64_t sweepId = 0;
  std::string db;
  std::string format = "markdown";
  std::string output;
};

void writeText(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw CliExit(1, "compare: cannot write " + path + ": " + std::strerror(errno));
  out << text;
  out.flush();
  if (!out) throw CliExit(1, "compare: writing " + path + " failed (disk full?)");
  std::cerr << "wrote " << path << "\n";
}

void runCompare(const CompareOptions& o) {
  const std::string path = o.db.empty() ? defaultDatabasePath() : o.db;
  if (!std::filesystem::exists(path)) throw CliExit(kExitStore, "compare: " + path + ": no such database");
  SweepComparison c;
  try {
    c = compareSweep(path, o.sweepId);
  } catch (const StoreError& e) {
    throw CliExit(kExitStore, std::string("compare: ") + e.what());
  }
  writeText(o.format == "csv" ? comparisonCsv(c) : comparisonMarkdown(c), o.output);
}

}  // namespace

void addCompareCommand(CLI::App& app) {
  auto options = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand("compare", "The comparison table of a stored sweep: accuracy, loss, overflows, "
                                                "speed, memory and gradient underflow per variant, and its claims");
  cmd->add_option("SWEEP_ID", options->sweepId, "the sweep's id (printed by `precisionlab-cli sweep`)")->required();
  cmd->add_option("--db", options->db, "SQLite run store (default: $XDG_DATA_HOME/precisionlab/runs.sqlite)");
  cmd->add_option("--format", options->format, "markdown (default) or csv")
      ->check(CLI::IsMember({"markdown", "csv"}));
  cmd->add_option("-o,--output", options->output, "Output file (default: stdout)");
  cmd->callback([options] { runCompare(*options); });
}

}  // namespace plab::cli
