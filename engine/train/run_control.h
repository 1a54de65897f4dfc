#pragma once
// Pause and stop requests for a running Trainer, set from another thread (the
// worker's stdin reader) or a signal handler (lock-free atomics only), read by the
// trainer between steps.
#include <atomic>
#include <cstdint>

namespace plab {

struct RunControl {
  std::atomic<bool> stopRequested{false};
  std::atomic<bool> pauseRequested{false};
  // At most this many steps a second; 0: as fast as the machine goes (docs/protocol.md, "pace").
  std::atomic<std::int64_t> stepsPerSecond{0};
  static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers may only touch lock-free atomics");

  void requestStop() { stopRequested.store(true); }
  void requestPause() { pauseRequested.store(true); }
  void requestResume() { pauseRequested.store(false); }
  void setPace(std::int64_t perSecond) { stepsPerSecond.store(perSecond); }
};

}  // namespace plab
