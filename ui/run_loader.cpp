#include "run_loader.h"

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

bool loadRunIncrement(const QString& databasePath, RunData& run) {
  RunReader reader(databasePath.toStdString(), StoreOptions{.readOnly = true});
  const auto info = reader.getRun(run.runId);
  if (!info) return false;
  const std::int64_t lastStats = run.layerStats.empty() ? 0 : run.layerStats.back().step;
  auto steps = reader.loadSteps(run.runId, run.lastStep());
  auto stats = reader.loadLayerStats(run.runId, lastStats);
  auto epochs = reader.loadEpochs(run.runId);
  auto overflows = reader.loadOverflows(run.runId);
  const bool added = !steps.empty() || !stats.empty() || epochs.size() > run.epochs.size() ||
                     overflows.size() > run.overflows.size() ||
                     QString::fromLatin1(plab::toString(info->status)) != run.status;
  run.steps.insert(run.steps.end(), steps.begin(), steps.end());
  run.layerStats.insert(run.layerStats.end(), stats.begin(), stats.end());
  // Epochs and overflows are few: the new ones are the tail.
  for (std::size_t i = run.epochs.size(); i < epochs.size(); ++i) run.epochs.push_back(epochs[i]);
  for (std::size_t i = run.overflows.size(); i < overflows.size(); ++i) run.overflows.push_back(overflows[i]);
  applyRunInfo(run, *info);
  if (added) ++run.revision;
  return added;
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
