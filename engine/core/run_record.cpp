#include "core/run_record.h"

#include "core/json_number.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace plab {

std::optional<double> finalTrainLoss(const nlohmann::json& summary) {
  const auto it = summary.find("final_train_loss");
  return it == summary.end() ? std::nullopt : numberFromJson(*it);
}
namespace {

template <class T>
void appendRows(std::vector<T>& to, std::vector<T>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

void RunRecord::append(RunRecord&& more) {
  appendRows(steps, more.steps);
  appendRows(overflows, more.overflows);
  appendRows(scaleGrowths, more.scaleGrowths);
  appendRows(promotions, more.promotions);
  appendRows(epochs, more.epochs);
  appendRows(layerStats, more.layerStats);
  appendRows(speed, more.speed);
  if (more.summary.is_object() && !more.summary.empty()) summary = std::move(more.summary);
}

bool layerStatsBefore(const LayerStatsRecord& a, const LayerStatsRecord& b) {
  return std::tuple(a.step, a.layerIndex, a.kind == StatsKind::gradient) <
         std::tuple(b.step, b.layerIndex, b.kind == StatsKind::gradient);
}

void sortLayerStats(std::vector<LayerStatsRecord>& records) {
  std::stable_sort(records.begin(), records.end(), layerStatsBefore);
}

RunRecordCursor cursorOf(const RunRecord& r) {
  RunRecordCursor c;
  c.lastStep = r.steps.empty() ? 0 : r.steps.back().step;
  c.lastStatsStep = r.layerStats.empty() ? 0 : r.layerStats.back().step;
  c.overflows = r.overflows.size();
  c.scaleGrowths = r.scaleGrowths.size();
  c.promotions = r.promotions.size();
  c.epochs = r.epochs.size();
  c.speed = r.speed.size();
  return c;
}

}  // namespace plab
