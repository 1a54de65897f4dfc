#pragma once
// Pause and stop requests for a running Trainer, set from another thread (the
// worker's stdin reader) or a signal handler (lock-free atomics only), read by the
// trainer between steps.
#include <atomic>

namespace plab {

struct RunControl {
  std::atomic<bool> stopRequested{false};
  std::atomic<bool> pauseRequested{false};
  static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers may only touch lock-free atomics");

  void requestStop() { stopRequested.store(true); }
  void requestPause() { pauseRequested.store(true); }
  void requestResume() { pauseRequested.store(false); }
};

}  // namespace plab
