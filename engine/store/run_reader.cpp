// RunReader: the queries behind the run browser, the plots and `export`.
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/json_number.h"
#include "protocol/records_json.h"
#include "store/database.h"
#include "store/store.h"
#include "store/store_open.h"

namespace plab {
namespace {

using nlohmann::json;

// Whether this process could open the file for writing; if not, the reader opens it
// read-only (an archive on a read-only share can still be browsed).
bool writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  if (!fs::exists(path, ec)) return access(folder.c_str(), W_OK) == 0;
  return access(path.c_str(), W_OK) == 0 && access(folder.c_str(), W_OK) == 0;
}

json parseJsonColumn(const std::string& text, const json& fallback) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? fallback : value;
}

std::vector<std::string> parseTags(const std::string& text) {
  std::vector<std::string> tags;
  const json value = parseJsonColumn(text, json::array());
  if (value.is_array())
    for (const auto& t : value)
      if (t.is_string()) tags.push_back(t.get<std::string>());
  return tags;
}

std::optional<double> optionalReal(const Statement& s, int col) {
  if (s.columnIsNull(col)) return std::nullopt;
  const double v = s.columnReal(col);
  return v < 0 ? std::nullopt : std::optional<double>(v);  // -1: not a classification task
}

// The run columns and the browser figures; `config` only when asked for.
std::string runQuery(bool withConfig, const std::string& where) {
  return std::string(
             "SELECT r.id, r.name, r.title, r.status, r.created_at, coalesce(r.finished_at, ''), r.backend, r.device, "
             "r.notes, r.tags, r.error, r.summary, r.dataset, r.writer_host, r.writer_pid, "
             // Kept on the run row by the writer at each commit (schema v2).
             "r.step_count, r.last_step, r.last_loss, r.last_loss_scale, r.overflow_count, r.skipped_count, "
             "(SELECT test_accuracy FROM epoch_metrics m WHERE m.run_id = r.id ORDER BY step DESC, id DESC LIMIT 1), "
             "(SELECT test_loss FROM epoch_metrics m WHERE m.run_id = r.id ORDER BY step DESC, id DESC LIMIT 1), ") +
         (withConfig ? "r.config" : "NULL") + " FROM runs r " + where;
}

RunInfo readRun(const Statement& s) {
  RunInfo r;
  r.id = s.columnInt(0);
  r.name = s.columnText(1);
  r.title = s.columnText(2);
  r.status = protocol::runStatusFromText(s.columnText(3)).value_or(RunStatus::interrupted);
  r.createdAt = s.columnText(4);
  r.finishedAt = s.columnText(5);
  r.backend = s.columnText(6);
  r.device = s.columnText(7);
  r.notes = s.columnText(8);
  r.tags = parseTags(s.columnText(9));
  r.error = s.columnText(10);
  r.summary = parseJsonColumn(s.columnText(11), json::object());
  r.datasetName = s.columnText(12);
  r.writerHost = s.columnText(13);
  r.writerPid = s.columnInt(14);
  r.stepCount = s.columnInt(15);
  r.lastStep = s.columnInt(16);
  r.lastLoss = s.columnReal(17);
  r.lastLossScale = s.columnReal(18);
  r.overflowCount = s.columnInt(19);
  r.skippedCount = s.columnInt(20);
  r.testAccuracy = optionalReal(s, 21);
  if (!s.columnIsNull(22)) r.testLoss = s.columnReal(22);
  if (!s.columnIsNull(23)) r.config = parseJsonColumn(s.columnText(23), json());
  return r;
}

}  // namespace

RunReader::RunReader(const std::string& dbPath, StoreOptions options) : path_(dbPath) {
  const bool readOnly = options.readOnly || !writable(dbPath);
  db_ = openStore(dbPath, options, readOnly, &interruptedOnOpen_);
}

RunReader::~RunReader() = default;

