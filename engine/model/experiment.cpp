// Names, defaults and small helpers of the experiment types (parsing and writing
// live in experiment_parse.cpp and experiment_write.cpp).
#include "model/experiment.h"

#include <algorithm>
#include <cmath>

namespace plab {
namespace {

struct LayerTypeName {
  LayerType type;
  std::string_view name;
};
// The order of docs/experiment-format.md's table; the GUI's "add layer" menu uses it.
#define PLAB_LAYER_TYPE_NAME(name, S) {LayerType::name, #name},
constexpr LayerTypeName kLayerTypes[] = {
    {LayerType::linear, "linear"},       {LayerType::conv2d, "conv2d"},
    {LayerType::maxpool2d, "maxpool2d"}, {LayerType::avgpool2d, "avgpool2d"},
    {LayerType::flatten, "flatten"},     PLAB_ACTIVATIONS(PLAB_LAYER_TYPE_NAME)
    {LayerType::dropout, "dropout"},     {LayerType::batchnorm1d, "batchnorm1d"},
    {LayerType::batchnorm2d, "batchnorm2d"},
};
#undef PLAB_LAYER_TYPE_NAME

}  // namespace

std::string_view toString(LayerType t) {
  for (const auto& e : kLayerTypes) {
    if (e.type == t) return e.name;
  }
  return "?";
}

std::optional<LayerType> parseLayerType(std::string_view name) {
  for (const auto& e : kLayerTypes) {
    if (e.name == name) return e.type;
  }
  return std::nullopt;
}

std::string allowedLayerTypeNames() {
  std::string out;
  for (const auto& e : kLayerTypes) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

std::vector<LayerType> allLayerTypes() {
  std::vector<LayerType> out;
  for (const auto& e : kLayerTypes) out.push_back(e.type);
  return out;
}

std::string_view toString(Accumulation a) {
  switch (a) {
    case Accumulation::fp32: return "fp32";
    case Accumulation::layer: return "layer";
  }
  return "?";
}

std::string_view toString(BlockScaling b) {
  switch (b) {
    case BlockScaling::blocks1d: return "1d";
    case BlockScaling::tiles2d: return "2d";
    case BlockScaling::tensor: return "tensor";
  }
  return "?";
}

bool canAccumulateIn(Precision p) { return p == Precision::fp16 || p == Precision::bf16; }

LayerSpec defaultLayerSpec(LayerType t) {
  LayerSpec s;
  s.type = t;
  switch (t) {
    case LayerType::linear: s.out = 64; break;
    case LayerType::conv2d: s.out = 16; s.kernel = 3; s.stride = 1; break;
    case LayerType::maxpool2d:
    case LayerType::avgpool2d: s.kernel = 2; s.stride = 2; break;
    PLAB_ACTIVATION_LAYER_CASES
      s.param = static_cast<float>(activationParam(*activationOf(t)).defaultValue);
      break;
    case LayerType::flatten:
    case LayerType::dropout:
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d: break;  // their defaults are LayerSpec's member initialisers
  }
  return s;
}

std::optional<Activation> activationOf(LayerType t) {
#define PLAB_LAYER_TO_ACTIVATION(name, S) \
  case LayerType::name: return Activation::name;
  switch (t) {
    PLAB_ACTIVATIONS(PLAB_LAYER_TO_ACTIVATION)
    case LayerType::linear:
    case LayerType::conv2d:
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
    case LayerType::flatten:
    case LayerType::dropout:
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d: break;
  }
#undef PLAB_LAYER_TO_ACTIVATION
  return std::nullopt;
}

std::string_view toString(LossKind k) {
  return k == LossKind::mse ? "mse" : "cross_entropy";
}

NetworkSpec withUniformPrecision(NetworkSpec net, Precision p) {
  for (auto& layer : net.layers) {
    layer.precision = p;
    layer.accumulate = Accumulation::fp32;
  }
  return net;
}

const char* optimizerName(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::adamw: return "adamw";
  }
  return "?";
}

const char* toString(ScheduleType t) {
  switch (t) {
    case ScheduleType::constant: return "constant";
    case ScheduleType::step: return "step";
    case ScheduleType::cosine: return "cosine";
  }
  return "?";
}

float learningRateAt(const ScheduleSpec& s, float baseLr, std::int64_t step, std::int64_t totalSteps) {
  const double lr = baseLr;
  if (s.warmupSteps > 0 && step <= s.warmupSteps) {
    return float(lr * double(std::max<std::int64_t>(step, 1)) / double(s.warmupSteps));
  }
  const std::int64_t taken = std::max<std::int64_t>(step - 1, 0);
  switch (s.type) {
    case ScheduleType::constant:
      return baseLr;
    case ScheduleType::step: {
      const std::int64_t size = std::max<std::int64_t>(s.stepSize, 1);
      return float(lr * std::pow(double(s.gamma), double(taken / size)));
    }
    case ScheduleType::cosine: {
      const std::int64_t span = std::max<std::int64_t>(totalSteps - s.warmupSteps - 1, 1);
      const double progress =
          std::clamp(double(step - s.warmupSteps - 1) / double(span), 0.0, 1.0);
      constexpr double kPi = 3.14159265358979323846;
      return float(s.minLr + (lr - s.minLr) * 0.5 * (1.0 + std::cos(kPi * progress)));
    }
  }
  return baseLr;
}

OptimizerHyper Experiment::hyperAt(std::int64_t step, std::int64_t totalSteps) const {
  OptimizerHyper h = optimizer;
  h.lr = learningRateAt(schedule, optimizer.lr, step, totalSteps);
  return h;
}

namespace {

bool sameHyper(const OptimizerHyper& a, const OptimizerHyper& b) {
  return a.kind == b.kind && a.lr == b.lr && a.momentum == b.momentum && a.nesterov == b.nesterov &&
         a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps &&
         a.weightDecay == b.weightDecay && a.clipNorm == b.clipNorm;
}

bool sameRule(const LossScaleRule& a, const LossScaleRule& b) {
  return a.mode == b.mode && a.initScale == b.initScale && a.growthFactor == b.growthFactor &&
         a.backoffFactor == b.backoffFactor && a.growthInterval == b.growthInterval &&
         a.hysteresis == b.hysteresis && a.minScale == b.minScale && a.maxScale == b.maxScale;
}

}  // namespace

bool operator==(const Experiment& a, const Experiment& b) {
  return a.formatVersion == b.formatVersion && a.title == b.title &&
         a.description == b.description && a.seed == b.seed && a.dataset == b.dataset &&
         a.network == b.network && sameHyper(a.optimizer, b.optimizer) &&
         a.schedule == b.schedule && sameRule(a.lossScaling, b.lossScaling) &&
         a.masterWeights == b.masterWeights && a.batchSize == b.batchSize &&
         a.epochs == b.epochs && a.steps == b.steps && a.statsInterval == b.statsInterval &&
         a.shadowStats == b.shadowStats &&
         a.logInterval == b.logInterval && a.evalInterval == b.evalInterval &&
         a.backend == b.backend && a.fp8 == b.fp8 && a.precisionPolicy == b.precisionPolicy;
}

}  // namespace plab
