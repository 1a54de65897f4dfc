// parseExperiment and friends: the strict reader of docs/experiment-format.md.
#include <fstream>
#include <sstream>

#include "core/json_text.h"
#include "model/experiment.h"
#include "model/experiment_schema.h"
#include "model/json_reader.h"

namespace plab {
namespace {

using detail::ObjectReader;
using detail::quoted;
using nlohmann::json;

// The keys of one object, read with the default, limits and choices that the schema
// (experiment_schema.cpp) gives for its section and selector value.
class Fields {
 public:
  Fields(ObjectReader& r, std::string section, std::string selected, const json& object)
      : r_(r), section_(std::move(section)), selected_(std::move(selected)), object_(object) {}

  const KeyRule& rule(const std::string& key) const { return keyRule(section_, key, selected_); }

  std::int64_t integer(const std::string& key) {
    const KeyRule& k = rule(key);
    const auto lo = std::int64_t(k.min), hi = std::int64_t(k.max);
    if (k.required) return r_.requiredInteger(key, lo, hi, k.ifMissing);
    return r_.integer(key, defaultFor(k, object_).get<std::int64_t>(), lo, hi);
  }
  double number(const std::string& key) {
    const KeyRule& k = rule(key);
    return r_.number(key, defaultFor(k, object_).get<double>(), k.min, k.max);
  }
  bool boolean(const std::string& key) { return r_.boolean(key, defaultFor(rule(key), object_).get<bool>()); }
  std::string string(const std::string& key) {
    return r_.string(key, defaultFor(rule(key), object_).get<std::string>());
  }
  std::string choice(const std::string& key) {
    const KeyRule& k = rule(key);
    return r_.choice(key, defaultFor(k, object_).get<std::string>(), k.choices);
  }