std::vector<RunInfo> RunReader::listRuns() {
  Statement s = db_->prepare(runQuery(false, "ORDER BY r.id DESC"));
  std::vector<RunInfo> runs;
  while (s.step()) runs.push_back(readRun(s));
  return runs;
}

std::optional<RunInfo> RunReader::getRun(std::int64_t runId) {
  Statement s = db_->prepare(runQuery(true, "WHERE r.id = ?1"));
  s.bind(1, runId);
  if (!s.step()) return std::nullopt;
  return readRun(s);
}

std::vector<StepMetrics> RunReader::loadSteps(std::int64_t runId, std::int64_t sinceStep) {
  Statement s = db_->prepare(
      "SELECT step, epoch, loss, loss_scale, overflow, skipped, culprit, grad_norm, learning_rate, step_ms, "
      "samples_per_second FROM step_metrics WHERE run_id = ?1 AND step > ?2 ORDER BY step");
  s.bind(1, runId).bind(2, sinceStep);
  std::vector<StepMetrics> steps;
  while (s.step()) {
    StepMetrics m;
    m.step = s.columnInt(0);
    m.epoch = std::int32_t(s.columnInt(1));
    m.loss = s.columnReal(2);
    m.lossScale = s.columnReal(3);
    m.overflow = s.columnInt(4) != 0;
    m.skipped = s.columnInt(5) != 0;
    m.culprit = s.columnText(6);
    m.gradNorm = s.columnReal(7);
    m.learningRate = s.columnReal(8);
    m.stepMs = s.columnReal(9);
    m.samplesPerSecond = s.columnReal(10);
    steps.push_back(std::move(m));
  }
  return steps;
}

std::vector<StoredEvent> RunReader::loadEvents(std::int64_t runId, std::int64_t sinceId) {
  Statement s = db_->prepare(
      "SELECT id, step, kind, name, payload FROM events WHERE run_id = ?1 AND id > ?2 ORDER BY id");
  s.bind(1, runId).bind(2, sinceId);
  std::vector<StoredEvent> events;
  while (s.step()) {
    StoredEvent e;
    e.id = s.columnInt(0);
    e.step = s.columnInt(1);
    const std::string kind = s.columnText(2);
    e.kind = kind == "overflow" ? EventKind::overflow : kind == "scale_growth" ? EventKind::scale_growth : EventKind::other;
    e.name = s.columnText(3);
    e.payload = parseJsonColumn(s.columnText(4), json::object());
    events.push_back(std::move(e));
  }
  return events;
}

namespace {

// The records of one kind among a run's events, decoded from their JSON form
// (protocol/records_json.h); a payload that does not decode names the event.
template <class Record>
std::vector<Record> decodeEvents(const std::string& path, std::int64_t runId, const std::vector<StoredEvent>& events,
                                 EventKind kind, const char* name = nullptr) {
  std::vector<Record> out;
  for (const auto& e : events) {
    if (e.kind != kind || (name && e.name != name)) continue;
    try {
      out.push_back(e.payload.get<Record>());
    } catch (const protocol::ProtocolError& error) {
      throw StoreError(path + ": run " + std::to_string(runId) + ", event " + std::to_string(e.id) + ": bad " +
                       (name ? name : eventKindName(kind)) + " payload: " + error.what());
    }
  }
  return out;
}

// The rows of `all` past the first `held`.
template <class T>
std::vector<T> tailBeyond(std::vector<T>&& all, std::size_t held) {
  if (held >= all.size()) return {};
  return std::vector<T>(std::make_move_iterator(all.begin() + std::ptrdiff_t(held)), std::make_move_iterator(all.end()));
}

}  // namespace

std::vector<OverflowEvent> RunReader::loadOverflows(std::int64_t runId) {
  return decodeEvents<OverflowEvent>(path_, runId, loadEvents(runId), EventKind::overflow);
}

