#pragma once
// Reading runs from the store into what the views need. These functions block (SQLite
// reads of possibly large runs), so the GUI calls them through QtConcurrent; the
// headless report calls them directly.
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
  std::int64_t lastStep = 0, lastStatsStep = 0;
  std::size_t epochCount = 0, overflowCount = 0;
  QString status;
};
struct RunIncrement {
  std::optional<RunInfo> info;  // empty: the run is gone
  std::vector<StepMetrics> steps;
  std::vector<LayerStatsRecord> layerStats;
  std::vector<EpochMetrics> epochs;        // the new ones only
  std::vector<OverflowEvent> overflows;    // the new ones only
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
