#pragma once
// The run store: one SQLite file holding every run (docs/architecture.md, "What a run records").
//
// The worker writes through RunWriter; the GUI, `precisionlab-cli runs` and `export`
// read through RunReader, also while a worker in another process is writing (WAL).
// Opening either one creates the schema or migrates it forward (PRAGMA user_version),
// and marks as `interrupted` the runs left `running` by a writer process that is gone.
// Every failure throws StoreError naming the database file and SQLite's message.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/records.h"
#include "core/run_record.h"

namespace plab {

// The schema version this program writes; files with a newer one are refused.
inline constexpr int kStoreSchemaVersion = 6;

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// $XDG_DATA_HOME/precisionlab/runs.sqlite, else ~/.local/share/precisionlab/runs.sqlite.
// Creates the folder. Used by every command that takes --db.
std::string defaultDatabasePath();

struct StoreOptions {
  int busyTimeoutMs = 5000;             // wait this long for another process's write lock
  // writer: commit buffered rows at least this often. Half the promised second
  // (docs/store.md, "Writing"): a row can wait this long plus the background thread's
  // check period (a quarter of it) plus the commit itself, and must still be on disk
  // within a second if the process is killed.
  std::chrono::milliseconds flushInterval{500};
  bool backgroundFlush = true;          // writer: a thread commits a buffer left idle past flushInterval
  std::int64_t maxPageCount = 0;        // > 0: cap the file (PRAGMA max_page_count); full -> SQLITE_FULL
  bool readOnly = false;                // reader only: open with SQLITE_OPEN_READONLY (no migration, no marking)
};

// One row of `runs`, plus figures for a run browser computed from the other tables.
struct RunInfo {
  std::int64_t id = 0;
  std::string name;                 // short name, defaults to the config's title
  std::string title;
  RunStatus status = RunStatus::running;
  std::string createdAt;            // ISO 8601 UTC, "2026-11-23T07:30:00.123Z"
  std::string finishedAt;           // "" while running
  std::string backend, device;
  std::string notes;
  std::vector<std::string> tags;
  std::string error;                // failed / interrupted: what happened
  nlohmann::json config;            // the experiment file (getRun only; null in listRuns)
  nlohmann::json summary;           // written by finish() (object; {} before)
  std::string datasetName;          // config.dataset.name
  std::string writerHost;
  std::int64_t writerPid = 0;
  // Browser figures (from the metric tables):
  std::int64_t stepCount = 0;       // step_metrics rows
  std::int64_t lastStep = 0;
  double lastLoss = 0;              // loss at lastStep
  double lastLossScale = 0;
  std::int64_t overflowCount = 0;   // overflow events
  std::int64_t skippedCount = 0;    // skipped steps
  std::optional<double> testAccuracy;  // from the latest epoch evaluation, when classification
  std::optional<double> testLoss;
};

enum class EventKind { overflow, scale_growth, other };
const char* eventKindName(EventKind k);

// A row of `events`: overflow and scale_growth carry their record as JSON
// (protocol/ encodes them the same way); `other` carries whatever the caller gave.
// Adaptive precision's promotions are `other` rows named kPromotionEventName with a
// PrecisionPromotion as payload (an older store's CHECK on `kind` allows no new kind).
inline constexpr const char* kPromotionEventName = "promotion";
struct StoredEvent {
  std::int64_t id = 0;              // increasing: loadEvents(run, sinceId) reads only newer ones
  std::int64_t step = 0;
  EventKind kind = EventKind::other;
  std::string name;                 // overflow / scale_growth / the caller's name for `other`
  nlohmann::json payload;
};

class Database;  // the SQLite connection (store/database.h)

class RunWriter {
 public:
  explicit RunWriter(const std::string& dbPath, StoreOptions options = {});
  ~RunWriter();  // flushes; errors are only logged (stderr) there
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  // Inserts the run as `running`, owned by this process (pid, host). Returns its id.
  std::int64_t createRun(const nlohmann::json& config, const std::string& title,
                         const std::string& backend, const std::string& device);
  std::int64_t runId() const { return runId_; }

