#include "train/records.h"

namespace plab {

const char* toString(RunStatus s) {
  switch (s) {
    case RunStatus::running: return "running";
    case RunStatus::completed: return "completed";
    case RunStatus::failed: return "failed";
    case RunStatus::cancelled: return "cancelled";
    case RunStatus::interrupted: return "interrupted";
  }
  return "?";
}

bool parseRunStatus(const std::string& text, RunStatus& out) {
  for (RunStatus s : {RunStatus::running, RunStatus::completed, RunStatus::failed,
                      RunStatus::cancelled, RunStatus::interrupted}) {
    if (text == toString(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

}  // namespace plab
