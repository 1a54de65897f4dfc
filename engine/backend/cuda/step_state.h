#pragma once
// The per-step state of the mixed-precision step, living in device memory: the loss
// scale and its counters, and a ring of step records (loss, scale, overflow flags per
// gradient, sum of squares) that drainStepRecords copies out in one go. Kernels of
// loss.cu, step.cu and optimizer.cu read and write it. Kernels find the current record
// from the device's own step count (DeviceScaleState::head), not from a pointer the
// host computes, so that a captured step (CUDA graph) writes the right record when
// replayed; the host keeps the same count in CudaStepState::head for draining.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "backend/backend.h"
#include "core/loss_scale_rule.h"

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
  // The first row of this step's batch whose class label is not a class index, packed
  // as badLabelKey() makes it (0: none), and the class count it was checked against.
  // The loss kernel sets it; drainStepRecords throws on it (loss.cu), as the CPU
  // backend throws in the loss itself (class_labels.h).
  unsigned long long badLabel;
  long long badLabelClasses;
};

// Rows packed so that the largest key is the first row (atomicMax keeps the first bad
// row of a batch, as the CPU backend reports it), with the label's bits beside it.
// Rows of one batch are far below 2^32 - 1.
PLAB_HOST_DEVICE inline unsigned long long badLabelKey(long long row, unsigned int labelBits) {
  const unsigned long long r = row < 0xFFFFFFFELL ? static_cast<unsigned long long>(row) : 0xFFFFFFFEull;
  return ((0xFFFFFFFFull - r) << 32) | labelBits;
}
inline long long badLabelRow(unsigned long long key) { return static_cast<long long>(0xFFFFFFFFull - (key >> 32)); }
inline unsigned int badLabelBits(unsigned long long key) { return static_cast<unsigned int>(key & 0xFFFFFFFFull); }
// Throws the CPU backend's error for a flagged record (loss.cu); no-op when unflagged.
void throwIfBadLabel(const StepSlot& slot);

// The scale and counters, read by every kernel of the step.
struct DeviceScaleState {
  LossScaleCounters counters;
  long long optimizerSteps;   // steps taken (not skipped): Adam's bias correction
  long long head;             // steps finished: the current record is slots[head % capacity]
  unsigned int doneBlocks;    // for "last block reduces" kernels
};

// The ring of step records as kernels see it.
struct SlotRing {
  StepSlot* slots;
  std::uint8_t* flags;  // [capacity][gradientCount]
  int capacity;
  int gradientCount;
  PLAB_HOST_DEVICE StepSlot* at(long long index) const { return slots + index % capacity; }
  PLAB_HOST_DEVICE std::uint8_t* flagsAt(long long index) const { return flags + (index % capacity) * gradientCount; }
};

// The values a captured step reads from device memory because they change from one
// replay to the next; CudaBackend::replayStep writes them before each launch.
struct StepInputs {
  long long step;
  float lr;
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
  SlotRing ring() const {
    return SlotRing{static_cast<StepSlot*>(slots.get()), static_cast<std::uint8_t*>(flags.get()), capacity,
                    gradientCount};
  }
};

inline CudaStepState& asCudaState(StepState& s) {
  auto* state = dynamic_cast<CudaStepState*>(&s);
  if (!state) throw std::invalid_argument("CUDA backend: the step state was not created by the CUDA backend");
  return *state;
}

}  // namespace plab::cuda
