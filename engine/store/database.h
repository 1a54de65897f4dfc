#pragma once
// A thin RAII layer over one SQLite connection: open with the store's pragmas,
// prepared statements, transactions, and errors that carry the file and SQLite's words.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace plab {

class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, int v) { return bind(index, std::int64_t(v)); }
  Statement& bind(int index, bool v) { return bind(index, std::int64_t(v ? 1 : 0)); }
  Statement& bind(int index, double v);  // NaN is stored as NULL by SQLite; see bindReal
  Statement& bind(int index, const std::string& v);
  Statement& bindNull(int index);
  // REAL that may be NaN or inf: SQLite turns NaN into NULL, so NaN travels as NULL
  // and is read back as NaN by columnReal (infinities are kept by SQLite as they are).
  Statement& bindReal(int index, double v);

  // true: a row is ready; false: done. Throws StoreError on failure.
  bool step();
  void run();     // step() for statements that return no rows, then reset()
  void reset();   // ready to bind and step again

  std::int64_t columnInt(int col) const;
  double columnReal(int col) const;       // NULL -> NaN (see bindReal)
  std::string columnText(int col) const;  // NULL -> ""
  bool columnIsNull(int col) const;

 private:
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Database {
 public:
  // Opens (creating when allowed) and applies WAL, busy_timeout, foreign keys.
  Database(const std::string& path, const StoreOptions& options, bool readOnly);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const { return path_; }
  bool readOnly() const { return readOnly_; }
  // Read as immutable: a read-only connection on a folder where the WAL index
  // cannot be made (see openForReading).
  bool immutable() const { return immutable_; }
  void exec(const std::string& sql);
  Statement prepare(std::string_view sql);
  std::int64_t lastInsertId() const;
  int changes() const;

  // Throws StoreError("<path>: <what>: <sqlite message> (<code name>)").
  [[noreturn]] void fail(const std::string& what, int code) const;
  [[noreturn]] static void failOn(sqlite3* db, const std::string& path, const std::string& what, int code);

 private:
  sqlite3* openConnection(const std::string& name, int flags) const;
  void openForReading();

  std::string path_;
  bool readOnly_;
  bool immutable_ = false;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

// BEGIN (deferred) ... END: the reads in between see one snapshot of the file (WAL),
// whatever a writer in another process commits meanwhile.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database& db_;
};

// ISO 8601 UTC with milliseconds, "2026-11-23T07:30:00.123Z".
std::string utcNow();

}  // namespace plab
