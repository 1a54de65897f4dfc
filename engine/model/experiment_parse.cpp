// parseExperiment and friends: the strict reader of docs/experiment-format.md.
#include <fstream>
#include <sstream>

#include "model/experiment.h"
#include "model/json_reader.h"

namespace plab {
namespace {

using detail::ObjectReader;
using detail::quoted;
using nlohmann::json;

constexpr std::int64_t kMaxFeatures = 1 << 24;
constexpr std::int64_t kMaxGeometry = 1024;

Precision readPrecision(ObjectReader& r, const std::string& key, Precision fallback) {
  const json* v = r.find(key);
  if (!v) return fallback;
  if (!v->is_string()) {
    r.fail(key, "expected a string (one of " + allowedPrecisionNames() + "), got " +
                    detail::describeType(*v) + " " + quoted(*v));
  }
  const auto p = parsePrecision(v->get<std::string>());
  if (!p) r.fail(key, quoted(*v) + " is not one of " + allowedPrecisionNames());
  return *p;
}

LayerType readLayerType(ObjectReader& r) {
  const std::string name = r.requiredString("type", "every layer needs one of " + allowedLayerTypeNames());
  const auto t = parseLayerType(name);
  if (!t) r.fail("type", quoted(json(name)) + " is not one of " + allowedLayerTypeNames());
  return *t;
}

void readWeightKeys(ObjectReader& r, LayerSpec& s) {
  s.bias = r.boolean("bias", true);
  s.initGain = float(r.number("init_gain", 1.0, 1e-6, 1e6));
}

void readPoolGeometry(ObjectReader& r, LayerSpec& s) {
  s.kernel = int(r.integer("kernel", 2, 1, kMaxGeometry));
  s.stride = int(r.integer("stride", s.kernel, 1, kMaxGeometry));
  s.padding = int(r.integer("padding", 0, 0, kMaxGeometry));
  // As PyTorch: a window must always see at least one real input value.
  if (2 * s.padding > s.kernel) {
    r.fail("padding", std::to_string(s.padding) + " is more than half the kernel (" +
                          std::to_string(s.kernel) + ")");
  }
}

LayerSpec parseLayer(const json& j, const std::string& path) {
  ObjectReader r(j, path);
  LayerSpec s = defaultLayerSpec(readLayerType(r));
  s.precision = readPrecision(r, "precision", Precision::fp32);
  switch (s.type) {
    case LayerType::linear:
      s.out = r.requiredInteger("out", 1, kMaxFeatures, "a linear layer needs its number of outputs");
      readWeightKeys(r, s);
      break;
    case LayerType::conv2d:
      s.out = r.requiredInteger("out_channels", 1, kMaxFeatures,
                                "a conv2d layer needs its number of output channels");
      s.kernel = int(r.integer("kernel", 3, 1, kMaxGeometry));
      s.stride = int(r.integer("stride", 1, 1, kMaxGeometry));
      s.padding = int(r.integer("padding", 0, 0, kMaxGeometry));
      readWeightKeys(r, s);
      break;
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
      readPoolGeometry(r, s);
      break;
    case LayerType::leaky_relu:
      s.slope = float(r.number("slope", 0.01, -1e3, 1e3));
      break;
    case LayerType::dropout:
      s.dropout = float(r.number("p", 0.5, 0.0, 0.99));
      break;
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d:
      s.momentum = float(r.number("momentum", 0.1, 0.0, 1.0));
      s.eps = float(r.number("eps", 1e-5, 1e-12, 1.0));
      break;
    case LayerType::flatten:
    case LayerType::relu:
    case LayerType::gelu:
    case LayerType::tanh:
    case LayerType::sigmoid:
      break;  // no keys beyond type and precision
  }
  r.finish();
  return s;
}

NetworkSpec parseNetwork(const json& j) {
  ObjectReader r(j, "network");
  NetworkSpec net;
  const json* layers = r.find("layers");
  if (!layers) r.fail("layers", "missing (the network needs at least one layer)");
  if (!layers->is_array()) {
    r.fail("layers", "expected an array of layers, got " + detail::describeType(*layers));
  }
  if (layers->empty()) r.fail("layers", "empty (the network needs at least one layer)");
  for (std::size_t i = 0; i < layers->size(); ++i) {
    net.layers.push_back(parseLayer((*layers)[i], "network.layers[" + std::to_string(i) + "]"));
  }
  net.loss = r.choice("loss", "cross_entropy", {"cross_entropy", "mse"}) == "mse"
                 ? LossKind::mse
                 : LossKind::cross_entropy;
  r.finish();
  return net;
}

OptimizerHyper parseOptimizer(const json* j) {
  OptimizerHyper h;  // adam, lr 1e-3
  if (!j) return h;
  ObjectReader r(*j, "optimizer");
  const std::string type = r.choice("type", "adam", {"sgd", "adam", "adamw"});
  h.kind = type == "sgd" ? OptimizerKind::sgd
           : type == "adamw" ? OptimizerKind::adamw
                             : OptimizerKind::adam;
  h.lr = float(r.number("lr", 1e-3, 0.0, 1e3));
  if (h.kind == OptimizerKind::sgd) {
    h.momentum = float(r.number("momentum", 0.0, 0.0, 1.0));
    h.nesterov = r.boolean("nesterov", false);
    h.weightDecay = float(r.number("weight_decay", 0.0, 0.0, 1e3));
    if (h.nesterov && h.momentum <= 0) {
      r.fail("nesterov", "true needs momentum > 0 (as torch.optim.SGD)");
    }
  } else {
    h.beta1 = float(r.number("beta1", 0.9, 0.0, 0.999999));
    h.beta2 = float(r.number("beta2", 0.999, 0.0, 0.999999999));
    h.eps = float(r.number("eps", 1e-8, 1e-30, 1.0));
    // AdamW's decoupled decay defaults to 0.01, as torch.optim.AdamW.
    h.weightDecay = float(r.number("weight_decay", h.kind == OptimizerKind::adamw ? 0.01 : 0.0, 0.0, 1e3));
  }
  r.finish();
  return h;
}

ScheduleSpec parseSchedule(const json* j) {
  ScheduleSpec s;
  if (!j) return s;
  ObjectReader r(*j, "schedule");
  const std::string type = r.choice("type", "constant", {"constant", "step", "cosine"});
  s.type = type == "step" ? ScheduleType::step
           : type == "cosine" ? ScheduleType::cosine
                              : ScheduleType::constant;
  s.warmupSteps = r.integer("warmup_steps", 0, 0, std::int64_t(1) << 40);
  if (s.type == ScheduleType::step) {
    s.stepSize = r.integer("step_size", 1000, 1, std::int64_t(1) << 40);
    s.gamma = float(r.number("gamma", 0.1, 0.0, 1e3));
  } else if (s.type == ScheduleType::cosine) {
    s.minLr = float(r.number("min_lr", 0.0, 0.0, 1e3));
  }
  r.finish();
  return s;
}

LossScaleRule parseLossScaling(const json* j) {
  LossScaleRule rule;
  rule.mode = LossScaleMode::none;
  if (!j) return rule;
  ObjectReader r(*j, "loss_scaling");
  const std::string mode = r.choice("mode", "none", {"none", "static", "dynamic"});
  constexpr double kMaxScale = 3.0e38;
  if (mode == "static") {
    rule.mode = LossScaleMode::fixed;
    rule.initScale = float(r.number("scale", 1024.0, 1e-30, kMaxScale));
  } else if (mode == "dynamic") {
    rule.mode = LossScaleMode::dynamic;
    rule.initScale = float(r.number("init_scale", 65536.0, 1e-30, kMaxScale));
    rule.growthFactor = float(r.number("growth_factor", 2.0, 1.0, 1e6));
    rule.backoffFactor = float(r.number("backoff_factor", 0.5, 1e-6, 1.0));
    rule.growthInterval = std::int32_t(r.integer("growth_interval", 2000, 1, 1 << 30));
    rule.hysteresis = std::int32_t(r.integer("hysteresis", 1, 1, 1 << 20));
    rule.minScale = float(r.number("min_scale", 0.0, 0.0, kMaxScale));
    rule.maxScale = float(r.number("max_scale", 0.0, 0.0, kMaxScale));
    if (rule.maxScale > 0 && rule.minScale > rule.maxScale) {
      r.fail("min_scale", "is above max_scale");
    }
  }
  r.finish();
  return rule;
}

Fp8Settings parseFp8(const json* j) {
  Fp8Settings f;
  if (!j) return f;
  ObjectReader r(*j, "fp8");
  f.history = int(r.integer("history", 16, 1, 4096));
  f.margin = float(r.number("margin", 0.0, 0.0, 64.0));
  const std::vector<std::string> fp8Names = {"fp8_e4m3", "fp8_e5m2"};
  f.forward = *parsePrecision(r.choice("forward", "fp8_e4m3", fp8Names));
  f.backward = *parsePrecision(r.choice("backward", "fp8_e5m2", fp8Names));
  r.finish();
  return f;
}

json parseDatasetObject(ObjectReader& top) {
  const json* d = top.find("dataset");
  if (!d) top.fail("dataset", "missing (e.g. {\"name\": \"spirals\"})");
  if (!d->is_object()) top.fail("dataset", "expected an object, got " + detail::describeType(*d));
  ObjectReader r(*d, "dataset");
  r.requiredString("name", "the dataset's name, e.g. \"spirals\" or \"fashion-mnist\"");
  // The other keys belong to engine/data: loadDataset validates them.
  return *d;
}

void parseLength(ObjectReader& r, Experiment& e) {
  const bool hasEpochs = r.has("epochs");
  const bool hasSteps = r.has("steps");
  if (hasEpochs && hasSteps) r.fail("steps", "give either epochs or steps, not both");
  e.epochs = hasSteps ? 0 : std::int32_t(r.integer("epochs", 1, 1, 1 << 20));
  e.steps = hasSteps ? r.integer("steps", 0, 1, std::int64_t(1) << 40) : 0;
}

}  // namespace

Experiment parseExperiment(const json& file) {
  ObjectReader r(file, "");
  Experiment e;
  e.formatVersion = int(r.integer("format_version", kExperimentFormatVersion, 1, 1 << 20));
  if (e.formatVersion > kExperimentFormatVersion) {
    r.fail("format_version", std::to_string(e.formatVersion) +
                                 " is newer than this program reads (" +
                                 std::to_string(kExperimentFormatVersion) + ")");
  }
  e.title = r.string("title", "");
  e.description = r.string("description", "");
  e.seed = r.unsignedInteger("seed", 0);
  e.dataset = parseDatasetObject(r);
  if (!r.has("network")) r.fail("network", "missing (an object with \"layers\" and \"loss\")");
  e.network = parseNetwork(*r.find("network"));
  e.optimizer = parseOptimizer(r.find("optimizer"));
  e.optimizer.clipNorm = float(r.number("grad_clip_norm", 0.0, 0.0, 1e30));
  e.schedule = parseSchedule(r.find("schedule"));
  e.lossScaling = parseLossScaling(r.find("loss_scaling"));
  e.masterWeights = r.boolean("master_weights", true);
  e.batchSize = std::int32_t(r.integer("batch_size", 64, 1, 1 << 20));
  parseLength(r, e);
  e.statsInterval = std::int32_t(r.integer("stats_interval", 50, 0, 1 << 30));
  e.logInterval = std::int32_t(r.integer("log_interval", 1, 1, 1 << 30));
  e.evalInterval = std::int32_t(r.integer("eval_interval", 0, 0, 1 << 30));
  e.backend = r.choice("backend", "auto", {"auto", "cpu", "cuda"});
  e.fp8 = parseFp8(r.find("fp8"));
  r.finish();
  return e;
}

namespace {

// "3:7": the line and column (1-based) of byte offset `byte` in text.
std::string lineAndColumn(const std::string& text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message without its "[json.exception...] parse error at line 3, column 7: " prefix.
std::string parseErrorReason(const std::string& what) {
  const std::size_t colon = what.find(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

Experiment parseExperimentText(const std::string& text, const std::string& sourceName) {
  json file;
  try {
    file = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the offset just past the character that failed.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    throw ExperimentError(sourceName + ":" + lineAndColumn(text, at) +
                          ": malformed JSON: " + parseErrorReason(e.what()));
  }
  try {
    return parseExperiment(file);
  } catch (const ExperimentError& e) {
    throw ExperimentError(sourceName + ": " + e.what());
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