  // Buffered; committed by flush(), by the next append once flushInterval has passed,
  // or by the background thread when the buffer has waited longer than flushInterval.
  void appendStep(const StepMetrics& m);
  void appendOverflow(const OverflowEvent& e);
  void appendScaleGrowth(const ScaleGrowthEvent& e);
  void appendPromotion(const PrecisionPromotion& p);
  void appendEvent(std::int64_t step, const std::string& name, const nlohmann::json& payload);
  void appendEpoch(const EpochMetrics& m);
  void appendLayerStats(const LayerStatsRecord& r);
  // One statistics step's records, committed together: a reader following the run
  // (RunReader::loadRecord since a step) never sees a step's statistics in part.
  void appendLayerStats(std::span<const LayerStatsRecord> records);
  void appendSpeed(const SpeedResult& r);

  // Commits everything buffered in one transaction. On failure (disk full, read-only)
  // throws StoreError and keeps the buffer, so a later flush can retry.
  void flush();
  // Flushes, then sets status, finished_at, error and summary in the same transaction.
  void finish(RunStatus status, const std::string& error = "", const nlohmann::json& summary = nlohmann::json::object());
  bool finished() const { return finished_; }
  const std::string& path() const { return path_; }

 private:
  struct Buffer;
  void requireRun(const char* what) const;
  template <class F>
  void appendWith(const char* what, F&& add);
  void maybeFlush();
  void flushLocked();
  void startFlusher();
  void stopFlusher();

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Buffer> buffer_;
  std::int64_t runId_ = 0;
  bool finished_ = false;
  struct Flusher;
  std::unique_ptr<Flusher> flusher_;
};

class RunReader {
 public:
  explicit RunReader(const std::string& dbPath, StoreOptions options = {});
  ~RunReader();
  RunReader(const RunReader&) = delete;
  RunReader& operator=(const RunReader&) = delete;

  // Newest first.
  std::vector<RunInfo> listRuns();
  std::optional<RunInfo> getRun(std::int64_t runId);

  // Rows with step > sinceStep, in step order: call again with the last step seen to
  // follow a run that another process is writing.
  std::vector<StepMetrics> loadSteps(std::int64_t runId, std::int64_t sinceStep = 0);
  std::vector<StoredEvent> loadEvents(std::int64_t runId, std::int64_t sinceId = 0);
  std::vector<OverflowEvent> loadOverflows(std::int64_t runId);
  std::vector<ScaleGrowthEvent> loadScaleGrowths(std::int64_t runId);
  std::vector<PrecisionPromotion> loadPromotions(std::int64_t runId);
  std::vector<EpochMetrics> loadEpochs(std::int64_t runId);
  // Rows with step > sinceStep, ordered by step, then layer, activations before gradients.
  std::vector<LayerStatsRecord> loadLayerStats(std::int64_t runId, std::int64_t sinceStep = 0);
  std::vector<SpeedResult> loadSpeed(std::int64_t runId);
  // Every row of the run beyond `since` (all of them by default) and its summary: the
  // one way the GUI, the report and `export` read a run. Throws StoreError when the
  // run does not exist or a stored record does not decode.
  RunRecord loadRecord(std::int64_t runId, const RunRecordCursor& since = {});

  void updateNotes(std::int64_t runId, const std::string& notes);
  void updateTags(std::int64_t runId, const std::vector<std::string>& tags);
  void renameRun(std::int64_t runId, const std::string& name);
  // Deletes the run and all its rows.
  void deleteRun(std::int64_t runId);

  // Runs marked `interrupted` when this reader opened the file.
  const std::vector<std::int64_t>& interruptedOnOpen() const { return interruptedOnOpen_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<Database> db_;
  std::vector<std::int64_t> interruptedOnOpen_;
};

}  // namespace plab
