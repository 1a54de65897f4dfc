#pragma once
// Everything one run produces, as one value: the rows the trainer reports (core/records.h)
// in the order it reported them, and the summary it ends with. The store reads a run
// into it (RunReader::loadRecord), the GUI's RunData is one (ui/runs/run_data.h), and
// the exporter writes it (store/run_export.h), so a run streamed from a worker, a run
// followed in the store and a run loaded whole are the same rows.
#include <cstddef>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/records.h"

namespace plab {

struct RunRecord {
  std::vector<StepMetrics> steps;              // step order
  std::vector<OverflowEvent> overflows;        // step order
  std::vector<ScaleGrowthEvent> scaleGrowths;  // step order
  std::vector<PrecisionPromotion> promotions;  // step order (adaptive precision)
  std::vector<EpochMetrics> epochs;            // evaluation order
  std::vector<LayerStatsRecord> layerStats;    // step, then layer, activations before gradients
  std::vector<SpeedResult> speed;              // benchmark order
  nlohmann::json summary = nlohmann::json::object();  // the finished run's (run_summary); {} before

  // Appends the rows of `more` (rows that come after these), and takes its summary when it has one.
  void append(RunRecord&& more);
};

// A run's final train loss, the one figure every view calls by that name (the run
// browser, the report, the comparison table, `run --summary-json`): the trainer's
// mean training loss over the last epoch's steps that were not skipped
// (summary "final_train_loss"). None before the run has finished.
std::optional<double> finalTrainLoss(const nlohmann::json& summary);

// The order of layer statistics in a RunRecord, on the worker pipe and in the store:
// by step, then layer index, activations before gradients. The network records them
// as it computes them (forward, then backward in reverse); sortLayerStats puts one
// step's records in this order, stably.
bool layerStatsBefore(const LayerStatsRecord& a, const LayerStatsRecord& b);
void sortLayerStats(std::vector<LayerStatsRecord>& records);

// How far a copy of a run goes: each row list is appended to in order, so where a copy
// stands is its last step and how many rows of each kind it holds. A reader asks the
// store for what lies beyond (RunReader::loadRecord(runId, since)).
struct RunRecordCursor {
  std::int64_t lastStep = 0;        // steps with a larger step are new
  std::int64_t lastStatsStep = 0;   // layer statistics with a larger step are new
  std::size_t overflows = 0, scaleGrowths = 0, promotions = 0, epochs = 0, speed = 0;  // rows held
};
RunRecordCursor cursorOf(const RunRecord& record);

}  // namespace plab
