#pragma once
// The private parts of RunWriter: what waits to be committed, and the flusher thread.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace plab {

using Clock = std::chrono::steady_clock;

// The run browser's figures as committed (schema v2 keeps them on the run row).
struct RunTotals {
  std::int64_t steps = 0, skipped = 0, overflows = 0, lastStep = 0;
  double lastLoss = 0, lastLossScale = 0;
};

struct RunWriter::Buffer {
  struct Event {
    std::int64_t step;
    EventKind kind;
    std::string name;
    std::string payload;
  };
  std::vector<StepMetrics> steps;
  std::vector<Event> events;
  std::vector<EpochMetrics> epochs;
  std::vector<LayerStatsRecord> layerStats;
  std::vector<SpeedResult> speed;
  Clock::time_point lastFlush = Clock::now();
  Clock::time_point oldestPending{};  // when the first record of the pending batch arrived
  std::string backgroundError;        // a failed background flush, reported on the next call
  RunTotals committed;                // what the run row says after the last commit

  bool empty() const {
    return steps.empty() && events.empty() && epochs.empty() && layerStats.empty() && speed.empty();
  }
  void clear() {
    steps.clear();
    events.clear();
    epochs.clear();
    layerStats.clear();
    speed.clear();
  }
};

// The background thread commits a buffer that waited longer than flushInterval, so the
// guarantee holds while the trainer is busy elsewhere (a long evaluation).
struct RunWriter::Flusher {
  std::mutex mutex;  // guards the buffer and the connection
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

}  // namespace plab
