#include "store/run_export.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json_number.h"
#include "protocol/records_json.h"

namespace plab {
namespace {

using nlohmann::json;

std::string accuracyCell(double v) { return v < 0 ? "" : csvNumber(v); }

std::ofstream openForWriting(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw ExportError("cannot write " + path + ": " + std::strerror(errno));
  return out;
}

void finishWriting(std::ofstream& out, const std::string& path) {
  out.flush();
  if (!out) throw ExportError("writing " + path + " failed (disk full?)");
}

}  // namespace

StoredRun loadStoredRun(RunReader& reader, std::int64_t runId) {
  auto info = reader.getRun(runId);
  if (!info) throw StoreError(reader.path() + ": run " + std::to_string(runId) + " not found");
  return {std::move(*info), reader.loadRecord(runId)};
}

std::string csvNumber(double v) {
  // The spelling of core/json_number.h, so a CSV and a JSON export of a run agree.
  if (!std::isfinite(v)) return numberToJson(v).get<std::string>();
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

void writeStepsCsv(const RunRecord& run, std::ostream& out) {
  out << kStepsCsvHeader << "\n";
  for (const StepMetrics& m : run.steps) {
    out << m.step << ',' << csvNumber(m.loss) << ',' << csvNumber(m.lossScale) << ',' << (m.overflow ? 1 : 0) << ','
        << (m.skipped ? 1 : 0) << ',' << m.epoch << ',' << csvField(m.culprit) << ','
        << csvNumber(m.gradNorm) << ',' << csvNumber(m.learningRate) << ',' << csvNumber(m.stepMs) << ','
        << csvNumber(m.samplesPerSecond) << "\n";
  }
}

void writeEpochsCsv(const RunRecord& run, std::ostream& out) {
  out << kEpochsCsvHeader << "\n";
  for (const EpochMetrics& m : run.epochs) {
    out << m.epoch << ',' << m.step << ',' << csvNumber(m.trainLoss) << ',' << accuracyCell(m.trainAccuracy) << ','
        << csvNumber(m.testLoss) << ',' << accuracyCell(m.testAccuracy) << "\n";
  }
}

void writeRunCsv(const RunRecord& run, std::ostream& out) {
  writeStepsCsv(run, out);
  out << "\n";
  writeEpochsCsv(run, out);
}

std::string epochsCsvPath(const std::string& stepsPath) {
  const std::filesystem::path p(stepsPath);
  const std::string stem = p.extension() == ".csv" ? p.stem().string() : p.filename().string();
  return (p.parent_path() / (stem + ".epochs.csv")).string();
}

void writeRunCsvFiles(const RunRecord& run, const std::string& stepsPath) {
  const std::string epochsPath = epochsCsvPath(stepsPath);
  std::ofstream steps = openForWriting(stepsPath);
  writeStepsCsv(run, steps);
  finishWriting(steps, stepsPath);
  std::ofstream epochs = openForWriting(epochsPath);
  writeEpochsCsv(run, epochs);
  finishWriting(epochs, epochsPath);
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
            {"last_loss", numberToJson(run.lastLoss)},
            {"last_loss_scale", numberToJson(run.lastLossScale)},
            {"overflow_events", run.overflowCount},
            {"skipped_steps", run.skippedCount},
            {"test_accuracy", run.testAccuracy ? numberToJson(*run.testAccuracy) : json()},
            {"test_loss", run.testLoss ? numberToJson(*run.testLoss) : json()}};
  if (!run.config.is_null()) j["config"] = run.config;
  return j;
}

json runToJson(const RunInfo& info, const RunRecord& run) {
  return {{"format", "precisionlab-run"},
          {"version", 1},
          {"run", runInfoToJson(info)},
          {"steps", run.steps},
          {"epochs", run.epochs},
          {"overflows", run.overflows},
          {"scale_growth", run.scaleGrowths},
          {"promotions", run.promotions},
          {"layer_stats", run.layerStats},
          {"speed", run.speed}};
}

}  // namespace plab
