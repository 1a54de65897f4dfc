#include "store/run_import.h"

#include "store/database.h"
#include "store/store_open.h"

namespace plab {

std::int64_t copyRun(RunReader& from, std::int64_t runId, const std::string& toDb) {
  const std::optional<RunInfo> info = from.getRun(runId);
  if (!info) throw StoreError(from.path() + ": no run " + std::to_string(runId));
  if (info->status == RunStatus::running)
    throw StoreError(from.path() + ": run " + std::to_string(runId) + " is still running");
  const RunRecord record = from.loadRecord(runId);
  std::int64_t copy = 0;
  {
    RunWriter writer(toDb, StoreOptions{.backgroundFlush = false});
    copy = writer.createRun(info->config, info->title, info->backend, info->device);
    for (const StoredEvent& e : from.loadEvents(runId)) {
      if (e.kind == EventKind::other) writer.appendEvent(e.step, e.name, e.payload);  // the others come below
    }
    for (const StepMetrics& s : record.steps) writer.appendStep(s);
    for (const OverflowEvent& e : record.overflows) writer.appendOverflow(e);
    for (const ScaleGrowthEvent& e : record.scaleGrowths) writer.appendScaleGrowth(e);
    for (const EpochMetrics& e : record.epochs) writer.appendEpoch(e);
    writer.appendLayerStats(record.layerStats);
    for (const SpeedResult& s : record.speed) writer.appendSpeed(s);
    nlohmann::json summary = info->summary;
    if (summary.is_object() && summary.contains("run_id")) summary["run_id"] = copy;
    writer.finish(info->status, info->error, summary);
  }
  // The run as it was, not as the copy was made: its times and the user's words.
  auto db = openStore(toDb, StoreOptions{}, false);
  Statement s = db->prepare(
      "UPDATE runs SET name = ?2, notes = ?3, tags = ?4, created_at = ?5, finished_at = ?6, heartbeat_at = ?6, "
      "writer_host = ?7, writer_pid = ?8, writer_start = '' WHERE id = ?1");
  s.bind(1, copy).bind(2, info->name).bind(3, info->notes).bind(4, nlohmann::json(info->tags).dump());
  s.bind(5, info->createdAt).bind(6, info->finishedAt).bind(7, info->writerHost).bind(8, info->writerPid).run();
  return copy;
}

}  // namespace plab
