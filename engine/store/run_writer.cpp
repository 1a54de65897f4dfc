// RunWriter: buffers the records of one run and commits them in batches, one
// transaction at a time, at least every flushInterval.
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "protocol/records_json.h"
#include "store/process_identity.h"
#include "store/store.h"
#include "store/store_open.h"
#include "store/writer_buffer.h"

namespace plab {

using nlohmann::json;

RunWriter::RunWriter(const std::string& dbPath, StoreOptions options)
    : path_(dbPath), options_(options), buffer_(std::make_unique<Buffer>()), flusher_(std::make_unique<Flusher>()) {
  db_ = openStore(dbPath, options_, /*readOnly=*/false);
}

RunWriter::~RunWriter() {
  stopFlusher();
  try {
    std::lock_guard lock(flusher_->mutex);
    if (runId_ != 0) flushLocked();
  } catch (const std::exception& e) {
    std::cerr << "precisionlab: run " << runId_ << ": last flush failed: " << e.what() << "\n";
  }
}

std::int64_t RunWriter::createRun(const json& config, const std::string& title, const std::string& backend,
                                  const std::string& device) {
  std::lock_guard lock(flusher_->mutex);
  if (runId_ != 0) throw StoreError(path_ + ": createRun called twice on one RunWriter (run " + std::to_string(runId_) + ")");
  const ProcessIdentity me = currentProcess();
  std::string dataset;
  if (config.is_object() && config.contains("dataset") && config["dataset"].is_object() &&
      config["dataset"].contains("name") && config["dataset"]["name"].is_string())
    dataset = config["dataset"]["name"].get<std::string>();
  const std::string now = utcNow();

  Transaction tx(*db_);
  Statement insert = db_->prepare(
      "INSERT INTO runs (name, title, created_at, status, config, dataset, backend, device, writer_host, writer_pid, "
      "writer_start, heartbeat_at) VALUES (?1, ?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?2)");
  insert.bind(1, title).bind(2, now).bind(3, config.dump()).bind(4, dataset).bind(5, backend).bind(6, device);
  insert.bind(7, me.host).bind(8, me.pid).bind(9, me.startToken).run();
  runId_ = db_->lastInsertId();
  tx.commit();

  buffer_->lastFlush = Clock::now();
  if (options_.backgroundFlush) startFlusher();
  return runId_;
}

void RunWriter::requireRun(const char* what) const {
  if (runId_ == 0) throw StoreError(path_ + ": " + what + " before createRun");
  if (finished_) throw StoreError(path_ + ": " + what + " after finish (run " + std::to_string(runId_) + ")");
}

// Every append: note the record, then commit if the last commit is older than the interval.
template <class F>
void RunWriter::appendWith(const char* what, F&& add) {
  std::lock_guard lock(flusher_->mutex);
  requireRun(what);
  if (buffer_->empty()) buffer_->oldestPending = Clock::now();
  add(*buffer_);
  maybeFlush();
}

void RunWriter::appendStep(const StepMetrics& m) {
  appendWith("appendStep", [&](Buffer& b) { b.steps.push_back(m); });
}

void RunWriter::appendOverflow(const OverflowEvent& e) {
  appendWith("appendOverflow", [&](Buffer& b) { b.events.push_back({e.step, EventKind::overflow, "overflow", json(e).dump()}); });
}

void RunWriter::appendScaleGrowth(const ScaleGrowthEvent& e) {
  appendWith("appendScaleGrowth",
             [&](Buffer& b) { b.events.push_back({e.step, EventKind::scale_growth, "scale_growth", json(e).dump()}); });
}

void RunWriter::appendPromotion(const PrecisionPromotion& p) {
  appendWith("appendPromotion",
             [&](Buffer& b) { b.events.push_back({p.step, EventKind::other, kPromotionEventName, json(p).dump()}); });
}

void RunWriter::appendEvent(std::int64_t step, const std::string& name, const json& payload) {
  appendWith("appendEvent", [&](Buffer& b) { b.events.push_back({step, EventKind::other, name, payload.dump()}); });
}

void RunWriter::appendEpoch(const EpochMetrics& m) {
  appendWith("appendEpoch", [&](Buffer& b) { b.epochs.push_back(m); });
}

void RunWriter::appendLayerStats(const LayerStatsRecord& r) {
  appendWith("appendLayerStats", [&](Buffer& b) { b.layerStats.push_back(r); });
}

void RunWriter::appendLayerStats(std::span<const LayerStatsRecord> records) {
  appendWith("appendLayerStats", [&](Buffer& b) { b.layerStats.insert(b.layerStats.end(), records.begin(), records.end()); });
}

void RunWriter::appendSpeed(const SpeedResult& r) {
  appendWith("appendSpeed", [&](Buffer& b) { b.speed.push_back(r); });
}

void RunWriter::maybeFlush() {
  if (!buffer_->backgroundError.empty()) {
    const std::string error = std::move(buffer_->backgroundError);
    buffer_->backgroundError.clear();
    throw StoreError(error);
  }
  if (Clock::now() - buffer_->lastFlush >= options_.flushInterval) flushLocked();
}

void RunWriter::flush() {
  std::lock_guard lock(flusher_->mutex);
  if (runId_ == 0) return;
  buffer_->backgroundError.clear();  // this flush retries whatever the background one failed on
  flushLocked();
}

void RunWriter::finish(RunStatus status, const std::string& error, const json& summary) {
  stopFlusher();
  std::lock_guard lock(flusher_->mutex);
  requireRun("finish");
  flushLocked();
  Transaction tx(*db_);
  Statement update = db_->prepare(
      "UPDATE runs SET status = ?2, finished_at = ?3, heartbeat_at = ?3, error = ?4, summary = ?5 WHERE id = ?1");
  update.bind(1, runId_).bind(2, std::string(protocol::runStatusText(status))).bind(3, utcNow());
  update.bind(4, error).bind(5, summary.is_null() ? std::string("{}") : summary.dump()).run();
  tx.commit();
  finished_ = true;
}

void RunWriter::startFlusher() {
  Flusher& f = *flusher_;
  f.stop = false;
  f.thread = std::thread([this, &f] {
    const auto period = std::max(options_.flushInterval / 4, std::chrono::milliseconds(10));
    std::unique_lock lock(f.mutex);
    while (!f.stop) {
      f.wake.wait_for(lock, period, [&] { return f.stop; });
      if (f.stop || buffer_->empty() || !buffer_->backgroundError.empty()) continue;
      if (Clock::now() - buffer_->oldestPending < options_.flushInterval) continue;
      try {
        flushLocked();
      } catch (const std::exception& e) {
        buffer_->backgroundError = e.what();  // the owner sees it on its next append or flush
      }
    }
  });
}

void RunWriter::stopFlusher() {
  if (!flusher_ || !flusher_->thread.joinable()) return;
  {
    std::lock_guard lock(flusher_->mutex);
    flusher_->stop = true;
  }
  flusher_->wake.notify_all();
  flusher_->thread.join();
}

}  // namespace plab
