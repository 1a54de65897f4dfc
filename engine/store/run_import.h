#pragma once
// Copying a finished run from one store into another (docs/remote.md, "Merge"): what
// `precisionlab-cli merge` does with the SQLite file each Slurm task wrote. The copy is a
// new run in the target store with every row of the original (steps, events, evaluations,
// layer statistics, speed), its summary (run_id made the new id), its name, notes and
// tags, and the original's start and end times, so it reads as the run that was trained.
#include <cstdint>
#include <string>

#include "store/store.h"

namespace plab {

// Throws StoreError naming the file when the run does not exist, is still `running`
// (a task that has not finished), or either store fails.
std::int64_t copyRun(RunReader& from, std::int64_t runId, const std::string& toDb);

}  // namespace plab
