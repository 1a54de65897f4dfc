#pragma once
// The CPU backend's StepState: host memory, filled by the loss, checkGradients,
// optimizerStep and updateLossScale, emptied by drainStepRecords.
#include <vector>

#include "backend/backend.h"

namespace plab::cpu {

struct CpuStepState final : StepState {
  LossScaleRule rule;
  LossScaleCounters counters{};
  float loss = 0;                           // this step's unscaled mean loss
  std::vector<std::uint8_t> gradOverflow;   // this step's per-gradient inf/NaN flags
  bool overflow = false;
  double sumSquares = 0;                    // of the loss-scaled gradients (logical values)
  bool checked = false;                     // checkGradients ran this step
  bool skipped = false;
  float gradNorm = 0;                       // unscaled global norm
  std::int64_t optimizerSteps = 0;          // steps actually taken (Adam bias correction)
  std::vector<StepRecord> records;          // since the last drain

  float scale() const { return counters.scale; }
};

CpuStepState& cpuState(StepState& s, const char* op);

}  // namespace plab::cpu
