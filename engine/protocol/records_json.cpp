#include "protocol/records_json.h"

#include "core/json_number.h"
#include "core/json_text.h"

namespace plab {

using nlohmann::json;
using namespace protocol;

void to_json(json& j, const StepMetrics& m) {
  j = json{{"step", m.step},
           {"epoch", m.epoch},
           {"loss", numberToJson(m.loss)},
           {"loss_scale", numberToJson(m.lossScale)},
           {"overflow", m.overflow},
           {"skipped", m.skipped},
           {"culprit", m.culprit},
           {"grad_norm", numberToJson(m.gradNorm)},
           {"learning_rate", numberToJson(m.learningRate)},
           {"step_ms", numberToJson(m.stepMs)},
           {"samples_per_second", numberToJson(m.samplesPerSecond)}};
}

void from_json(const json& j, StepMetrics& m) {
  m.step = readInt(j, "step");
  m.epoch = std::int32_t(readInt(j, "epoch"));
  m.loss = readNumber(j, "loss");
  m.lossScale = readNumber(j, "loss_scale");
  m.overflow = readBool(j, "overflow");
  m.skipped = readBool(j, "skipped");
  m.culprit = readString(j, "culprit");
  m.gradNorm = readNumber(j, "grad_norm");
  m.learningRate = readNumber(j, "learning_rate");
  m.stepMs = readNumber(j, "step_ms");
  m.samplesPerSecond = readNumber(j, "samples_per_second");
}

void to_json(json& j, const OverflowEvent& e) {
  j = json{{"step", e.step},
           {"scale_before", numberToJson(e.scaleBefore)},
           {"scale_after", numberToJson(e.scaleAfter)},
           {"layers", e.layers}};
}

void from_json(const json& j, OverflowEvent& e) {
  e.step = readInt(j, "step");
  e.scaleBefore = readNumber(j, "scale_before");
  e.scaleAfter = readNumber(j, "scale_after");
  const json& layers = readArray(j, "layers");
  e.layers.clear();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].is_string()) failField("layers[" + std::to_string(i) + "]", "must be a string (got " + previewJson(layers[i]) + ")");
    e.layers.push_back(layers[i].get<std::string>());
  }
}

void to_json(json& j, const ScaleGrowthEvent& e) {
  j = json{{"step", e.step}, {"scale_before", numberToJson(e.scaleBefore)}, {"scale_after", numberToJson(e.scaleAfter)}};
}

void from_json(const json& j, ScaleGrowthEvent& e) {
  e.step = readInt(j, "step");
  e.scaleBefore = readNumber(j, "scale_before");
  e.scaleAfter = readNumber(j, "scale_after");
}

void to_json(json& j, const PrecisionPromotion& p) {
  j = json{{"step", p.step}, {"layer_index", p.layerIndex}, {"layer", p.layerName},
           {"from", p.from},  {"to", p.to},                  {"reason", p.reason}};
}

void from_json(const json& j, PrecisionPromotion& p) {
  p.step = readInt(j, "step");
  p.layerIndex = std::int32_t(readInt(j, "layer_index"));
  p.layerName = readString(j, "layer");
  p.from = readString(j, "from");
  p.to = readString(j, "to");
  p.reason = readString(j, "reason");
}

void to_json(json& j, const EpochMetrics& m) {
  j = json{{"epoch", m.epoch},
           {"step", m.step},
           {"train_loss", numberToJson(m.trainLoss)},
           {"train_accuracy", numberToJson(m.trainAccuracy)},
           {"test_loss", numberToJson(m.testLoss)},
           {"test_accuracy", numberToJson(m.testAccuracy)}};
}

void from_json(const json& j, EpochMetrics& m) {
  m.epoch = std::int32_t(readInt(j, "epoch"));
  m.step = readInt(j, "step");
  m.trainLoss = readNumber(j, "train_loss");
  m.trainAccuracy = readNumber(j, "train_accuracy");
  m.testLoss = readNumber(j, "test_loss");
  m.testAccuracy = readNumber(j, "test_accuracy");
}

