#pragma once
// The loss scaler (docs/architecture.md, "Loss scaling"): the one class for the concept.
//
// The backend applies the rule on the device (Backend::updateLossScale) so that a
// training step needs no host synchronisation; this class is the host-side view of
// the same state. It replays the rule (nextCounters) on each drained StepRecord,
// checks that the device agrees, and turns the records into the events the run
// records and the GUI shows: an OverflowEvent naming every layer whose gradients
// held inf/NaN (the first in backward order is the culprit) and a ScaleGrowthEvent
// whenever the scale grew.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/loss_scale_rule.h"
#include "core/records.h"

namespace plab {

class LossScaler {
 public:
  explicit LossScaler(const LossScaleRule& rule);

  const LossScaleRule& rule() const { return rule_; }
  // The scale the next step will use, as far as the host knows (after the last record observed).
  float scale() const { return counters_.scale; }
  std::int32_t cleanSteps() const { return counters_.cleanSteps; }
  std::int32_t hysteresisLeft() const { return counters_.hysteresisLeft; }

  std::int64_t overflowCount() const { return overflowCount_; }
  std::int64_t skippedSteps() const { return skippedSteps_; }
  std::int64_t growthCount() const { return growthCount_; }

  struct Outcome {
    std::optional<OverflowEvent> overflow;
    std::optional<ScaleGrowthEvent> growth;
  };
  // Observes one step's record. gradientOwners[i] names the layer that owns gradient
  // tensor i, in the order the gradients were given to checkGradients (backward order).
  // Throws std::logic_error when the device's scale disagrees with the rule.
  Outcome observe(const StepRecord& record, std::span<const std::string> gradientOwners);

  // The layers whose gradients overflowed, deduplicated, in backward order.
  static std::vector<std::string> overflowedLayers(const StepRecord& record,
                                                   std::span<const std::string> gradientOwners);

 private:
  LossScaleRule rule_;
  LossScaleCounters counters_;
  std::int64_t overflowCount_ = 0;
  std::int64_t skippedSteps_ = 0;
  std::int64_t growthCount_ = 0;
};

// "none", "static", "dynamic": the spelling of the experiment format.
const char* lossScaleModeName(LossScaleMode mode);

}  // namespace plab
