#include "store/database.h"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <limits>
#include <thread>

namespace plab {

void Database::failOn(sqlite3* db, const std::string& path, const std::string& what, int code) {
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const int extended = db ? sqlite3_extended_errcode(db) : code;
  const std::string generic = sqlite3_errstr(code);
  std::string text = path + ": " + what + ": " + message + " (" + (generic == message ? "" : generic + ", ") + "code " +
                     std::to_string(extended) + ")";
  if ((code & 0xFF) == SQLITE_FULL) text += "; the disk or the database's size limit is full";
  // SQLite turns a write the system refused into a generic I/O error. The errno says
  // why, when SQLite's own clean-up has not overwritten it by the time we ask; a full
  // disk, a quota or a file-size limit (EFBIG) are the usual reasons (docs/store.md).
  if ((code & 0xFF) == SQLITE_IOERR) {
    const int err = db ? sqlite3_system_errno(db) : 0;
    const std::string cause = err != 0 ? std::string(" (") + std::strerror(err) + ")" : "";
    if (extended == SQLITE_IOERR_WRITE || err == ENOSPC || err == EFBIG || err == EDQUOT)
      text += "; the system refused the write: is the disk, a quota or the file-size limit full?" + cause;
    else if (err != 0)
      text += "; the system said:" + cause;
  }
  if ((code & 0xFF) == SQLITE_READONLY) text += "; check the permissions of the file and its folder";
  if ((code & 0xFF) == SQLITE_NOTADB || (code & 0xFF) == SQLITE_CORRUPT) text += "; the file is not a Precision Lab run database or is damaged";
  throw StoreError(text);
}

void Database::fail(const std::string& what, int code) const { failOn(db_, path_, what, code); }

// ---- Statement -------------------------------------------------------------------

Statement::Statement(sqlite3* db, const std::string& path, std::string_view sql)
    : db_(db), path_(path), sql_(sql) {
  const int rc = sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) Database::failOn(db, path, "cannot prepare \"" + sql_.substr(0, 60) + "\"", rc);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), path_(std::move(other.path_)), stmt_(other.stmt_), sql_(std::move(other.sql_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}

Statement& Statement::bind(int index, double v) {
  sqlite3_bind_double(stmt_, index, v);
  return *this;
}

Statement& Statement::bind(int index, const std::string& v) {
  sqlite3_bind_text(stmt_, index, v.data(), int(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::bindReal(int index, double v) { return std::isnan(v) ? bindNull(index) : bind(index, v); }

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string what = "\"" + sql_.substr(0, 60) + (sql_.size() > 60 ? "...\"" : "\"") + " failed";
  sqlite3_reset(stmt_);
  Database::failOn(db_, path_, what, rc);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::columnReal(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, col);
}

std::string Statement::columnText(int col) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return text ? std::string(text, std::size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
}

bool Statement::columnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

// ---- Database --------------------------------------------------------------------

namespace {

// "file:/a/b%3Fc.sqlite?immutable=1": path as an SQLite URI (%, ? and # escaped).
std::string immutableUri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : path) {
    if (c == '%') uri += "%25";
    else if (c == '?') uri += "%3f";
    else if (c == '#') uri += "%23";
    else uri += c;
  }
  return uri + "?immutable=1";
}

// Whether a read-only connection's first read failed because it cannot make the WAL's
// -shm file (a read-only folder or filesystem, and no writer has the file open):
// SQLite says SQLITE_CANTOPEN, SQLITE_READONLY_DIRECTORY or SQLITE_READONLY_CANTINIT.
bool walIndexUnavailable(int code) { return (code & 0xFF) == SQLITE_CANTOPEN || (code & 0xFF) == SQLITE_READONLY; }

}  // namespace

sqlite3* Database::openConnection(const std::string& name, int flags) const {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw StoreError(path_ + ": cannot open" + (readOnly_ ? " for reading" : "") + ": " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  return db;
}

// A WAL file needs its -shm index, which a reader creates beside it on first read.
// Where the folder cannot be written (a read-only share, an archive) and no writer
// holds the file open, there is no -shm and none can be made: the file is then read
// as immutable, which needs no index (docs/store.md, "Opening"). A writer would have
// left both -wal and -shm, and SQLite reads those read-only without this fallback.
void Database::openForReading() {
  db_ = openConnection(path_, SQLITE_OPEN_READONLY);
  const int rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK || !walIndexUnavailable(sqlite3_extended_errcode(db_))) return;
  sqlite3_close(db_);
  db_ = nullptr;
  db_ = openConnection(immutableUri(path_), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  immutable_ = true;
}

Database::Database(const std::string& path, const StoreOptions& options, bool readOnly)
    : path_(path), readOnly_(readOnly) {
  if (readOnly) openForReading();
  else db_ = openConnection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3_busy_timeout(db_, options.busyTimeoutMs);
  try {
    // The first statement reads the header: a file that is not SQLite fails here.
    exec("PRAGMA foreign_keys = ON");
    if (!readOnly) {
      // WAL: readers in other processes (the GUI) never block the writer (the worker).
      // synchronous=NORMAL: in WAL mode a commit survives a process crash; only a
      // power loss can undo the last commits.
      // Switching a new file to WAL takes an exclusive lock. When two processes open
      // the same new file at once (two runs started together), the one that must wait
      // gets SQLITE_BUSY at once, without the busy handler (SQLite's deadlock rule), so
      // it retries here for the busy timeout (tests/cli/tst_cli_faults.cpp).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busyTimeoutMs);
      while (sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr) == SQLITE_BUSY &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      exec("PRAGMA journal_mode = WAL");  // a no-op once it took; else the error, named
      exec("PRAGMA synchronous = NORMAL");
      if (options.maxPageCount > 0) exec("PRAGMA max_page_count = " + std::to_string(options.maxPageCount));
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Database::~Database() {
  if (db_ && sqlite3_close(db_) != SQLITE_OK)
    std::cerr << "precisionlab: closing " << path_ << ": " << sqlite3_errmsg(db_) << "\n";
}

void Database::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    sqlite3_free(message);  // the same text as sqlite3_errmsg, which fail() reports
    const std::string head = sql.substr(0, sql.find('\n'));
    fail("\"" + head.substr(0, 60) + "\" failed", rc);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, path_, sql); }

std::int64_t Database::lastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

// ---- Transaction -----------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const std::exception& e) {
    // After SQLITE_FULL SQLite may already have rolled back; nothing more to do.
    (void)e;
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

ReadSnapshot::ReadSnapshot(Database& db) : db_(db) { db_.exec("BEGIN"); }

ReadSnapshot::~ReadSnapshot() {
  try {
    db_.exec("END");
  } catch (const std::exception& e) {
    (void)e;  // a read transaction has nothing to lose; the connection stays usable
  }
}

std::string utcNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
  return buf;
}

}  // namespace plab