namespace {

json sparseHistogram(const std::array<std::int64_t, kLog2HistBins>& bins) {
  json hist = json::array();
  for (int bin = 0; bin < kLog2HistBins; ++bin)
    if (bins[std::size_t(bin)] != 0) hist.push_back(json::array({bin, bins[std::size_t(bin)]}));
  return hist;
}

void readSparseHistogram(const json& j, std::array<std::int64_t, kLog2HistBins>& out) {
  const std::int64_t histMin = readInt(j, "hist_min");
  if (histMin != kLog2HistMin)
    failField("hist_min", "is " + std::to_string(histMin) + ", this program uses " + std::to_string(kLog2HistMin));
  const json& hist = readArray(j, "hist");
  for (std::size_t i = 0; i < hist.size(); ++i) {
    const std::string field = "hist[" + std::to_string(i) + "]";
    const json& pair = hist[i];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() || !pair[1].is_number_integer())
      failField(field, "must be [bin, count] (got " + previewJson(pair) + ")");
    const std::int64_t bin = pair[0].get<std::int64_t>();
    if (bin < 0 || bin >= kLog2HistBins) failField(field, "bin " + std::to_string(bin) + " is outside 0.." + std::to_string(kLog2HistBins - 1));
    out[std::size_t(bin)] = pair[1].get<std::int64_t>();
  }
}

}  // namespace

void to_json(json& j, const TensorStats& s) {
  json hist = sparseHistogram(s.log2Hist);
  j = json{{"count", s.count},           {"zeros", s.zeros},
           {"underflows", s.underflows}, {"overflows", s.overflows},
           {"non_finite", s.nonFinite},  {"max_abs", numberToJson(s.maxAbs)},
           {"hist_min", kLog2HistMin},   {"hist", std::move(hist)}};
}

void from_json(const json& j, TensorStats& s) {
  s = TensorStats{};
  s.count = readInt(j, "count");
  s.zeros = readInt(j, "zeros");
  s.underflows = readInt(j, "underflows");
  s.overflows = readInt(j, "overflows");
  s.nonFinite = readInt(j, "non_finite");
  s.maxAbs = float(readNumber(j, "max_abs"));
  readSparseHistogram(j, s.log2Hist);
}

void to_json(json& j, const ShadowStats& s) {
  j = json{{"count", s.count},           {"zeros", s.zeros},
           {"underflows", s.underflows}, {"overflows", s.overflows},
           {"precision_loss", s.precisionLoss}, {"rel_error", numberToJson(s.relError)},
           {"hist_min", kLog2HistMin},   {"hist", sparseHistogram(s.log2Hist)}};
}

void from_json(const json& j, ShadowStats& s) {
  s = ShadowStats{};
  s.count = readInt(j, "count");
  s.zeros = readInt(j, "zeros");
  s.underflows = readInt(j, "underflows");
  s.overflows = readInt(j, "overflows");
  s.precisionLoss = readInt(j, "precision_loss");
  s.relError = readNumber(j, "rel_error");
  readSparseHistogram(j, s.log2Hist);
}

void to_json(json& j, const LayerStatsRecord& r) {
  j = json{{"step", r.step},
           {"layer_index", r.layerIndex},
           {"layer", r.layerName},
           {"kind", statsKindText(r.kind)},
           {"precision", r.precision},
           {"stats", r.stats}};
  if (r.hasShadow) j["shadow"] = r.shadow;  // only with shadow_stats on
  if (r.productRelError) j["product_rel_error"] = numberToJson(*r.productRelError);  // linear, conv2d activations
  if (!r.sample.empty()) {
    json sample = json::array();
    for (float v : r.sample) sample.push_back(numberToJson(double(v)));  // inf and NaN as text
    j["sample"] = std::move(sample);
  }
}

