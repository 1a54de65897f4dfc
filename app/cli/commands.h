#pragma once
// Each subcommand of precisionlab-cli lives in its own file and adds itself to the
// CLI11 app here. A command's callback throws plab::CliExit to end with a status.
#include <CLI/CLI.hpp>
#include <stdexcept>
#include <string>

namespace plab::cli {

// Ends the program with this exit code after printing message (if any) to stderr.
struct CliExit : std::runtime_error {
  int code;
  CliExit(int c, const std::string& message) : std::runtime_error(message), code(c) {}
};

void addNumbersCommand(CLI::App& app);
void addSelftestCommand(CLI::App& app);
void addRunCommand(CLI::App& app);
void addBenchCommand(CLI::App& app);
void addWorkerCommand(CLI::App& app);
void addRunsCommand(CLI::App& app);
void addExportCommand(CLI::App& app);
void addSweepCommand(CLI::App& app);
void addSchemaCommand(CLI::App& app);
void addCompareCommand(CLI::App& app);
void addAdviseCommand(CLI::App& app);
void addMergeCommand(CLI::App& app);

}  // namespace plab::cli
