#pragma once
// Who writes a run, so that a later open can tell a live writer in another process
// (the worker, while the GUI opens the file) from one that was killed.
#include <cstdint>
#include <string>

namespace plab {

struct ProcessIdentity {
  std::string host;
  std::int64_t pid = 0;
  // Linux: "<boot id>:<start time in ticks>" from /proc, so that a pid reused after
  // the writer died, or after a reboot, does not pass for the writer. "" elsewhere.
  std::string startToken;
};

ProcessIdentity currentProcess();

enum class Liveness { alive, gone, unknown };
// unknown: the writer ran on another host, where we cannot look.
Liveness processLiveness(const ProcessIdentity& writer);

}  // namespace plab
