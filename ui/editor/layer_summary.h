#pragma once
// Short text for a layer spec (a JSON object from the experiment file), used by the
// layer list, the diagram and the run browser's network summary.
#include <QString>
#include <nlohmann/json.hpp>

namespace plab::ui {

// "linear 64", "conv2d 16 k3 s1 p1", "dropout p=0.5", "relu".
QString layerSummary(const nlohmann::json& layer);
QString layerPrecision(const nlohmann::json& layer);
// "2→64→64→2 MLP" style summary of a whole network: the types and widths in order.
QString networkSummary(const nlohmann::json& layers);
// "fp16 ×3, fp32 ×2": how many layers use each precision, in order of first use;
// "fp16" alone when every layer uses it. With a run's promotions (the summary's
// "promotions", adaptive precision) the mix at the end follows the one at the start:
// "fp16 → fp16 ×3, bf16 ×4".
QString precisionSummary(const nlohmann::json& layers, const nlohmann::json& promotions = nullptr);
// One line per layer: "layers[0] linear 64: fp16", or with promotions
// "layers[0] linear 64: fp16 → bf16 (step 25)" (the runs table's tooltip).
QString precisionList(const nlohmann::json& layers, const nlohmann::json& promotions = nullptr);

}  // namespace plab::ui
