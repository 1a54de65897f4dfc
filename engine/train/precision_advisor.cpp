#include "train/precision_advisor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace plab {
namespace {

// "3.1e-05", "0.98", "65504".
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

std::string percent(double share) {
  if (share > 0 && share < 0.001) return "under 0.1%";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * share);
  return text;
}

// Whether one tensor kind of a layer fits a format, and what it took.
struct Fit {
  bool ok = true;
  bool lossScaling = false;
  std::string why;  // the failure, or what fitting took
};

// `what` of a layer ("activations", "gradients") in format f. perTensorScale: the
// format scales each tensor so that amax * margin meets its largest value (fp8).
// lossScale: the values are gradients that a dynamic loss scale may lift.
Fit fitValues(const char* what, const FormatInfo& f, bool perTensorScale, bool lossScale, float amax,
              const std::array<std::int64_t, kLog2HistBins>& hist, std::int64_t values, const AdvisorCriteria& c) {
  Fit fit;
  if (values == 0 || amax <= 0) return fit;  // nothing but zeros: any format holds them
  const std::string name(f.name);
  if (perTensorScale) {
    const double scale = f.maxFinite / (double(amax) * c.margin);
    const double share = shareBelow(hist, values, f.minSubnormal / scale);
    fit.ok = share <= c.underflowLimit;
    fit.why = percent(share) + " of the " + what + " below " + name + "'s range under a per-tensor scale";
    return fit;
  }
  if (double(amax) * c.margin > f.maxFinite) {
    fit.ok = false;
    fit.why = std::string(what) + " reach " + number(amax) + ", beyond " + name + "'s largest " + number(f.maxFinite) +
              " with a margin of " + number(c.margin);
    return fit;
  }
  const double share = shareBelow(hist, values, f.minSubnormal);
  fit.why = percent(share) + " of the " + what + " below " + name + "'s smallest subnormal " + number(f.minSubnormal);
  if (share <= c.underflowLimit) return fit;
  if (lossScale) {
    // What dynamic loss scaling settles at: the largest power of two that keeps the
    // largest gradient, with the margin, inside the format.
    const double scale = std::exp2(std::floor(std::log2(f.maxFinite / (double(amax) * c.margin))));
    if (scale > 1) {
      const double scaled = shareBelow(hist, values, f.minSubnormal / scale);
      if (scaled <= c.underflowLimit) {
        fit.lossScaling = true;
        fit.why = percent(scaled) + " of the " + what + " below " + name + "'s range with a loss scale of 2^" +
                  std::to_string(int(std::log2(scale)));
        return fit;
      }
      fit.why += ", " + percent(scaled) + " even with loss scaling";
    }
  }
  fit.ok = false;
  return fit;
}

struct Candidate {
  Precision layer;  // what the layer's "precision" says
  bool perTensorScale;
};

}  // namespace

double shareBelow(const std::array<std::int64_t, kLog2HistBins>& hist, std::int64_t values, double threshold) {
  if (values <= 0 || threshold <= 0) return 0;
  std::int64_t below = 0;
  for (int i = 0; i < kLog2HistBins; ++i) {
    // Bin i holds 2^e <= |x| < 2^(e+1); bin 0 also everything smaller.
    const int e = kLog2HistMin + i;
    if (i == 0 || std::exp2(e) < threshold) below += hist[std::size_t(i)];
  }
  return std::min(1.0, double(below) / double(values));
}

std::vector<LayerObservation> observeLayers(std::span<const LayerStatsRecord> records) {
  std::map<std::int32_t, LayerObservation> byLayer;
  for (const LayerStatsRecord& r : records) {
    LayerObservation& o = byLayer[r.layerIndex];
    o.layerIndex = r.layerIndex;
    o.layerName = r.layerName;
    const bool activation = r.kind == StatsKind::activation;
    float& amax = activation ? o.activationAmax : o.gradientAmax;
    auto& hist = activation ? o.activations : o.gradients;
    std::int64_t& values = activation ? o.activationValues : o.gradientValues;
    amax = std::max(amax, r.stats.maxAbs);
    for (int i = 0; i < kLog2HistBins; ++i) {
      hist[std::size_t(i)] += r.stats.log2Hist[std::size_t(i)];
      values += r.stats.log2Hist[std::size_t(i)];
    }
  }
  std::vector<LayerObservation> out;
  for (auto& [index, o] : byLayer) out.push_back(std::move(o));
  return out;
}

