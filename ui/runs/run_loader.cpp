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
  run->steps = reader.loadSteps(runId);
  run->overflows = reader.loadOverflows(runId);
  for (const StoredEvent& e : reader.loadEvents(runId)) {
    if (e.kind != EventKind::scale_growth) continue;
    ScaleGrowthEvent g;
    g.step = e.step;
    g.scaleBefore = e.payload.value("scale_before", 0.0);
    g.scaleAfter = e.payload.value("scale_after", 0.0);
    run->growths.push_back(g);
  }
  run->epochs = reader.loadEpochs(runId);
  run->layerStats = reader.loadLayerStats(runId);
  run->speed = reader.loadSpeed(runId);
  run->layerNames = run->statsLayerNames();
  run->totalSteps = run->lastStep();
  if (info->config.contains("steps")) run->totalSteps = info->config.value("steps", run->totalSteps);
  run->revision = 1;
  return run;
}

RunCursor cursorOf(const RunData& run) {
  RunCursor c;
  c.runId = run.runId;
  c.lastStep = run.lastStep();
  c.lastStatsStep = run.layerStats.empty() ? 0 : run.layerStats.back().step;
  c.epochCount = run.epochs.size();
  c.overflowCount = run.overflows.size();
  c.status = run.status;
  return c;
}

RunIncrement readRunIncrement(const QString& databasePath, const RunCursor& from) {
  RunReader reader(databasePath.toStdString(), StoreOptions{.readOnly = true});
  RunIncrement inc;
  inc.info = reader.getRun(from.runId);
  if (!inc.info) return inc;
  inc.steps = reader.loadSteps(from.runId, from.lastStep);
  inc.layerStats = reader.loadLayerStats(from.runId, from.lastStatsStep);
  // Epochs and overflows are few: the new ones are the tail.
  auto epochs = reader.loadEpochs(from.runId);
  if (epochs.size() > from.epochCount) inc.epochs.assign(epochs.begin() + std::ptrdiff_t(from.epochCount), epochs.end());
  auto overflows = reader.loadOverflows(from.runId);
  if (overflows.size() > from.overflowCount) {
    inc.overflows.assign(std::make_move_iterator(overflows.begin() + std::ptrdiff_t(from.overflowCount)),
                         std::make_move_iterator(overflows.end()));
  }
  return inc;
}

bool applyRunIncrement(RunData& run, RunIncrement&& inc) {
  if (!inc.info) return false;
  const bool added = !inc.steps.empty() || !inc.layerStats.empty() || !inc.epochs.empty() || !inc.overflows.empty() ||
                     QString::fromLatin1(plab::toString(inc.info->status)) != run.status;
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(run.steps, inc.steps);
  append(run.layerStats, inc.layerStats);
  append(run.epochs, inc.epochs);
  append(run.overflows, inc.overflows);
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