void from_json(const json& j, LayerStatsRecord& r) {
  r.step = readInt(j, "step");
  r.layerIndex = std::int32_t(readInt(j, "layer_index"));
  r.layerName = readString(j, "layer");
  const std::string kind = readString(j, "kind");
  const auto parsed = statsKindFromText(kind);
  if (!parsed) failField("kind", "\"" + kind + "\" is not one of activation, gradient");
  r.kind = *parsed;
  r.precision = readString(j, "precision");
  withPrefix("stats.", [&] { from_json(readObject(j, "stats"), r.stats); });
  r.hasShadow = j.contains("shadow");
  r.shadow = ShadowStats{};
  if (r.hasShadow) withPrefix("shadow.", [&] { from_json(readObject(j, "shadow"), r.shadow); });
  r.productRelError.reset();
  if (j.contains("product_rel_error")) r.productRelError = readNumber(j, "product_rel_error");
  r.sample.clear();
  if (j.contains("sample")) r.sample = statsSampleFromJson(readArray(j, "sample"));
}

std::vector<float> statsSampleFromJson(const json& array) {
  if (!array.is_array()) failField("sample", "must be an array (got " + previewJson(array) + ")");
  if (array.size() > kStatsSampleValues)
    failField("sample", "holds " + std::to_string(array.size()) + " values, at most " +
                            std::to_string(kStatsSampleValues) + " allowed");
  std::vector<float> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const auto v = numberFromJson(array[i]);
    if (!v)
      failField("sample[" + std::to_string(i) + "]",
                "must be a number, \"nan\", \"inf\" or \"-inf\" (got " + previewJson(array[i]) + ")");
    out.push_back(static_cast<float>(*v));
  }
  return out;
}

void to_json(json& j, const LayerTiming& t) {
  j = json{{"layer", t.layerName}, {"forward_ms", numberToJson(t.forwardMs)}, {"backward_ms", numberToJson(t.backwardMs)}};
}

void from_json(const json& j, LayerTiming& t) {
  t.layerName = readString(j, "layer");
  t.forwardMs = readNumber(j, "forward_ms");
  t.backwardMs = readNumber(j, "backward_ms");
}

void to_json(json& j, const SpeedResult& r) {
  j = json{{"config", r.config},
           {"batch_size", r.batchSize},
           {"median_step_ms", numberToJson(r.medianStepMs)},
           {"samples_per_second", numberToJson(r.samplesPerSecond)},
           {"measured_steps", r.measuredSteps},
           {"layers", r.layers}};
}

void from_json(const json& j, SpeedResult& r) {
  r.config = readString(j, "config");
  r.batchSize = std::int32_t(readInt(j, "batch_size"));
  r.medianStepMs = readNumber(j, "median_step_ms");
  r.samplesPerSecond = readNumber(j, "samples_per_second");
  r.measuredSteps = std::int32_t(readInt(j, "measured_steps"));
  r.layers = decodeArray<LayerTiming>(j, "layers");
}

void to_json(json& j, const MemoryUse& m) {
  j = json{{"weights", m.weights},
           {"master_weights", m.masterWeights},
           {"gradients", m.gradients},
           {"optimizer_state", m.optimizerState},
           {"activations", m.activations},
           {"total", m.total()}};
  if (m.shadow) j["shadow"] = m.shadow;  // shadow_stats only
}

void from_json(const json& j, MemoryUse& m) {
  m.weights = readInt(j, "weights");
  m.masterWeights = readInt(j, "master_weights");
  m.gradients = readInt(j, "gradients");
  m.optimizerState = readInt(j, "optimizer_state");
  m.activations = readInt(j, "activations");
  m.shadow = j.contains("shadow") ? readInt(j, "shadow") : 0;  // written only with shadow_stats
}

namespace protocol {

const char* runStatusText(RunStatus s) { return plab::toString(s); }

std::optional<RunStatus> runStatusFromText(const std::string& text) {
  RunStatus s;
  if (parseRunStatus(text, s)) return s;
  return std::nullopt;
}

const char* statsKindText(StatsKind k) { return k == StatsKind::activation ? "activation" : "gradient"; }

std::optional<StatsKind> statsKindFromText(const std::string& text) {
  if (text == "activation") return StatsKind::activation;
  if (text == "gradient") return StatsKind::gradient;
  return std::nullopt;
}

}  // namespace protocol
}  // namespace plab
