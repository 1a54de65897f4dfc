#pragma once
// The RunObserver that writes a run into the SQLite store through RunWriter: the run
// row on start, every step, event, evaluation, statistics and speed row as it comes
// (RunWriter commits them in batches, at least once a second), and the final status
// with the summary on finish.
#include <cstdint>
#include <memory>
#include <string>

#include "store/store.h"
#include "train/run_observer.h"

namespace plab {

class StoreRecorder final : public RunObserver {
 public:
  // Opens (creating or migrating) the database; throws StoreError naming the file.
  explicit StoreRecorder(const std::string& dbPath, StoreOptions options = {});
  ~StoreRecorder() override;

  std::int64_t runId() const { return writer_->runId(); }
  RunWriter& writer() { return *writer_; }
  // Ends a run that could not finish normally (the boundary caught an error after
  // onStarted): marks it failed with the message, if it is not finished yet.
  void markFailed(const std::string& error);

  void onStarted(const RunStartInfo& info) override;
  void onSteps(std::span<const StepMetrics> steps) override;
  void onOverflow(const OverflowEvent& e) override { writer_->appendOverflow(e); }
  void onScaleGrowth(const ScaleGrowthEvent& e) override { writer_->appendScaleGrowth(e); }
  void onPromotion(const PrecisionPromotion& p) override { writer_->appendPromotion(p); }
  void onEpoch(const EpochMetrics& e) override { writer_->appendEpoch(e); }
  void onLayerStats(std::span<const LayerStatsRecord> records) override;
  void onSpeed(std::span<const SpeedResult> results) override;
  void onFinished(const RunOutcome& outcome) override;

 private:
  std::unique_ptr<RunWriter> writer_;
  BackendInfo backend_;
};

}  // namespace plab
