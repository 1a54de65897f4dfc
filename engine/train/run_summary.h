#pragma once
// The one-object summary of a finished run: what `run --summary-json` writes, what
// the store keeps in runs.summary and what the worker's run_finished event carries.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "train/run_observer.h"

namespace plab {

// Keys: run_id, status, error, failed_layer (a failed run whose error names a layer:
// the first layer whose activations were not finite, or the overflow culprit), backend, device, steps, skipped_steps, overflow_events,
// final_loss_scale, final_train_loss, test_loss, test_accuracy, median_step_ms,
// step_capture, memory (bytes by kind, core/records.h MemoryUse); with shadow_stats
// also shadow_passes and median_shadow_ms (docs/architecture.md, "Shadow statistics");
// after adaptive precision promoted a layer, promotions (each as protocol/records_json.h
// writes a PrecisionPromotion).
// Values that are not finite (a NaN loss) are "nan", "inf", "-inf" (core/json_number.h,
// docs/protocol.md "Numbers"); test_accuracy is null when the task is not a classification.
nlohmann::json runSummaryJson(const RunOutcome& outcome, std::int64_t runId, const BackendInfo& backend);

}  // namespace plab
