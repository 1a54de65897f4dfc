#include "store/process_identity.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

namespace plab {
namespace {

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::string bootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks after boot). The command
// name (field 2) is in parentheses and may hold spaces, so count from the last ')'.
// A zombie (state Z: killed, not yet reaped by its parent) counts as gone: "".
std::string startTicks(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return "";
  const auto close = line.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 3 && (field == "Z" || field == "X")) return "";
    if (index == 22) return field;
  }
  return "";
}

std::string startToken(std::int64_t pid) {
  const std::string boot = bootId();
  const std::string ticks = startTicks(pid);
  if (boot.empty() || ticks.empty()) return "";
  return boot + ":" + ticks;
}

}  // namespace

ProcessIdentity currentProcess() {
  ProcessIdentity me;
  me.host = hostName();
  me.pid = std::int64_t(getpid());
  me.startToken = startToken(me.pid);
  return me;
}

Liveness processLiveness(const ProcessIdentity& writer) {
  if (writer.host != hostName()) return Liveness::unknown;
  if (writer.pid <= 0) return Liveness::gone;
  if (!writer.startToken.empty() && !bootId().empty()) {
    // /proc is there: the token decides (a different token is another process that
    // got the same pid, or the machine rebooted).
    const std::string now = startTicks(writer.pid);
    return !now.empty() && bootId() + ":" + now == writer.startToken ? Liveness::alive : Liveness::gone;
  }
  if (kill(pid_t(writer.pid), 0) == 0 || errno == EPERM) return Liveness::alive;
  return Liveness::gone;
}

}  // namespace plab