 private:
  ObjectReader& r_;
  std::string section_, selected_;
  const json& object_;
};

const char* kLayerSection = "network.layers[]";

LayerType readLayerType(ObjectReader& r) {
  const KeyRule& k = keyRule(kLayerSection, "type");
  const std::string name = r.requiredString("type", k.ifMissing);
  const auto t = parseLayerType(name);
  if (!t) r.fail("type", quoted(json(name)) + " is not one of " + detail::joinNames(k.choices));
  return *t;
}

void readWeightKeys(ObjectReader& r, Fields& f, LayerSpec& s) {
  s.bias = f.boolean("bias");
  s.initGain = float(f.number("init_gain"));
  s.accumulate = f.choice("accumulate") == "layer" ? Accumulation::layer : Accumulation::fp32;
  if (s.accumulate == Accumulation::layer && !canAccumulateIn(s.precision)) {
    r.fail("accumulate", "\"layer\" needs a fp16 or bf16 layer (this one is " + std::string(toString(s.precision)) +
                             "; fp32 accumulation is the default)");
  }
}

void readGeometry(Fields& f, LayerSpec& s) {
  s.kernel = int(f.integer("kernel"));
  s.stride = int(f.integer("stride"));
  s.padding = int(f.integer("padding"));
}

// A layer's precision: one of the schema's. A block-scaled format (mxfp4, nvfp4, ...)
// trains in linear layers (their products) and in the layers between them, which hold
// bf16; conv2d has no block-scaled products yet.
Precision readLayerPrecision(ObjectReader& r, Fields& f, LayerType type) {
  const Precision p = *parsePrecision(f.choice("precision"));
  if (isBlockScaled(p) && type == LayerType::conv2d) {
    r.fail("precision", "\"" + std::string(toString(p)) + "\" is block-scaled, and conv2d layers have no "
                        "block-scaled products yet (linear layers do; docs/architecture.md, \"Block-scaled training\")");
  }
  return p;
}

// rounding, block_scaling, block_backward: refused where they would change nothing.
void readRoundingAndBlocks(ObjectReader& r, Fields& f, LayerSpec& s) {
  const std::string format(toString(s.precision));
  s.rounding = f.choice("rounding") == "stochastic" ? Rounding::stochastic : Rounding::nearest;
  if (s.rounding == Rounding::stochastic && (s.precision == Precision::fp32 || isFp8(s.precision))) {
    r.fail("rounding", "\"stochastic\" needs a fp16, bf16, tf32 or block-scaled layer (this one is " + format +
                           (isFp8(s.precision) ? ": fp8 has no stochastic rounding yet)" : ": fp32 rounds nothing)"));
  }
  if (s.type != LayerType::linear) return;
  const std::string scaling = f.choice("block_scaling");
  s.blockScaling = scaling == "2d" ? BlockScaling::tiles2d : scaling == "tensor" ? BlockScaling::tensor
                                                                                : BlockScaling::blocks1d;
  s.blockBackward = f.boolean("block_backward");
  if (!isBlockScaled(s.precision)) {
    if (s.blockScaling != BlockScaling::blocks1d) {
      r.fail("block_scaling", "\"" + scaling + "\" applies to block-scaled layers (mxfp4, nvfp4, ...), and this one is " +
                                  format);
    }
    if (!s.blockBackward) {
      r.fail("block_backward", "false applies to block-scaled layers (mxfp4, nvfp4, ...), and this one is " + format);
    }
  }
}

LayerSpec parseLayer(const json& j, const std::string& path) {
  ObjectReader r(j, path);
  LayerSpec s = defaultLayerSpec(readLayerType(r));
  Fields f(r, kLayerSection, std::string(toString(s.type)), j);
  s.precision = readLayerPrecision(r, f, s.type);
  switch (s.type) {
    case LayerType::linear:
      s.out = f.integer("out");
      readWeightKeys(r, f, s);
      readRoundingAndBlocks(r, f, s);
      break;
    case LayerType::conv2d:
      s.out = f.integer("out_channels");
      readGeometry(f, s);
      readWeightKeys(r, f, s);
      readRoundingAndBlocks(r, f, s);
      break;
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
      readGeometry(f, s);
      // As PyTorch: a window must always see at least one real input value.
      if (2 * s.padding > s.kernel) {
        r.fail("padding", std::to_string(s.padding) + " is more than half the kernel (" +
                              std::to_string(s.kernel) + ")");
      }
      break;
    PLAB_ACTIVATION_LAYER_CASES
      if (const act::Param param = activationParam(*activationOf(s.type)); !param.key.empty()) {
        s.param = float(f.number(std::string(param.key)));
      }
      break;
    case LayerType::dropout:
      s.dropout = float(f.number("p"));
      break;
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d:
      s.momentum = float(f.number("momentum"));
      s.eps = float(f.number("eps"));
      break;
    case LayerType::flatten:
      break;  // no keys beyond type and precision
  }
  r.finish();
  return s;
}

NetworkSpec parseNetwork(const json& j) {
  ObjectReader r(j, "network");
  Fields f(r, "network", "", j);
  NetworkSpec net;
  const json* layers = r.find("layers");
  const std::string needsLayers = f.rule("layers").ifMissing;
  if (!layers) r.fail("layers", "missing (" + needsLayers + ")");
  if (!layers->is_array()) {
    r.fail("layers", "expected an array of layers, got " + detail::describeType(*layers));
  }
  if (layers->empty()) r.fail("layers", "empty (" + needsLayers + ")");
  for (std::size_t i = 0; i < layers->size(); ++i) {
    net.layers.push_back(parseLayer((*layers)[i], "network.layers[" + std::to_string(i) + "]"));
  }
  net.loss = f.choice("loss") == "mse" ? LossKind::mse : LossKind::cross_entropy;
  r.finish();
  return net;
}

// A section object ("optimizer", ...) that may be missing: an empty one then.
const json& objectOrEmpty(const json* j) {
  static const json empty = json::object();
  return j ? *j : empty;
}

// The selector ("type", "mode") of a section object, read first: the other keys'
// defaults and limits depend on it.
std::string readSelector(ObjectReader& r, const std::string& section, const json& object) {
  return Fields(r, section, "", object).choice(std::string(selectorKey(section)));
}

OptimizerHyper parseOptimizer(const json* j) {
  const json& o = objectOrEmpty(j);
  ObjectReader r(o, "optimizer");
  const std::string type = readSelector(r, "optimizer", o);
  Fields f(r, "optimizer", type, o);
  OptimizerHyper h;
  h.kind = type == "sgd" ? OptimizerKind::sgd
           : type == "adamw" ? OptimizerKind::adamw
                             : OptimizerKind::adam;
  h.lr = float(f.number("lr"));
  if (h.kind == OptimizerKind::sgd) {
    h.momentum = float(f.number("momentum"));
    h.nesterov = f.boolean("nesterov");
    h.weightDecay = float(f.number("weight_decay"));
    if (h.nesterov && h.momentum <= 0) {
      r.fail("nesterov", "true needs momentum > 0 (as torch.optim.SGD)");
    }
  } else {
    h.beta1 = float(f.number("beta1"));
    h.beta2 = float(f.number("beta2"));
    h.eps = float(f.number("eps"));
    h.weightDecay = float(f.number("weight_decay"));
  }
  r.finish();
  return h;
}

ScheduleSpec parseSchedule(const json* j) {
  const json& o = objectOrEmpty(j);
  ObjectReader r(o, "schedule");
  const std::string type = readSelector(r, "schedule", o);
  Fields f(r, "schedule", type, o);
  ScheduleSpec s;
  s.type = type == "step" ? ScheduleType::step
           : type == "cosine" ? ScheduleType::cosine
                              : ScheduleType::constant;
  s.warmupSteps = f.integer("warmup_steps");
  if (s.type == ScheduleType::step) {
    s.stepSize = f.integer("step_size");
    s.gamma = float(f.number("gamma"));
  } else if (s.type == ScheduleType::cosine) {
    s.minLr = float(f.number("min_lr"));
  }
  r.finish();
  return s;
}

LossScaleRule parseLossScaling(const json* j) {
  const json& o = objectOrEmpty(j);
  ObjectReader r(o, "loss_scaling");
  const std::string mode = readSelector(r, "loss_scaling", o);
  Fields f(r, "loss_scaling", mode, o);
  LossScaleRule rule;
  rule.mode = LossScaleMode::none;
  if (mode == "static") {
    rule.mode = LossScaleMode::fixed;
    rule.initScale = float(f.number("scale"));
  } else if (mode == "dynamic") {
    rule.mode = LossScaleMode::dynamic;
    rule.initScale = float(f.number("init_scale"));
    rule.growthFactor = float(f.number("growth_factor"));
    rule.backoffFactor = float(f.number("backoff_factor"));
    rule.growthInterval = std::int32_t(f.integer("growth_interval"));
    rule.hysteresis = std::int32_t(f.integer("hysteresis"));
    rule.minScale = float(f.number("min_scale"));
    rule.maxScale = float(f.number("max_scale"));
    if (rule.maxScale > 0 && rule.minScale > rule.maxScale) {
      r.fail("min_scale", "is above max_scale");
    }
  }
  r.finish();
  return rule;
}

Fp8Settings parseFp8(const json* j) {
  const json& o = objectOrEmpty(j);
  ObjectReader r(o, "fp8");
  const std::string scaling = readSelector(r, "fp8", o);
  Fields f(r, "fp8", scaling, o);
  Fp8Settings s;
  s.scaling = scaling == "none" ? Fp8Scaling::none : Fp8Scaling::delayed;
  if (s.scaling == Fp8Scaling::delayed) {
    s.history = int(f.integer("history"));
    s.margin = float(f.number("margin"));
  }
  s.forward = *parsePrecision(f.choice("forward"));
  s.backward = *parsePrecision(f.choice("backward"));
  r.finish();
  return s;
}

PrecisionPolicy parsePrecisionPolicy(const json* j) {
  const json& o = objectOrEmpty(j);
  ObjectReader r(o, "precision_policy");
  const std::string mode = readSelector(r, "precision_policy", o);
  Fields f(r, "precision_policy", mode, o);
  PrecisionPolicy p;
  p.mode = mode == "adaptive" ? PrecisionPolicyMode::adaptive : PrecisionPolicyMode::fixed;
  if (p.mode == PrecisionPolicyMode::adaptive) {
    p.underflowLimit = f.number("underflow_limit");
    p.overflowLimit = f.number("overflow_limit");
    p.patience = int(f.integer("patience"));
  }
  r.finish();
  return p;
}

// A required object of the top level ("dataset", "network").
const json& requiredObject(ObjectReader& top, const std::string& key) {
  const json* d = top.find(key);
  if (!d) top.fail(key, "missing (" + keyRule("", key).ifMissing + ")");
  return *d;
}

json parseDatasetObject(ObjectReader& top) {
  const json& d = requiredObject(top, "dataset");
  if (!d.is_object()) top.fail("dataset", "expected an object, got " + detail::describeType(d));
  ObjectReader r(d, "dataset");
  r.requiredString("name", keyRule("dataset", "name").ifMissing);
  // The other keys belong to engine/data: loadDataset validates them (by the same
  // limits as the schema's dataset entries, which tests/model/tst_schema.cpp checks).
  return d;
}

void parseLength(ObjectReader& r, Fields& f, Experiment& e) {
  const bool hasEpochs = r.has("epochs");
  const bool hasSteps = r.has("steps");
  if (hasEpochs && hasSteps) r.fail("steps", "give either epochs or steps, not both");
  e.epochs = hasSteps ? 0 : std::int32_t(f.integer("epochs"));
  // steps has no default: a file without it trains for epochs.
  const KeyRule& steps = f.rule("steps");
  e.steps = hasSteps ? r.integer("steps", 0, std::int64_t(steps.min), std::int64_t(steps.max)) : 0;
}

}  // namespace

Experiment parseExperiment(const json& file) {
  ObjectReader r(file, "");
  Fields f(r, "", "", file);
  Experiment e;
  e.formatVersion = int(f.integer("format_version"));
  if (e.formatVersion > kExperimentFormatVersion) {
    r.fail("format_version", std::to_string(e.formatVersion) +
                                 " is newer than this program reads (" +
                                 std::to_string(kExperimentFormatVersion) + ")");
  }
  e.title = f.string("title");
  e.description = f.string("description");
  e.seed = r.unsignedInteger("seed", defaultFor(f.rule("seed"), file).get<std::uint64_t>());
  e.dataset = parseDatasetObject(r);
  e.network = parseNetwork(requiredObject(r, "network"));
  e.optimizer = parseOptimizer(r.find("optimizer"));
  e.optimizer.clipNorm = float(f.number("grad_clip_norm"));
  e.schedule = parseSchedule(r.find("schedule"));
  e.lossScaling = parseLossScaling(r.find("loss_scaling"));
  e.masterWeights = f.boolean("master_weights");
  e.batchSize = std::int32_t(f.integer("batch_size"));
  parseLength(r, f, e);
  e.statsInterval = std::int32_t(f.integer("stats_interval"));
  e.shadowStats = f.boolean("shadow_stats");
  e.logInterval = std::int32_t(f.integer("log_interval"));
  e.evalInterval = std::int32_t(f.integer("eval_interval"));
  e.backend = f.choice("backend");
  e.fp8 = parseFp8(r.find("fp8"));
  e.precisionPolicy = parsePrecisionPolicy(r.find("precision_policy"));
  if (e.precisionPolicy.mode == PrecisionPolicyMode::adaptive && e.statsInterval == 0) {
    r.fail("precision_policy.mode", "\"adaptive\" decides from the layer statistics, but stats_interval is 0 "
                                    "(none are taken); give stats_interval > 0");
  }
  r.finish();
  return e;
}

Experiment parseExperimentText(const std::string& text, const std::string& sourceName) {
  json file;
  try {
    file = parseJsonText(text);  // bounded depth, nothing after the value (core/json_text.h)
  } catch (const JsonTextError& e) {
    throw ExperimentError(e.inFile(sourceName));
  }
  try {
    return parseExperiment(file);
  } catch (const ExperimentError& e) {
    throw e.withPrefix(sourceName + ": ");
  }
}

Experiment loadExperimentFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ExperimentError(path + ": cannot open the experiment file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ExperimentError(path + ": cannot read the experiment file");
  return parseExperimentText(text.str(), path);
}

}  // namespace plab
