#pragma once
// Reading runs from the store into what the views need. These functions block (SQLite
// reads of possibly large runs), so the GUI calls them through QtConcurrent; the
// headless report calls them directly. The rows come from RunReader::loadRecord, the
// same read as `precisionlab-cli export`, so a run loaded whole, a run followed while
// another process writes it and a run streamed from the GUI's worker hold the same rows.
#include <QString>
#include <optional>
#include <vector>

#include "runs/run_data.h"
#include "store/store.h"

namespace plab::ui {

// Every table of one run; throws StoreError, or std::runtime_error for an unknown id.
RunDataPtr loadRunData(const QString& databasePath, std::int64_t runId);
// Following a run that another process is writing, in two halves: where the shown
// copy stands (taken on the GUI thread, O(1)), what the store holds beyond that (read
// on a worker thread), and appending it (GUI thread, O(new rows)).
struct RunCursor {
  std::int64_t runId = 0;
  RunRecordCursor rows;
  QString status;
};
struct RunIncrement {
  std::optional<RunInfo> info;  // empty: the run is gone
  RunRecord rows;               // the rows beyond the cursor, and the summary
};
RunCursor cursorOf(const RunData& run);
RunIncrement readRunIncrement(const QString& databasePath, const RunCursor& from);
// Returns true when something was added (the run's revision is bumped then).
bool applyRunIncrement(RunData& run, RunIncrement&& increment);
// Both halves at once.
bool loadRunIncrement(const QString& databasePath, RunData& run);

// The browser's rows: RunInfo with its config (for network and precision summaries).
std::vector<RunInfo> listRunsWithConfig(const QString& databasePath);

// Fills the header fields (name, status, config, ...) of run from info.
void applyRunInfo(RunData& run, const RunInfo& info);

}  // namespace plab::ui
