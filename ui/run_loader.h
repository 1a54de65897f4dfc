#pragma once
// Reading runs from the store into what the views need. These functions block (SQLite
// reads of possibly large runs), so the GUI calls them through QtConcurrent; the
// headless report calls them directly.
#include <QString>
#include <optional>
#include <vector>

#include "run_data.h"
#include "store/store.h"

namespace plab::ui {

// Every table of one run; throws StoreError, or std::runtime_error for an unknown id.
RunDataPtr loadRunData(const QString& databasePath, std::int64_t runId);
// Appends to run what the store holds beyond what run already has (following a run
// that another process is writing). Returns true when something was added.
bool loadRunIncrement(const QString& databasePath, RunData& run);

// The browser's rows: RunInfo with its config (for network and precision summaries).
std::vector<RunInfo> listRunsWithConfig(const QString& databasePath);

// Fills the header fields (name, status, config, ...) of run from info.
void applyRunInfo(RunData& run, const RunInfo& info);

}  // namespace plab::ui
