#pragma once
// The JSON form of the run records (core/records.h): one spelling of every field,
// used on the worker pipe, in the store's event payloads and by `export --format json`.
//
// nlohmann ADL hooks, so `json j = stepMetrics;` and `j.get<StepMetrics>()` work.
// from_json throws protocol::ProtocolError naming the field; NaN and infinities are
// written as "nan", "inf", "-inf" (a NaN loss and an inf gradient norm are normal
// content of an overflowing run, and JSON numbers cannot hold them).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/json_fields.h"
#include "core/records.h"

namespace plab {

void to_json(nlohmann::json& j, const StepMetrics& m);
void from_json(const nlohmann::json& j, StepMetrics& m);
void to_json(nlohmann::json& j, const OverflowEvent& e);
void from_json(const nlohmann::json& j, OverflowEvent& e);
void to_json(nlohmann::json& j, const ScaleGrowthEvent& e);
void from_json(const nlohmann::json& j, ScaleGrowthEvent& e);
// {"step", "layer_index", "layer", "from", "to", "reason"}
void to_json(nlohmann::json& j, const PrecisionPromotion& p);
void from_json(const nlohmann::json& j, PrecisionPromotion& p);
void to_json(nlohmann::json& j, const EpochMetrics& m);
void from_json(const nlohmann::json& j, EpochMetrics& m);
// The histogram is sparse: "hist": [[bin, count], ...] for the nonzero bins, with
// "hist_min": kLog2HistMin so that a reader knows what bin 0 means.
void to_json(nlohmann::json& j, const TensorStats& s);
void from_json(const nlohmann::json& j, TensorStats& s);
// "shadow" in a layer statistics record: present only when the run had shadow_stats on.
void to_json(nlohmann::json& j, const ShadowStats& s);
void from_json(const nlohmann::json& j, ShadowStats& s);
void to_json(nlohmann::json& j, const LayerStatsRecord& r);
void from_json(const nlohmann::json& j, LayerStatsRecord& r);
// A statistics record's "sample" (at most kStatsSampleValues numbers; inf and NaN as
// text), also as the store keeps it in layer_stats.sample.
std::vector<float> statsSampleFromJson(const nlohmann::json& array);
void to_json(nlohmann::json& j, const LayerTiming& t);
void from_json(const nlohmann::json& j, LayerTiming& t);
void to_json(nlohmann::json& j, const SpeedResult& r);
void from_json(const nlohmann::json& j, SpeedResult& r);
// {"weights", "master_weights", "gradients", "optimizer_state", "activations", "total"}: bytes;
// with shadow_stats also "shadow" (the fp32 shadow network), not in "total".
void to_json(nlohmann::json& j, const MemoryUse& m);
void from_json(const nlohmann::json& j, MemoryUse& m);

namespace protocol {

// "running", "completed", "failed", "cancelled", "interrupted": the spelling in the
// store's runs.status and in run_finished messages.
const char* runStatusText(RunStatus s);
std::optional<RunStatus> runStatusFromText(const std::string& text);
const char* statsKindText(StatsKind k);  // "activation", "gradient"
std::optional<StatsKind> statsKindFromText(const std::string& text);

// Decodes an array of records, prefixing errors with "<field>[i].".
template <class T>
std::vector<T> decodeArray(const nlohmann::json& obj, const char* field) {
  const nlohmann::json& array = readArray(obj, field);
  std::vector<T> out(array.size());
  for (std::size_t i = 0; i < array.size(); ++i)
    withPrefix(std::string(field) + "[" + std::to_string(i) + "].", [&] { from_json(array[i], out[i]); });
  return out;
}

}  // namespace protocol
}  // namespace plab
