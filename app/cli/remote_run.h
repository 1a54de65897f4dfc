#pragma once
// `precisionlab-cli run FILE --worker ssh://...` (docs/remote.md): the experiment trains on
// that machine. A local relay worker (`worker --remote URL`, remote_worker.h) connects and
// stores the run here; this prints the same progress lines as a local run from the
// relay's events and ends with the same exit codes (kExitRemote when the machine cannot
// be reached or the connection broke).
#include <string>

namespace plab::cli {

int runOnRemoteWorker(const std::string& file, const std::string& url, const std::string& backend,
                      const std::string& db, const std::string& summaryJson);

// Checks a --worker URL before anything starts: CliExit(kExitBadExperiment) naming the
// option and what is wrong with the URL.
void requireWorkerAddress(const std::string& option, const std::string& url);

}  // namespace plab::cli
