// toJson: every field written explicitly (the keys the schema lists), so that a stored run's config parses back
// to the same Experiment (parseExperiment(toJson(e)) == e) and re-runs exactly.
#include <cstdio>
#include <cstdlib>

#include <map>
#include <stdexcept>

#include "model/experiment.h"
#include "model/experiment_schema.h"

namespace plab {
namespace {

using nlohmann::json;

// The shortest decimal that reads back as the same float: 0.001f is written 0.001,
// not 0.0010000000474974513 (what the float's exact double value would print as).
double shortestDecimal(float f) {
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, double(f));
    if (std::strtof(text, nullptr) == f) return std::strtod(text, nullptr);
  }
  return double(f);
}

// Writes one object by walking the schema: every key that applies to the section
// with that selector value, taken from `values` (which may also hold the values of
// keys that apply to other selector values: a LayerSpec has every layer type's
// fields). A key the schema lists but `values` lacks, or a value the schema does not
// know, is a programming error: the round trip must not lose or invent a field.
json walkSchema(const std::string& section, const std::string& selected, const json& values) {
  for (auto it = values.begin(); it != values.end(); ++it) {
    bool known = false;
    for (const KeyRule& r : experimentSchema()) known = known || (r.section() == section && r.key() == it.key());
    if (!known) throw std::logic_error("toJson: " + section + "." + it.key() + " is not in the schema");
  }
  json out = json::object();
  std::map<std::string, int> groups;
  for (const KeyRule* r : keyRulesOf(section, selected)) {
    const std::string key = r->key();
    if (!r->oneOf.empty()) {
      groups[r->oneOf] += values.contains(key) ? 1 : 0;
      if (!values.contains(key)) continue;
    }
    if (!values.contains(key)) throw std::logic_error("toJson: no value for " + r->path);
    out[key] = values[key];
  }
  for (const auto& [group, count] : groups) {
    if (count != 1) throw std::logic_error("toJson: write exactly one key of group " + group);
  }
  return out;
}

}  // namespace

json toJson(const LayerSpec& s) {
  const std::string type(toString(s.type));
  json values{{"type", type},
              {"precision", std::string(toString(s.precision))},
              {"out", s.out},
              {"out_channels", s.out},
              {"bias", s.bias},
              {"init_gain", shortestDecimal(s.initGain)},
              {"accumulate", std::string(toString(s.accumulate))},
              {"rounding", std::string(toString(s.rounding))},
              {"block_scaling", std::string(toString(s.blockScaling))},
              {"block_backward", s.blockBackward},
              {"kernel", s.kernel},
              {"stride", s.stride},
              {"padding", s.padding},
              {"p", shortestDecimal(s.dropout)},
              {"momentum", shortestDecimal(s.momentum)},
              {"eps", shortestDecimal(s.eps)}};
  if (const auto a = activationOf(s.type); a && !activationParam(*a).key.empty()) {
    values[std::string(activationParam(*a).key)] = shortestDecimal(s.param);
  }
  return walkSchema("network.layers[]", type, values);
}

json toJson(const NetworkSpec& net) {
  json layers = json::array();
  for (const auto& layer : net.layers) layers.push_back(toJson(layer));
  return walkSchema("network", "", json{{"layers", layers}, {"loss", std::string(toString(net.loss))}});
}

namespace {

json optimizerJson(const OptimizerHyper& h) {
  const std::string type = optimizerName(h.kind);
  return walkSchema("optimizer", type,
                    json{{"type", type},
                         {"lr", shortestDecimal(h.lr)},
                         {"momentum", shortestDecimal(h.momentum)},
                         {"nesterov", h.nesterov},
                         {"beta1", shortestDecimal(h.beta1)},
                         {"beta2", shortestDecimal(h.beta2)},
                         {"eps", shortestDecimal(h.eps)},
                         {"weight_decay", shortestDecimal(h.weightDecay)}});
}

json scheduleJson(const ScheduleSpec& s) {
  const std::string type = toString(s.type);
  return walkSchema("schedule", type,
                    json{{"type", type},
                         {"warmup_steps", s.warmupSteps},
                         {"step_size", s.stepSize},
                         {"gamma", shortestDecimal(s.gamma)},
                         {"min_lr", shortestDecimal(s.minLr)}});
}

std::string modeName(LossScaleMode m) {
  switch (m) {
    case LossScaleMode::none: return "none";
    case LossScaleMode::fixed: return "static";
    case LossScaleMode::dynamic: return "dynamic";
  }
  return "?";
}

json lossScalingJson(const LossScaleRule& r) {
  const std::string mode = modeName(r.mode);
  // "scale" (static) and "init_scale" (dynamic) are both the rule's initScale.
  return walkSchema("loss_scaling", mode,
                    json{{"mode", mode},
                         {"scale", shortestDecimal(r.initScale)},
                         {"init_scale", shortestDecimal(r.initScale)},
                         {"growth_factor", shortestDecimal(r.growthFactor)},
                         {"backoff_factor", shortestDecimal(r.backoffFactor)},
                         {"growth_interval", r.growthInterval},
                         {"hysteresis", r.hysteresis},
                         {"min_scale", shortestDecimal(r.minScale)},
                         {"max_scale", shortestDecimal(r.maxScale)}});
}

json fp8Json(const Fp8Settings& f) {
  return walkSchema("fp8", f.scaling == Fp8Scaling::none ? "none" : "delayed",
                    json{{"scaling", f.scaling == Fp8Scaling::none ? "none" : "delayed"},
                         {"history", f.history},
                         {"margin", shortestDecimal(f.margin)},
                         {"forward", std::string(toString(f.forward))},
                         {"backward", std::string(toString(f.backward))}});
}

json precisionPolicyJson(const PrecisionPolicy& p) {
  const std::string mode = p.mode == PrecisionPolicyMode::adaptive ? "adaptive" : "fixed";
  return walkSchema("precision_policy", mode,
                    json{{"mode", mode},
                         {"underflow_limit", p.underflowLimit},
                         {"overflow_limit", p.overflowLimit},
                         {"patience", p.patience}});
}

}  // namespace

json toJson(const Experiment& e) {
  json values{{"format_version", e.formatVersion},
              {"title", e.title},
              {"description", e.description},
              {"seed", e.seed},
              {"dataset", e.dataset},  // as given: engine/data reads it
              {"network", toJson(e.network)},
              {"optimizer", optimizerJson(e.optimizer)},
              {"schedule", scheduleJson(e.schedule)},
              {"grad_clip_norm", shortestDecimal(e.optimizer.clipNorm)},
              {"loss_scaling", lossScalingJson(e.lossScaling)},
              {"master_weights", e.masterWeights},
              {"batch_size", e.batchSize},
              {"stats_interval", e.statsInterval},
              {"shadow_stats", e.shadowStats},
              {"log_interval", e.logInterval},
              {"eval_interval", e.evalInterval},
              {"backend", e.backend},
              {"fp8", fp8Json(e.fp8)},
              {"precision_policy", precisionPolicyJson(e.precisionPolicy)}};
  if (e.steps > 0) {
    values["steps"] = e.steps;
  } else {
    values["epochs"] = e.epochs;
  }
  return walkSchema("", "", values);
}

}  // namespace plab
