#include <cstdlib>
#include <filesystem>

#include "store/store.h"

namespace plab {

std::string defaultDatabasePath() {
  namespace fs = std::filesystem;
  fs::path folder;
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  // XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and must be ignored.
  if (xdg && *xdg && fs::path(xdg).is_absolute()) {
    folder = fs::path(xdg) / "precisionlab";
  } else if (home && *home) {
    folder = fs::path(home) / ".local" / "share" / "precisionlab";
  } else {
    throw StoreError("store: neither XDG_DATA_HOME nor HOME is set; give the database with --db PATH");
  }
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw StoreError(folder.string() + ": cannot create the data folder: " + ec.message());
  return (folder / "runs.sqlite").string();
}

const char* eventKindName(EventKind k) {
  switch (k) {
    case EventKind::overflow: return "overflow";
    case EventKind::scale_growth: return "scale_growth";
    case EventKind::other: return "other";
  }
  return "other";
}

}  // namespace plab
