// toJson: every field written explicitly, so that a stored run's config parses back
// to the same Experiment (parseExperiment(toJson(e)) == e) and re-runs exactly.
#include <cstdio>
#include <cstdlib>

#include "model/experiment.h"

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

void writeWeightKeys(const LayerSpec& s, json& j) {
  j["bias"] = s.bias;
  j["init_gain"] = shortestDecimal(s.initGain);
}

}  // namespace

json toJson(const LayerSpec& s) {
  json j;
  j["type"] = std::string(toString(s.type));
  j["precision"] = std::string(toString(s.precision));
  switch (s.type) {
    case LayerType::linear:
      j["out"] = s.out;
      writeWeightKeys(s, j);
      break;
    case LayerType::conv2d:
      j["out_channels"] = s.out;
      j["kernel"] = s.kernel;
      j["stride"] = s.stride;
      j["padding"] = s.padding;
      writeWeightKeys(s, j);
      break;
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
      j["kernel"] = s.kernel;
      j["stride"] = s.stride;
      j["padding"] = s.padding;
      break;
    case LayerType::leaky_relu:
      j["slope"] = shortestDecimal(s.slope);
      break;
    case LayerType::dropout:
      j["p"] = shortestDecimal(s.dropout);
      break;
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d:
      j["momentum"] = shortestDecimal(s.momentum);
      j["eps"] = shortestDecimal(s.eps);
      break;
    case LayerType::flatten:
    case LayerType::relu:
    case LayerType::gelu:
    case LayerType::tanh:
    case LayerType::sigmoid:
      break;  // no keys beyond type and precision
  }
  return j;
}

json toJson(const NetworkSpec& net) {
  json layers = json::array();
  for (const auto& layer : net.layers) layers.push_back(toJson(layer));
  return json{{"layers", layers}, {"loss", std::string(toString(net.loss))}};
}

namespace {

json optimizerJson(const OptimizerHyper& h) {
  json j{{"type", optimizerName(h.kind)}, {"lr", shortestDecimal(h.lr)}};
  if (h.kind == OptimizerKind::sgd) {
    j["momentum"] = shortestDecimal(h.momentum);
    j["nesterov"] = h.nesterov;
  } else {
    j["beta1"] = shortestDecimal(h.beta1);
    j["beta2"] = shortestDecimal(h.beta2);
    j["eps"] = shortestDecimal(h.eps);
  }
  j["weight_decay"] = shortestDecimal(h.weightDecay);
  return j;
}

json scheduleJson(const ScheduleSpec& s) {
  json j{{"type", toString(s.type)}, {"warmup_steps", s.warmupSteps}};
  if (s.type == ScheduleType::step) {
    j["step_size"] = s.stepSize;
    j["gamma"] = shortestDecimal(s.gamma);
  } else if (s.type == ScheduleType::cosine) {
    j["min_lr"] = shortestDecimal(s.minLr);
  }
  return j;
}

json lossScalingJson(const LossScaleRule& r) {
  switch (r.mode) {
    case LossScaleMode::none:
      return json{{"mode", "none"}};
    case LossScaleMode::fixed:
      return json{{"mode", "static"}, {"scale", shortestDecimal(r.initScale)}};
    case LossScaleMode::dynamic:
      break;
  }
  return json{{"mode", "dynamic"},
              {"init_scale", shortestDecimal(r.initScale)},
              {"growth_factor", shortestDecimal(r.growthFactor)},
              {"backoff_factor", shortestDecimal(r.backoffFactor)},
              {"growth_interval", r.growthInterval},
              {"hysteresis", r.hysteresis},
              {"min_scale", shortestDecimal(r.minScale)},
              {"max_scale", shortestDecimal(r.maxScale)}};
}

json fp8Json(const Fp8Settings& f) {
  return json{{"history", f.history},
              {"margin", shortestDecimal(f.margin)},
              {"forward", std::string(toString(f.forward))},
              {"backward", std::string(toString(f.backward))}};
}

}  // namespace

json toJson(const Experiment& e) {
  json j;
  j["format_version"] = e.formatVersion;
  j["title"] = e.title;
  j["description"] = e.description;
  j["seed"] = e.seed;
  j["dataset"] = e.dataset;
  j["network"] = toJson(e.network);
  j["optimizer"] = optimizerJson(e.optimizer);
  j["schedule"] = scheduleJson(e.schedule);
  j["grad_clip_norm"] = shortestDecimal(e.optimizer.clipNorm);
  j["loss_scaling"] = lossScalingJson(e.lossScaling);
  j["master_weights"] = e.masterWeights;
  j["batch_size"] = e.batchSize;
  if (e.steps > 0) {
    j["steps"] = e.steps;
  } else {
    j["epochs"] = e.epochs;
  }
  j["stats_interval"] = e.statsInterval;
  j["log_interval"] = e.logInterval;
  j["eval_interval"] = e.evalInterval;
  j["backend"] = e.backend;
  j["fp8"] = fp8Json(e.fp8);
  return j;
}

}  // namespace plab
