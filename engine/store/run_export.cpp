#include "store/run_export.h"

#include <charconv>
#include <cmath>

#include "protocol/records_json.h"

namespace plab {
namespace {

using nlohmann::json;

RunInfo requireRun(RunReader& reader, std::int64_t runId) {
  auto run = reader.getRun(runId);
  if (!run) throw StoreError(reader.path() + ": run " + std::to_string(runId) + " not found");
  return *run;
}

std::string accuracyCell(double v) { return v < 0 ? "" : csvNumber(v); }

}  // namespace

std::string csvNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, result.ptr);
}

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void writeStepsCsv(RunReader& reader, std::int64_t runId, std::ostream& out) {
  requireRun(reader, runId);
  out << kStepsCsvHeader << "\n";
  for (const StepMetrics& m : reader.loadSteps(runId)) {
    out << m.step << ',' << csvNumber(m.loss) << ',' << csvNumber(m.lossScale) << ',' << (m.overflow ? 1 : 0) << ','
        << (m.skipped ? 1 : 0) << ',' << m.epoch << ',' << csvField(m.culprit) << ','
        << csvNumber(m.gradNorm) << ',' << csvNumber(m.learningRate) << ',' << csvNumber(m.stepMs) << ','
        << csvNumber(m.samplesPerSecond) << "\n";
  }
}

void writeEpochsCsv(RunReader& reader, std::int64_t runId, std::ostream& out) {
  requireRun(reader, runId);
  out << kEpochsCsvHeader << "\n";
  for (const EpochMetrics& m : reader.loadEpochs(runId)) {
    out << m.epoch << ',' << m.step << ',' << csvNumber(m.trainLoss) << ',' << accuracyCell(m.trainAccuracy) << ','
        << csvNumber(m.testLoss) << ',' << accuracyCell(m.testAccuracy) << "\n";
  }
}

json runInfoToJson(const RunInfo& run) {
  json j = {{"id", run.id},
            {"name", run.name},
            {"title", run.title},
            {"status", protocol::runStatusText(run.status)},
            {"created_at", run.createdAt},
            {"finished_at", run.finishedAt.empty() ? json() : json(run.finishedAt)},
            {"dataset", run.datasetName},
            {"backend", run.backend},
            {"device", run.device},
            {"notes", run.notes},
            {"tags", run.tags},
            {"error", run.error},
            {"summary", run.summary},
            {"steps", run.stepCount},
            {"last_step", run.lastStep},
            {"last_loss", protocol::numberToJson(run.lastLoss)},
            {"last_loss_scale", protocol::numberToJson(run.lastLossScale)},
            {"overflow_events", run.overflowCount},
            {"skipped_steps", run.skippedCount},
            {"test_accuracy", run.testAccuracy ? protocol::numberToJson(*run.testAccuracy) : json()},
            {"test_loss", run.testLoss ? protocol::numberToJson(*run.testLoss) : json()}};
  if (!run.config.is_null()) j["config"] = run.config;
  return j;
}

json runToJson(RunReader& reader, std::int64_t runId) {
  const RunInfo run = requireRun(reader, runId);
  json scaleGrowth = json::array();
  for (const auto& e : reader.loadEvents(runId))
    if (e.kind == EventKind::scale_growth) scaleGrowth.push_back(e.payload);
  return {{"format", "precisionlab-run"},
          {"version", 1},
          {"run", runInfoToJson(run)},
          {"steps", reader.loadSteps(runId)},
          {"epochs", reader.loadEpochs(runId)},
          {"overflows", reader.loadOverflows(runId)},
          {"scale_growth", std::move(scaleGrowth)},
          {"layer_stats", reader.loadLayerStats(runId)},
          {"speed", reader.loadSpeed(runId)}};
}

}  // namespace plab
