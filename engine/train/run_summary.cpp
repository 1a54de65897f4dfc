#include "train/run_summary.h"

#include "core/json_number.h"
#include "protocol/records_json.h"

namespace plab {

nlohmann::json runSummaryJson(const RunOutcome& o, std::int64_t runId, const BackendInfo& backend) {
  nlohmann::json j;
  j["run_id"] = runId;
  j["status"] = toString(o.status);
  j["error"] = o.error;
  if (!o.failedLayer.empty()) j["failed_layer"] = o.failedLayer;
  j["backend"] = backend.name;
  j["device"] = backend.device;
  j["steps"] = o.steps;
  j["skipped_steps"] = o.skippedSteps;
  j["overflow_events"] = o.overflowEvents;
  j["final_loss_scale"] = numberToJson(o.finalLossScale);
  j["final_train_loss"] = numberToJson(o.finalTrainLoss);
  j["test_loss"] = numberToJson(o.testLoss);
  // -1 means "not a classification task": null says the same without a fake number.
  j["test_accuracy"] = o.testAccuracy >= 0 ? nlohmann::json(o.testAccuracy) : nlohmann::json(nullptr);
  j["median_step_ms"] = numberToJson(o.medianStepMs);
  if (o.shadowPasses > 0) {
    j["shadow_passes"] = o.shadowPasses;
    j["median_shadow_ms"] = numberToJson(o.medianShadowMs);
  }
  j["step_capture"] = o.stepCapture;
  j["memory"] = o.memory;  // protocol/records_json.h
  if (!o.promotions.empty()) j["promotions"] = o.promotions;
  return j;
}

}  // namespace plab
