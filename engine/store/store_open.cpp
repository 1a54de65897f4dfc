#include "store/store_open.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/process_identity.h"
#include "store/schema.h"

namespace plab {
namespace {

namespace fs = std::filesystem;

// SQLite opens a write-protected file read-only without a word and fails later with
// "attempt to write a readonly database"; say it up front, with the path.
void checkWritable(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::exists(p, ec)) {
    if (access(path.c_str(), W_OK) != 0)
      throw StoreError(path + ": cannot open for writing: " + std::strerror(errno) + " (the database file is read-only)");
  }
  fs::path folder = p.parent_path();
  if (folder.empty()) folder = ".";
  if (!fs::is_directory(folder, ec)) throw StoreError(path + ": cannot open: the folder " + folder.string() + " does not exist");
  // WAL needs the -wal and -shm files beside the database.
  if (access(folder.c_str(), W_OK) != 0)
    throw StoreError(path + ": cannot open for writing: the folder " + folder.string() + " is not writable (" +
                     std::strerror(errno) + ")");
}

}  // namespace

std::vector<std::int64_t> markInterruptedRuns(Database& db) {
  struct Candidate {
    std::int64_t id;
    ProcessIdentity writer;
  };
  std::vector<Candidate> candidates;
  {
    Statement s = db.prepare("SELECT id, writer_host, writer_pid, writer_start FROM runs WHERE status = 'running'");
    while (s.step()) candidates.push_back({s.columnInt(0), {s.columnText(1), s.columnInt(2), s.columnText(3)}});
  }
  std::vector<std::int64_t> marked;
  if (candidates.empty()) return marked;

  Transaction tx(db);
  Statement update = db.prepare(
      "UPDATE runs SET status = 'interrupted', finished_at = coalesce(heartbeat_at, created_at), error = ?2 "
      "WHERE id = ?1 AND status = 'running'");
  for (const auto& c : candidates) {
    if (processLiveness(c.writer) != Liveness::gone) continue;
    update.bind(1, c.id)
        .bind(2, "the writer process (pid " + std::to_string(c.writer.pid) + " on " + c.writer.host +
                     ") ended without finishing the run; rows up to its last commit are kept")
        .run();
    if (db.changes() > 0) marked.push_back(c.id);
  }
  tx.commit();
  return marked;
}

std::unique_ptr<Database> openStore(const std::string& path, const StoreOptions& options, bool readOnly,
                                    std::vector<std::int64_t>* interrupted) {
  if (path.empty()) throw StoreError("store: empty database path");
  // SQLite's own word for a folder is "unable to open database file".
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw StoreError(path + ": is a directory, not a database file (give the path of a file in it, e.g. " +
                     (fs::path(path) / "runs.sqlite").string() + ")");
  if (!readOnly) checkWritable(path);
  auto db = std::make_unique<Database>(path, options, readOnly);
  migrateSchema(*db);
  if (!readOnly) {
    auto marked = markInterruptedRuns(*db);
    if (interrupted) *interrupted = std::move(marked);
  }
  return db;
}

}  // namespace plab
