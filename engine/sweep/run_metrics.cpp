#include "sweep/run_metrics.h"

#include <algorithm>
#include <map>

#include "core/json_number.h"
#include "protocol/records_json.h"

namespace plab {

std::optional<double> earlyGradientShadowUnderflow(const std::vector<LayerStatsRecord>& stats) {
  std::int32_t layers = 0;
  for (const auto& r : stats) layers = std::max(layers, r.layerIndex + 1);
  std::int64_t underflows = 0, count = 0;
  for (const auto& r : stats) {
    if (r.kind != StatsKind::gradient || !r.hasShadow || 2 * r.layerIndex >= std::max(layers, 2)) continue;
    underflows += r.shadow.underflows;
    count += r.shadow.count;
  }
  if (count == 0) return std::nullopt;
  return double(underflows) / double(count);
}

std::optional<double> productErrorFp64(const std::vector<LayerStatsRecord>& stats) {
  std::map<std::int64_t, double> largestPerStep;
  for (const auto& r : stats) {
    if (!r.productRelError) continue;
    auto [it, inserted] = largestPerStep.try_emplace(r.step, *r.productRelError);
    if (!inserted) it->second = std::max(it->second, *r.productRelError);
  }
  if (largestPerStep.empty()) return std::nullopt;
  double sum = 0;
  for (const auto& [step, error] : largestPerStep) sum += error;
  return sum / double(largestPerStep.size());
}

RunMetrics storedRunMetrics(RunReader& reader, std::int64_t runId) {
  RunMetrics m;
  const auto run = reader.getRun(runId);
  if (!run) return m;
  const std::vector<OverflowEvent> overflows = reader.loadOverflows(runId);
  m["overflow_events"] = double(overflows.size());
  if (!overflows.empty()) {
    m["first_overflow_step"] = double(overflows.front().step);
    if (!overflows.front().layers.empty()) m["culprit"] = overflows.front().layers.front();
  }
  double growths = 0;
  for (const StoredEvent& e : reader.loadEvents(runId)) growths += e.kind == EventKind::scale_growth ? 1 : 0;
  m["growth_events"] = growths;
  const std::vector<PrecisionPromotion> promotions = reader.loadPromotions(runId);
  m["promotions"] = double(promotions.size());
  if (!promotions.empty()) {
    m["first_promotion_step"] = double(promotions.front().step);
    m["first_promoted_layer"] = promotions.front().layerName;
  }
  m["steps"] = double(run->stepCount);
  m["skipped_steps"] = double(run->skippedCount);
  if (const auto memory = run->summary.find("memory"); memory != run->summary.end() && memory->is_object()) {
    const MemoryUse use = memory->get<MemoryUse>();  // protocol/records_json.h
    m["memory_bytes"] = double(use.total());
    m["weights_bytes"] = double(use.weights);
    m["activations_bytes"] = double(use.activations);
  }
  const std::vector<LayerStatsRecord> stats = reader.loadLayerStats(runId);
  if (const auto share = earlyGradientShadowUnderflow(stats)) m["early_gradient_shadow_underflow"] = *share;
  if (const auto error = productErrorFp64(stats)) m["product_error_fp64"] = *error;
  if (const auto layer = run->summary.find("failed_layer"); layer != run->summary.end() && layer->is_string())
    m["failed_layer"] = layer->get<std::string>();
  if (run->status != RunStatus::completed) return m;
  for (const char* key : {"test_accuracy", "test_loss", "final_train_loss", "final_loss_scale", "median_step_ms"}) {
    const auto it = run->summary.find(key);
    if (it == run->summary.end()) continue;
    if (const auto v = numberFromJson(*it)) m[key] = *v;
  }
  return m;
}

}  // namespace plab
