#include "runs/run_loader.h"

#include <stdexcept>

namespace plab::ui {

void applyRunInfo(RunData& run, const RunInfo& info) {
  run.runId = info.id;
  run.name = QString::fromStdString(info.name);
  run.title = QString::fromStdString(info.title);
  run.status = QString::fromLatin1(plab::toString(info.status));
  run.error = QString::fromStdString(info.error);
  run.backend = QString::fromStdString(info.backend);
  run.device = QString::fromStdString(info.device);
  run.createdAt = QString::fromStdString(info.createdAt);
  if (!info.config.is_null()) {
    run.config = info.config;
    run.description = QString::fromStdString(info.config.value("description", std::string()));
  }
}

RunDataPtr loadRunData(const QString& databasePath, std::int64_t runId) {
  RunReader reader(databasePath.toStdString());
  const auto info = reader.getRun(runId);
  if (!info) throw std::runtime_error(databasePath.toStdString() + ": no run #" + std::to_string(runId));
  auto run = std::make_shared<RunData>();
  applyRunInfo(*run, *info);
  static_cast<RunRecord&>(*run) = reader.loadRecord(runId);
  run->layerNames = run->statsLayerNames();
  run->totalSteps = run->lastStep();
  if (info->config.contains("steps")) run->totalSteps = info->config.value("steps", run->totalSteps);
  run->revision = 1;
  return run;
}

RunCursor cursorOf(const RunData& run) {
  RunCursor c;
  c.runId = run.runId;
  c.rows = plab::cursorOf(run);
  c.status = run.status;
  return c;
}

RunIncrement readRunIncrement(const QString& databasePath, const RunCursor& from) {
  RunReader reader(databasePath.toStdString(), StoreOptions{.readOnly = true});
  RunIncrement inc;
  inc.info = reader.getRun(from.runId);
  if (!inc.info) return inc;
  inc.rows = reader.loadRecord(from.runId, from.rows);
  return inc;
}

bool applyRunIncrement(RunData& run, RunIncrement&& inc) {
  if (!inc.info) return false;
  const RunRecord& rows = inc.rows;
  const bool added = !rows.steps.empty() || !rows.overflows.empty() || !rows.scaleGrowths.empty() ||
                     !rows.promotions.empty() ||
                     !rows.epochs.empty() || !rows.layerStats.empty() || !rows.speed.empty() ||
                     QString::fromLatin1(plab::toString(inc.info->status)) != run.status;
  run.append(std::move(inc.rows));
  applyRunInfo(run, *inc.info);
  if (added) ++run.revision;
  return added;
}

bool loadRunIncrement(const QString& databasePath, RunData& run) {
  return applyRunIncrement(run, readRunIncrement(databasePath, cursorOf(run)));
}

std::vector<RunInfo> listRunsWithConfig(const QString& databasePath) {
  RunReader reader(databasePath.toStdString());
  std::vector<RunInfo> runs = reader.listRuns();
  for (RunInfo& r : runs) {
    if (auto full = reader.getRun(r.id)) r.config = full->config;
  }
  return runs;
}

}  // namespace plab::ui