std::vector<ScaleGrowthEvent> RunReader::loadScaleGrowths(std::int64_t runId) {
  return decodeEvents<ScaleGrowthEvent>(path_, runId, loadEvents(runId), EventKind::scale_growth);
}

std::vector<PrecisionPromotion> RunReader::loadPromotions(std::int64_t runId) {
  return decodeEvents<PrecisionPromotion>(path_, runId, loadEvents(runId), EventKind::other, kPromotionEventName);
}

RunRecord RunReader::loadRecord(std::int64_t runId, const RunRecordCursor& since) {
  // One snapshot: a writer committing between two of these reads would otherwise give
  // rows of one table that the next read of another table does not match.
  ReadSnapshot snapshot(*db_);
  Statement summary = db_->prepare("SELECT summary FROM runs WHERE id = ?1");
  summary.bind(1, runId);
  if (!summary.step()) throw StoreError(path_ + ": run " + std::to_string(runId) + " not found");
  RunRecord r;
  r.summary = parseJsonColumn(summary.columnText(0), json::object());
  r.steps = loadSteps(runId, since.lastStep);
  const std::vector<StoredEvent> events = loadEvents(runId);
  // Events, evaluations and speed results are few: the new ones are the tail.
  r.overflows = tailBeyond(decodeEvents<OverflowEvent>(path_, runId, events, EventKind::overflow), since.overflows);
  r.scaleGrowths =
      tailBeyond(decodeEvents<ScaleGrowthEvent>(path_, runId, events, EventKind::scale_growth), since.scaleGrowths);
  r.promotions = tailBeyond(decodeEvents<PrecisionPromotion>(path_, runId, events, EventKind::other, kPromotionEventName),
                            since.promotions);
  r.epochs = tailBeyond(loadEpochs(runId), since.epochs);
  r.layerStats = loadLayerStats(runId, since.lastStatsStep);
  r.speed = tailBeyond(loadSpeed(runId), since.speed);
  return r;
}

std::vector<EpochMetrics> RunReader::loadEpochs(std::int64_t runId) {
  Statement s = db_->prepare(
      "SELECT epoch, step, train_loss, train_accuracy, test_loss, test_accuracy FROM epoch_metrics "
      "WHERE run_id = ?1 ORDER BY step, id");
  s.bind(1, runId);
  std::vector<EpochMetrics> epochs;
  while (s.step()) {
    EpochMetrics m;
    m.epoch = std::int32_t(s.columnInt(0));
    m.step = s.columnInt(1);
    m.trainLoss = s.columnReal(2);
    m.trainAccuracy = s.columnReal(3);
    m.testLoss = s.columnReal(4);
    m.testAccuracy = s.columnReal(5);
    epochs.push_back(m);
  }
  return epochs;
}

namespace {

// Columns first..first+6 of a layer_stats row (shadow_count ... shadow_histogram) in
// the JSON form, so that one decoder reads the pipe, the export and the store.
json shadowJson(const Statement& s, int first) {
  return {{"count", s.columnInt(first)},
          {"zeros", s.columnInt(first + 1)},
          {"underflows", s.columnInt(first + 2)},
          {"overflows", s.columnInt(first + 3)},
          {"precision_loss", s.columnInt(first + 4)},
          {"rel_error", numberToJson(s.columnReal(first + 5))},
          {"hist_min", kLog2HistMin},
          {"hist", parseJsonColumn(s.columnText(first + 6), json::array())}};
}

}  // namespace