Advice adviseLayers(const NetworkSpec& network, std::span<const LayerObservation> observed,
                    const AdvisorCriteria& criteria, const Fp8Settings& fp8) {
  // Cheapest first; at equal size bf16 before fp16, which needs no loss scaling.
  const Candidate ladder[] = {{Precision::fp8_e4m3, true}, {Precision::bf16, false}, {Precision::fp16, false},
                              {Precision::fp32, false}};
  Advice advice;
  for (std::size_t i = 0; i < network.layers.size(); ++i) {
    LayerAdvice a;
    a.layerIndex = std::int32_t(i);
    const auto seen = std::find_if(observed.begin(), observed.end(),
                                   [&](const LayerObservation& o) { return o.layerIndex == std::int32_t(i); });
    if (seen == observed.end()) {
      a.layerName = "layers[" + std::to_string(i) + "]";
      a.proposed = network.layers[i].precision;
      a.reason = "kept: the probe recorded no statistics for this layer";
      advice.layers.push_back(std::move(a));
      continue;
    }
    a.layerName = seen->layerName;
    std::vector<std::string> rejected;
    for (const Candidate& c : ladder) {
      const FormatInfo& forward = formatInfo(forwardFormatOf(c.layer, fp8));
      const FormatInfo& backward = formatInfo(gradFormatOf(c.layer, fp8));
      const std::string name(toString(c.layer));
      const bool last = c.layer == Precision::fp32;
      const double roundoff = std::exp2(-(forward.mantissaBits + 1));
      if (roundoff > criteria.errorBound && !last) {
        rejected.push_back(name + ": its rounding error 2^-" + std::to_string(forward.mantissaBits + 1) +
                           " exceeds the bound " + number(criteria.errorBound));
        continue;
      }
      const Fit act = fitValues("activations", forward, c.perTensorScale, false, seen->activationAmax,
                                seen->activations, seen->activationValues, criteria);
      const Fit grad = fitValues("gradients", backward, c.perTensorScale, true, seen->gradientAmax, seen->gradients,
                                 seen->gradientValues, criteria);
      if ((!act.ok || !grad.ok) && !last) {
        rejected.push_back(name + ": " + (!act.ok ? act.why : grad.why));
        continue;
      }
      a.proposed = c.layer;
      a.lossScaling = grad.lossScaling;
      std::string fits = "activations up to " + number(seen->activationAmax) + (grad.why.empty() ? "" : ", " + grad.why);
      a.reason = rejected.empty() ? "fits: " + fits : rejected.back() + " -> " + name;
      if (a.lossScaling) a.reason += " with dynamic loss scaling";
      break;
    }
    advice.needsLossScaling = advice.needsLossScaling || a.lossScaling;
    advice.usesFp8 = advice.usesFp8 || isFp8(a.proposed);
    advice.layers.push_back(std::move(a));
  }
  return advice;
}

Experiment probeExperiment(Experiment e, std::int64_t steps) {
  for (LayerSpec& layer : e.network.layers) {
    layer.precision = Precision::fp32;
    layer.accumulate = Accumulation::fp32;
  }
  e.lossScaling = LossScaleRule{LossScaleMode::none};
  e.shadowStats = false;
  e.epochs = 0;
  e.steps = steps;
  e.statsInterval = std::int32_t(std::max<std::int64_t>(1, steps / 20));
  e.title = "advisor probe: " + e.title;
  return e;
}

nlohmann::json proposedExperiment(const nlohmann::json& original, const Advice& advice, const std::string& table) {
  nlohmann::json out = original;
  for (const LayerAdvice& a : advice.layers) {
    out["network"]["layers"][std::size_t(a.layerIndex)]["precision"] = std::string(toString(a.proposed));
  }
  if (advice.needsLossScaling) out["loss_scaling"] = {{"mode", "dynamic"}};
  if (advice.usesFp8) {
    if (!out.contains("fp8") || !out["fp8"].is_object()) out["fp8"] = nlohmann::json::object();
    out["fp8"]["scaling"] = "delayed";
  }
  out["title"] = original.value("title", std::string("experiment")) + " (advised)";
  std::string description = original.value("description", std::string());
  if (!description.empty()) description += "\n\n";
  out["description"] = description + "Formats chosen by the precision advisor:\n" + table;
  return out;
}

std::string adviceTable(const NetworkSpec& network, const Advice& advice) {
  std::size_t width = 5;
  for (const LayerAdvice& a : advice.layers) width = std::max(width, a.layerName.size());
  std::ostringstream out;
  for (const LayerAdvice& a : advice.layers) {
    const std::string now(toString(network.layers[std::size_t(a.layerIndex)].precision));
    std::string name = a.layerName;
    name.resize(width, ' ');
    std::string formats = now + " -> " + std::string(toString(a.proposed));
    formats.resize(std::max<std::size_t>(formats.size(), 22), ' ');
    out << name << "  " << formats << "  " << a.reason << "\n";
  }
  return out.str();
}

}  // namespace plab
