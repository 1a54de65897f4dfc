// precisionlab-cli export [--db PATH] --run ID --format csv|json [-o FILE]
// Writes a stored run's metrics through the one exporter, engine/store/run_export.h
// (the GUI's CSV export calls it too); this file chooses where they go.
//
// CSV has two tables: with -o FILE.csv the steps go to FILE.csv and the epoch
// evaluations to FILE.epochs.csv; on stdout the steps table comes first, then a blank
// line, then the epochs table. JSON is one object, to FILE or stdout.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "store/run_export.h"
#include "store/store.h"

namespace plab::cli {
namespace {

struct ExportOptions {
  std::string db;
  std::int64_t runId = 0;
  std::string format;
  std::string output;
};

void exportCsv(const StoredRun& run, const ExportOptions& o) {
  if (o.output.empty() || o.output == "-") {
    writeRunCsv(run.record, std::cout);
    return;
  }
  try {
    writeRunCsvFiles(run.record, o.output);
  } catch (const ExportError& e) {
    throw CliExit(1, std::string("export: ") + e.what());
  }
  std::cerr << "wrote " << o.output << " and " << epochsCsvPath(o.output) << "\n";
}

void exportJson(const StoredRun& run, const ExportOptions& o) {
  const std::string text = runToJson(run.info, run.record).dump(1) + "\n";
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  if (!out) throw CliExit(1, "export: cannot write " + o.output + ": " + std::strerror(errno));
  out << text;
  out.flush();
  if (!out) throw CliExit(1, "export: writing " + o.output + " failed (disk full?)");
  std::cerr << "wrote " << o.output << "\n";
}

void runExport(const ExportOptions& o) {
  const std::string path = o.db.empty() ? defaultDatabasePath() : o.db;
  if (!o.db.empty() && !std::filesystem::exists(path)) throw CliExit(1, "export: " + path + ": no such database");
  // Opened like any reader: read-only when the file is not writable; otherwise an old
  // file is migrated first (a read-only connection cannot read an older schema).
  RunReader reader(path);
  if (!reader.getRun(o.runId)) throw CliExit(1, "export: run " + std::to_string(o.runId) + " not found in " + path);
  const StoredRun run = loadStoredRun(reader, o.runId);
  if (o.format == "csv") exportCsv(run, o);
  else exportJson(run, o);
}

}  // namespace

void addExportCommand(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a stored run's step metrics and epoch evaluations as CSV or JSON");
  cmd->add_option("--db", options->db, "SQLite run store (default: $XDG_DATA_HOME/precisionlab/runs.sqlite)");
  cmd->add_option("--run", options->runId, "Run id (see `precisionlab-cli runs`)")->required();
  cmd->add_option("--format", options->format, "csv or json")->required()->check(CLI::IsMember({"csv", "json"}));
  cmd->add_option("-o,--output", options->output,
                  "Output file (default: stdout). CSV: the epochs go to <name>.epochs.csv beside it");
  cmd->callback([options] { runExport(*options); });
}

}  // namespace plab::cli
