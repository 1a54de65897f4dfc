#pragma once
// The figures a lesson's claims read (sweep/claims.h), taken from a stored run: its
// summary and its events, the same rows the GUI shows.
#include <cstdint>

#include "store/store.h"
#include "sweep/claims.h"

namespace plab {

// Empty when the run is not in the store. A run that did not complete gives no
// accuracy or loss figures, so that a claim about them reads "no data", not a number
// from half a run.
RunMetrics storedRunMetrics(RunReader& reader, std::int64_t runId);

}  // namespace plab
