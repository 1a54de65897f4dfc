// precisionlab-cli: the headless entry point. Subcommands are wired here only.
#include <exception>
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Precision Lab: mixed-precision training lab (headless)", "precisionlab-cli"};
  app.require_subcommand(1);
  plab::cli::addNumbersCommand(app);
  plab::cli::addSelftestCommand(app);
  plab::cli::addRunCommand(app);
  plab::cli::addBenchCommand(app);
  plab::cli::addWorkerCommand(app);
  plab::cli::addRunsCommand(app);
  plab::cli::addExportCommand(app);
  plab::cli::addSweepCommand(app);
  plab::cli::addSchemaCommand(app);
  plab::cli::addCompareCommand(app);
  plab::cli::addAdviseCommand(app);
  plab::cli::addMergeCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const plab::cli::CliExit& e) {
    if (*e.what()) std::cerr << "precisionlab-cli: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "precisionlab-cli: error: " << e.what() << "\n";
    return 1;
  } catch (...) {
    // Not a std::exception: without this, std::terminate would end the process by SIGABRT.
    std::cerr << "precisionlab-cli: error: an exception of unknown type\n";
    return 1;
  }
  return 0;
}
