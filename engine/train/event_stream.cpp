#include "train/event_stream.h"

#include "core/run_record.h"
#include "train/run_summary.h"

namespace plab {

using namespace protocol;

EventStreamObserver::EventStreamObserver(Sink sink, std::function<std::int64_t()> runId, std::string dbPath)
    : sink_(std::move(sink)), runId_(std::move(runId)), dbPath_(std::move(dbPath)) {}

void EventStreamObserver::onStarted(const RunStartInfo& info) {
  backend_ = info.backend;
  if (!info.backendNote.empty()) sink_(LogBatch{{LogEntry{"info", "backend: " + info.backendNote}}});
  RunStarted m;
  m.runId = runId_ ? runId_() : 0;
  m.dbPath = dbPath_;
  m.config = info.config;
  m.totalSteps = info.totalSteps;
  m.layers = info.layerNames;
  m.backend = info.backend.name;
  m.device = info.backend.device;
  sink_(std::move(m));
}

void EventStreamObserver::onSteps(std::span<const StepMetrics> steps) {
  if (!steps.empty()) sink_(StepsBatch{{steps.begin(), steps.end()}});
}

void EventStreamObserver::onOverflow(const OverflowEvent& e) { sink_(OverflowBatch{{e}}); }
void EventStreamObserver::onScaleGrowth(const ScaleGrowthEvent& e) { sink_(ScaleGrowthBatch{{e}}); }
void EventStreamObserver::onPromotion(const PrecisionPromotion& p) { sink_(PromotionBatch{{p}}); }
void EventStreamObserver::onEpoch(const EpochMetrics& e) { sink_(EpochBatch{{e}}); }

void EventStreamObserver::onLayerStats(std::span<const LayerStatsRecord> records) {
  if (records.empty()) return;
  LayerStatsBatch batch{{records.begin(), records.end()}};
  sortLayerStats(batch.records);  // the order of the store and of RunRecord (core/run_record.h)
  sink_(std::move(batch));
}

void EventStreamObserver::onSpeed(std::span<const SpeedResult> results) {
  if (!results.empty()) sink_(SpeedBatch{{results.begin(), results.end()}});
}

void EventStreamObserver::onProgress(const RunProgress& p) {
  Progress m;
  m.step = p.step;
  m.total = p.totalSteps;
  m.epoch = p.epoch;
  m.stepsPerSecond = p.stepsPerSecond;
  m.etaSeconds = p.etaSeconds;
  m.paused = p.paused;
  sink_(m);
}

void EventStreamObserver::onFinished(const RunOutcome& outcome) {
  if (outcome.status == RunStatus::failed)
    sink_(ErrorMessage{outcome.error, outcome.steps > 0 ? "step " + std::to_string(outcome.steps) : "run"});
  RunFinished m;
  m.status = outcome.status;
  m.error = outcome.error;
  m.summary = runSummaryJson(outcome, runId_ ? runId_() : 0, backend_);
  sink_(std::move(m));
}

}  // namespace plab
