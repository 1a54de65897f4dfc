#pragma once
// The RunObserver behind the worker's stdout: turns what the trainer reports into
// protocol events (engine/protocol/messages.h) and hands each to a sink. The sink
// (the worker) batches them with protocol::EventBatcher and writes the lines; this
// class does no I/O and no batching, so it is the same for any transport.
#include <cstdint>
#include <functional>
#include <string>

#include "protocol/messages.h"
#include "train/run_observer.h"

namespace plab {

class EventStreamObserver final : public RunObserver {
 public:
  using Sink = std::function<void(protocol::Event)>;
  // runId() is asked at onStarted: pass the store recorder's, which must hear
  // onStarted first (add it to the ObserverList before this one).
  EventStreamObserver(Sink sink, std::function<std::int64_t()> runId, std::string dbPath);

  void onStarted(const RunStartInfo& info) override;
  void onSteps(std::span<const StepMetrics> steps) override;
  void onOverflow(const OverflowEvent& e) override;
  void onScaleGrowth(const ScaleGrowthEvent& e) override;
  void onPromotion(const PrecisionPromotion& p) override;
  void onEpoch(const EpochMetrics& e) override;
  void onLayerStats(std::span<const LayerStatsRecord> records) override;
  void onSpeed(std::span<const SpeedResult> results) override;
  void onProgress(const RunProgress& p) override;
  // A failed run sends an `error` event (context: the step) before `run_finished`.
  void onFinished(const RunOutcome& outcome) override;

 private:
  Sink sink_;
  std::function<std::int64_t()> runId_;
  std::string dbPath_;
  BackendInfo backend_;
};

}  // namespace plab
