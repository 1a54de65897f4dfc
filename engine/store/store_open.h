#pragma once
// What every open of the store does: open, migrate, recover runs left `running`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/database.h"

namespace plab {

// Opens path, brings the schema up to date and, unless read-only, marks as
// `interrupted` the runs whose writer process is gone (their rows are kept).
std::unique_ptr<Database> openStore(const std::string& path, const StoreOptions& options, bool readOnly,
                                    std::vector<std::int64_t>* interrupted = nullptr);

// Marks the `running` runs of this host whose writer process is gone; returns their ids.
// A run written by a live process (the worker while the GUI opens the file) or on
// another host is left alone.
std::vector<std::int64_t> markInterruptedRuns(Database& db);

}  // namespace plab
