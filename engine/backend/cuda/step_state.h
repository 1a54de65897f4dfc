#pragma once
// The per-step state of the mixed-precision step, living in device memory: the loss
// scale and its counters, and a ring of step records (loss, scale, overflow flags per
// gradient, sum of squares) that drainStepRecords copies out in one go. Kernels of
// loss.cu, step.cu and optimizer.cu read and write it; the host only advances `head`.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "backend/backend.h"
#include "train/loss_scale_rule.h"

namespace plab::cuda {

// One recorded step, in device memory.
struct StepSlot {
  long long step;
  double sumSquares;      // of the loss-scaled gradients, in double as the CPU backend
  float loss;
  float lossScale;        // the scale this step used
  float nextLossScale;
  int overflow;           // some gradient held inf/NaN
  int skipped;            // the optimizer ran and skipped its update
};

// The scale and counters, read by every kernel of the step.
struct DeviceScaleState {
  LossScaleCounters counters;
  long long optimizerSteps;   // steps taken (not skipped): Adam's bias correction
  unsigned int doneBlocks;    // for "last block reduces" kernels
};

class CudaStepState final : public StepState {
 public:
  LossScaleRule rule;
  int gradientCount = 0;
  int capacity = 1024;                   // steps recorded on the device between drains
  std::shared_ptr<void> scaleState;      // DeviceScaleState
  std::shared_ptr<void> slots;           // StepSlot[capacity]
  std::shared_ptr<void> flags;           // uint8[capacity][gradientCount]
  std::shared_ptr<void> scratch;         // per-row losses and block partials
  std::size_t scratchBytes = 0;
  long long head = 0;                    // steps finished (updateLossScale calls)
  long long drained = 0;                 // steps already handed to the host
  bool optimizerCalled = false;          // optimizerStep ran in the current step
  std::vector<StepRecord> spilled;       // drained early because the ring was full

  DeviceScaleState* scale() const { return static_cast<DeviceScaleState*>(scaleState.get()); }
  StepSlot* slot(long long index) const { return static_cast<StepSlot*>(slots.get()) + index % capacity; }
  std::uint8_t* slotFlags(long long index) const {
    return static_cast<std::uint8_t*>(flags.get()) + (index % capacity) * gradientCount;
  }
  StepSlot* current() const { return slot(head); }
  std::uint8_t* currentFlags() const { return slotFlags(head); }
};

inline CudaStepState& asCudaState(StepState& s) {
  auto* state = dynamic_cast<CudaStepState*>(&s);
  if (!state) throw std::invalid_argument("CUDA backend: the step state was not created by the CUDA backend");
  return *state;
}

}  // namespace plab::cuda
