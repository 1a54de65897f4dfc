#include "train/store_recorder.h"

#include "train/run_summary.h"

namespace plab {

StoreRecorder::StoreRecorder(const std::string& dbPath, StoreOptions options)
    : writer_(std::make_unique<RunWriter>(dbPath, options)) {}

StoreRecorder::~StoreRecorder() = default;

void StoreRecorder::onStarted(const RunStartInfo& info) {
  backend_ = info.backend;
  writer_->createRun(info.config, info.title, info.backend.name, info.backend.device);
  if (!info.backendNote.empty()) writer_->appendEvent(0, "backend", {{"note", info.backendNote}});
}

void StoreRecorder::onSteps(std::span<const StepMetrics> steps) {
  for (const StepMetrics& m : steps) writer_->appendStep(m);
}

void StoreRecorder::onLayerStats(std::span<const LayerStatsRecord> records) {
  writer_->appendLayerStats(records);
}

void StoreRecorder::onSpeed(std::span<const SpeedResult> results) {
  for (const SpeedResult& r : results) writer_->appendSpeed(r);
}

void StoreRecorder::onFinished(const RunOutcome& outcome) {
  writer_->finish(outcome.status, outcome.error, runSummaryJson(outcome, writer_->runId(), backend_));
}

void StoreRecorder::markFailed(const std::string& error) {
  if (writer_->runId() == 0 || writer_->finished()) return;
  RunOutcome failed;
  failed.status = RunStatus::failed;
  failed.error = error;
  writer_->finish(RunStatus::failed, error, runSummaryJson(failed, writer_->runId(), backend_));
}

}  // namespace plab
