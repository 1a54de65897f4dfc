// RunWriter::flushLocked: everything buffered goes to SQLite in one transaction.
#include <algorithm>

#include "protocol/records_json.h"
#include "store/database.h"
#include "store/writer_buffer.h"

namespace plab {
namespace {

using nlohmann::json;

void insertSteps(Database& db, std::int64_t runId, const std::vector<StepMetrics>& steps) {
  if (steps.empty()) return;
  // OR REPLACE: a step recorded twice (a resumed logger) keeps its latest values.
  Statement s = db.prepare(
      "INSERT OR REPLACE INTO step_metrics (run_id, step, epoch, loss, loss_scale, overflow, skipped, culprit, "
      "grad_norm, learning_rate, step_ms, samples_per_second) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  for (const auto& m : steps) {
    s.bind(1, runId).bind(2, m.step).bind(3, m.epoch).bindReal(4, m.loss).bindReal(5, m.lossScale);
    s.bind(6, m.overflow).bind(7, m.skipped).bind(8, m.culprit).bindReal(9, m.gradNorm);
    s.bindReal(10, m.learningRate).bindReal(11, m.stepMs).bindReal(12, m.samplesPerSecond).run();
  }
}

template <class Event>
void insertEvents(Database& db, std::int64_t runId, const std::vector<Event>& events) {
  if (events.empty()) return;
  Statement s = db.prepare("INSERT INTO events (run_id, step, kind, name, payload) VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const auto& e : events)
    s.bind(1, runId).bind(2, e.step).bind(3, std::string(eventKindName(e.kind))).bind(4, e.name).bind(5, e.payload).run();
}

void insertEpochs(Database& db, std::int64_t runId, const std::vector<EpochMetrics>& epochs) {
  if (epochs.empty()) return;
  Statement s = db.prepare(
      "INSERT INTO epoch_metrics (run_id, epoch, step, train_loss, train_accuracy, test_loss, test_accuracy) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (const auto& m : epochs) {
    s.bind(1, runId).bind(2, m.epoch).bind(3, m.step).bindReal(4, m.trainLoss).bindReal(5, m.trainAccuracy);
    s.bindReal(6, m.testLoss).bindReal(7, m.testAccuracy).run();
  }
}

// Columns first..first+6: the shadow pass's figures, all NULL without one.
void bindShadow(Statement& s, int first, const LayerStatsRecord& r) {
  if (!r.hasShadow) {
    for (int c = first; c < first + 7; ++c) s.bindNull(c);
    return;
  }
  const json shadow = r.shadow;
  s.bind(first, r.shadow.count).bind(first + 1, r.shadow.zeros).bind(first + 2, r.shadow.underflows);
  s.bind(first + 3, r.shadow.overflows).bind(first + 4, r.shadow.precisionLoss);
  s.bindReal(first + 5, r.shadow.relError).bind(first + 6, shadow.at("hist").dump());
}

void insertLayerStats(Database& db, std::int64_t runId, const std::vector<LayerStatsRecord>& records) {
  if (records.empty()) return;
  Statement s = db.prepare(
      "INSERT INTO layer_stats (run_id, step, layer_index, layer_name, kind, precision, count, zeros, underflows, "
      "overflows, non_finite, max_abs, histogram, shadow_count, shadow_zeros, shadow_underflows, shadow_overflows, "
      "shadow_precision_loss, shadow_rel_error, shadow_histogram, product_rel_error, sample) VALUES (?1, ?2, ?3, ?4, "
      "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)");
  for (const auto& r : records) {
    const json stats = r.stats;  // the sparse histogram, as on the pipe
    s.bind(1, runId).bind(2, r.step).bind(3, r.layerIndex).bind(4, r.layerName);
    s.bind(5, std::string(protocol::statsKindText(r.kind))).bind(6, r.precision).bind(7, r.stats.count);
    s.bind(8, r.stats.zeros).bind(9, r.stats.underflows).bind(10, r.stats.overflows).bind(11, r.stats.nonFinite);
    s.bindReal(12, double(r.stats.maxAbs)).bind(13, stats.at("hist").dump());
    bindShadow(s, 14, r);
    if (r.productRelError) s.bindReal(21, *r.productRelError);
    else s.bindNull(21);
    if (!r.sample.empty()) s.bind(22, json(r).at("sample").dump());  // records_json.h's form
    else s.bindNull(22);
    s.run();
  }
}

void insertSpeed(Database& db, std::int64_t runId, const std::vector<SpeedResult>& results) {
  if (results.empty()) return;
  Statement result = db.prepare(
      "INSERT INTO speed_results (run_id, config, batch_size, median_step_ms, samples_per_second, measured_steps) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  Statement timing = db.prepare(
      "INSERT INTO speed_layer_timings (speed_id, position, layer_name, forward_ms, backward_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const auto& r : results) {
    result.bind(1, runId).bind(2, r.config).bind(3, r.batchSize).bindReal(4, r.medianStepMs);
    result.bindReal(5, r.samplesPerSecond).bind(6, r.measuredSteps).run();
    const std::int64_t speedId = db.lastInsertId();
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
      const LayerTiming& t = r.layers[i];
      timing.bind(1, speedId).bind(2, std::int64_t(i)).bind(3, t.layerName).bindReal(4, t.forwardMs).bindReal(5, t.backwardMs).run();
    }
  }
}

// Adds the batch to the totals. Steps after the last one are new rows; a step at or
// before it (written twice, or out of order) may replace a row, so then the totals
// are counted again from the table. Returns false in that case.
bool addToTotals(RunTotals& t, const std::vector<StepMetrics>& steps, std::int64_t newOverflows) {
  bool incremental = true;
  for (const auto& m : steps) {
    if (m.step <= t.lastStep) {
      incremental = false;
      continue;
    }
    ++t.steps;
    t.skipped += m.skipped ? 1 : 0;
    t.lastStep = m.step;
    t.lastLoss = m.loss;
    t.lastLossScale = m.lossScale;
  }
  t.overflows += newOverflows;
  return incremental;
}

void countTotals(Database& db, std::int64_t runId, RunTotals& t) {
  Statement s = db.prepare(
      "SELECT count(*), coalesce(sum(skipped), 0), coalesce(max(step), 0) FROM step_metrics WHERE run_id = ?1");
  s.bind(1, runId);
  s.step();
  t.steps = s.columnInt(0);
  t.skipped = s.columnInt(1);
  t.lastStep = s.columnInt(2);
  Statement last = db.prepare("SELECT loss, loss_scale FROM step_metrics WHERE run_id = ?1 AND step = ?2");
  last.bind(1, runId).bind(2, t.lastStep);
  if (last.step()) {
    t.lastLoss = last.columnReal(0);
    t.lastLossScale = last.columnReal(1);
  }
}

void updateRunRow(Database& db, std::int64_t runId, const RunTotals& t) {
  Statement s = db.prepare(
      "UPDATE runs SET heartbeat_at = ?2, step_count = ?3, skipped_count = ?4, overflow_count = ?5, last_step = ?6, "
      "last_loss = ?7, last_loss_scale = ?8 WHERE id = ?1");
  s.bind(1, runId).bind(2, utcNow()).bind(3, t.steps).bind(4, t.skipped).bind(5, t.overflows).bind(6, t.lastStep);
  s.bindReal(7, t.lastLoss).bindReal(8, t.lastLossScale).run();
}

}  // namespace

// The caller holds the flusher mutex. On failure the transaction rolls back and the
// buffer stays as it was, so nothing is half-written and a retry writes it all.
void RunWriter::flushLocked() {
  if (runId_ == 0) return;
  const bool nothingPending = buffer_->empty();
  // A heartbeat goes out even with nothing pending, at most once per interval.
  if (nothingPending && Clock::now() - buffer_->lastFlush < options_.flushInterval) return;
  RunTotals totals = buffer_->committed;
  const auto newOverflows = std::count_if(buffer_->events.begin(), buffer_->events.end(),
                                         [](const auto& e) { return e.kind == EventKind::overflow; });
  const bool incremental = addToTotals(totals, buffer_->steps, newOverflows);
  Transaction tx(*db_);
  insertSteps(*db_, runId_, buffer_->steps);
  insertEvents(*db_, runId_, buffer_->events);
  insertEpochs(*db_, runId_, buffer_->epochs);
  insertLayerStats(*db_, runId_, buffer_->layerStats);
  insertSpeed(*db_, runId_, buffer_->speed);
  if (!incremental) countTotals(*db_, runId_, totals);
  updateRunRow(*db_, runId_, totals);
  tx.commit();
  buffer_->committed = totals;  // only now: a failed commit leaves the old totals
  buffer_->clear();
  buffer_->lastFlush = Clock::now();
}

}  // namespace plab
