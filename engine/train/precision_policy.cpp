#include "train/precision_policy.h"

#include <cstdio>

#include "model/network.h"  // layerName

namespace plab {

namespace {

std::string percent(double share) {
  char text[32];
  if (share > 0 && share < 0.001) return "under 0.1%";
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * share);
  return text;
}

std::string stepList(const std::vector<std::int64_t>& steps) {
  std::string out;
  for (std::size_t i = 0; i < steps.size(); ++i) out += (i ? ", " : "") + std::to_string(steps[i]);
  return out;
}

}  // namespace

std::optional<Precision> promotedFormat(Precision p) {
  switch (p) {
    case Precision::mxfp4:
    case Precision::nvfp4:
    case Precision::mxfp6_e2m3:
    case Precision::mxfp6_e3m2: return Precision::mxfp8_e4m3;
    case Precision::mxfp8_e4m3:
    case Precision::mxfp8_e5m2:
    case Precision::mxint8:
    case Precision::fp8_e4m3:
    case Precision::fp8_e5m2:
    case Precision::fp16: return Precision::bf16;
    case Precision::bf16:
    case Precision::tf32: return Precision::fp32;
    case Precision::fp32: return std::nullopt;
  }
  throwUnknownPrecision("promotedFormat", p);
}

PrecisionPromoter::PrecisionPromoter(const PrecisionPolicy& policy) : policy_(policy) {}

std::optional<PrecisionPromoter::Breach> PrecisionPromoter::breachOf(std::span<const LayerStatsRecord> records,
                                                                     std::int32_t layer) const {
  std::optional<Breach> worst;
  const auto consider = [&](double share, double limit, std::string what) {
    if (share <= limit) return;
    if (!worst || share - limit > worst->share) worst = Breach{share - limit, std::move(what)};
  };
  for (const LayerStatsRecord& r : records) {
    if (r.layerIndex != layer) continue;
    const char* kind = r.kind == StatsKind::activation ? "activations" : "gradients";
    const double under = r.hasShadow ? r.shadowUnderflowShare() : r.underflowShare();
    consider(under, policy_.underflowLimit,
             std::string(kind) + ": " + percent(under) +
                 (r.hasShadow ? " would underflow in " : " became zero when rounded into ") + r.precision);
    if (r.kind == StatsKind::activation) {
      const double over = r.hasShadow ? r.shadowOverflowShare() : r.overflowShare();
      consider(over, policy_.overflowLimit,
               std::string(kind) + ": " + percent(over) + (r.hasShadow ? " would overflow " : " overflowed ") +
                   r.precision);
    }
  }
  return worst;
}

std::vector<PrecisionPromotion> PrecisionPromoter::observe(std::span<const LayerStatsRecord> records,
                                                           const std::vector<LayerSpec>& layers) {
  strikes_.resize(layers.size(), 0);
  steps_.resize(layers.size());
  std::vector<PrecisionPromotion> out;
  if (records.empty()) return out;
  const std::int64_t step = records.front().step;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& layer = layers[i];
    const auto next = promotedFormat(layer.precision);
    const bool batchNorm = layer.type == LayerType::batchnorm1d || layer.type == LayerType::batchnorm2d;
    const auto breach = breachOf(records, std::int32_t(i));
    if (!breach || !next || batchNorm) {
      strikes_[i] = 0;
      steps_[i].clear();
      continue;
    }
    ++strikes_[i];
    steps_[i].push_back(step);
    if (strikes_[i] < policy_.patience) continue;
    PrecisionPromotion p;
    p.step = step;
    p.layerIndex = std::int32_t(i);
    p.layerName = layerName(int(i), layer.type);
    p.from = std::string(toString(layer.precision));
    p.to = std::string(toString(*next));
    const bool underflow = breach->what.find("underflow") != std::string::npos ||
                           breach->what.find("became zero") != std::string::npos;
    p.reason = breach->what + " at statistics step" + (steps_[i].size() > 1 ? "s " : " ") + stepList(steps_[i]) +
               " (limit " + percent(underflow ? policy_.underflowLimit : policy_.overflowLimit) + ")";
    out.push_back(std::move(p));
    strikes_[i] = 0;
    steps_[i].clear();
  }
  return out;
}

}  // namespace plab