std::vector<LayerStatsRecord> RunReader::loadLayerStats(std::int64_t runId, std::int64_t sinceStep) {
  Statement s = db_->prepare(
      "SELECT step, layer_index, layer_name, kind, precision, count, zeros, underflows, overflows, non_finite, "
      "max_abs, histogram, shadow_count, shadow_zeros, shadow_underflows, shadow_overflows, shadow_precision_loss, "
      "shadow_rel_error, shadow_histogram, product_rel_error, sample FROM layer_stats WHERE run_id = ?1 AND step > ?2 "
      "ORDER BY step, layer_index, kind = 'gradient', id");
  s.bind(1, runId).bind(2, sinceStep);
  std::vector<LayerStatsRecord> records;
  while (s.step()) {
    LayerStatsRecord r;
    r.step = s.columnInt(0);
    r.layerIndex = std::int32_t(s.columnInt(1));
    r.layerName = s.columnText(2);
    r.kind = protocol::statsKindFromText(s.columnText(3)).value_or(StatsKind::activation);
    r.precision = s.columnText(4);
    // Rebuild the JSON form and decode it: one reader of the sparse histogram.
    const json stats = {{"count", s.columnInt(5)},      {"zeros", s.columnInt(6)},
                        {"underflows", s.columnInt(7)}, {"overflows", s.columnInt(8)},
                        {"non_finite", s.columnInt(9)}, {"max_abs", numberToJson(s.columnReal(10))},
                        {"hist_min", kLog2HistMin},     {"hist", parseJsonColumn(s.columnText(11), json::array())}};
    r.hasShadow = !s.columnIsNull(12);
    if (!s.columnIsNull(19)) r.productRelError = s.columnReal(19);
    try {
      from_json(stats, r.stats);
      if (r.hasShadow) from_json(shadowJson(s, 12), r.shadow);
      if (!s.columnIsNull(20)) r.sample = statsSampleFromJson(parseJsonColumn(s.columnText(20), json::array()));
    } catch (const protocol::ProtocolError& e) {
      throw StoreError(path_ + ": run " + std::to_string(runId) + ", layer_stats at step " + std::to_string(r.step) +
                       ": " + e.what());
    }
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<SpeedResult> RunReader::loadSpeed(std::int64_t runId) {
  Statement s = db_->prepare(
      "SELECT id, config, batch_size, median_step_ms, samples_per_second, measured_steps FROM speed_results "
      "WHERE run_id = ?1 ORDER BY id");
  Statement timings = db_->prepare(
      "SELECT layer_name, forward_ms, backward_ms FROM speed_layer_timings WHERE speed_id = ?1 ORDER BY position");
  s.bind(1, runId);
  std::vector<SpeedResult> results;
  while (s.step()) {
    SpeedResult r;
    r.config = s.columnText(1);
    r.batchSize = std::int32_t(s.columnInt(2));
    r.medianStepMs = s.columnReal(3);
    r.samplesPerSecond = s.columnReal(4);
    r.measuredSteps = std::int32_t(s.columnInt(5));
    timings.bind(1, s.columnInt(0));
    while (timings.step()) r.layers.push_back({timings.columnText(0), timings.columnReal(1), timings.columnReal(2)});
    timings.reset();
    results.push_back(std::move(r));
  }
  return results;
}

namespace {

void updateRunColumn(Database& db, std::int64_t runId, const char* column, const std::string& value) {
  Statement s = db.prepare(std::string("UPDATE runs SET ") + column + " = ?2 WHERE id = ?1");
  s.bind(1, runId).bind(2, value).run();
  if (db.changes() == 0) throw StoreError(db.path() + ": run " + std::to_string(runId) + " not found");
}

}  // namespace

void RunReader::updateNotes(std::int64_t runId, const std::string& notes) { updateRunColumn(*db_, runId, "notes", notes); }

void RunReader::updateTags(std::int64_t runId, const std::vector<std::string>& tags) {
  updateRunColumn(*db_, runId, "tags", json(tags).dump());
}

void RunReader::renameRun(std::int64_t runId, const std::string& name) { updateRunColumn(*db_, runId, "name", name); }

void RunReader::deleteRun(std::int64_t runId) {
  Statement s = db_->prepare("DELETE FROM runs WHERE id = ?1");
  s.bind(1, runId).run();
  if (db_->changes() == 0) throw StoreError(path_ + ": run " + std::to_string(runId) + " not found");
}

}  // namespace plab
