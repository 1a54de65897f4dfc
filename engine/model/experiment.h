#pragma once
// An experiment file (docs/experiment-format.md) as C++ values: everything a run
// needs. parseExperiment() validates strictly (unknown keys, wrong types, values out
// of range) and throws ExperimentError naming the field and what is allowed, before
// any training starts. toJson() writes every field explicitly, so a stored run's
// config parses back to the same Experiment and re-runs exactly.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.h"  // OptimizerKind, OptimizerHyper
#include "numerics/precision.h"
#include "core/loss_scale_rule.h"

namespace plab {

inline constexpr int kExperimentFormatVersion = 1;

// A file that is not a valid experiment. what() is the whole message, e.g.
// `network.layers[2].precision: "fp61" is not one of fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2`
// or `spirals.json:3:7: malformed JSON: ...`. keyPath() is the field it is about
// ("network.layers[2].precision"; "" when the file as a whole is wrong), so that the
// GUI can mark that field without reading the message.
class ExperimentError : public std::runtime_error {
 public:
  explicit ExperimentError(const std::string& message) : std::runtime_error(message) {}
  // what() is "keyPath: message" (or message alone at the top of the file).
  ExperimentError(std::string keyPath, const std::string& message)
      : std::runtime_error(keyPath.empty() ? message : keyPath + ": " + message), keyPath_(std::move(keyPath)) {}
  // The same error with a prefix ("spirals.json: ") before the message.
  ExperimentError withPrefix(const std::string& prefix) const {
    ExperimentError e(prefix + what());
    e.keyPath_ = keyPath_;
    return e;
  }
  const std::string& keyPath() const { return keyPath_; }

 private:
  std::string keyPath_;
};

// ---- network --------------------------------------------------------------------

// The activations are the list of core/activations.h, in its order and spelling.
#define PLAB_LAYER_ACTIVATION(name, S) name,
enum class LayerType {
  linear, conv2d, maxpool2d, avgpool2d, flatten,
  PLAB_ACTIVATIONS(PLAB_LAYER_ACTIVATION)
  dropout, batchnorm1d, batchnorm2d
};
#undef PLAB_LAYER_ACTIVATION
// In a switch on LayerType: one `case` per activation.
#define PLAB_LAYER_ACTIVATION_CASE(name, S) case LayerType::name:
#define PLAB_ACTIVATION_LAYER_CASES PLAB_ACTIVATIONS(PLAB_LAYER_ACTIVATION_CASE)
// The activation a layer type computes, or nothing for the other layer types.
std::optional<Activation> activationOf(LayerType t);
std::string_view toString(LayerType t);          // "leaky_relu": the spelling in files
std::optional<LayerType> parseLayerType(std::string_view name);
std::string allowedLayerTypeNames();             // "linear, conv2d, ..." for messages
std::vector<LayerType> allLayerTypes();          // in the order of the format's table

// Where a linear or conv2d layer's products sum (docs/architecture.md, "Accumulation"):
// fp32 (the numerics contract's default, as tensor cores) or the layer's own format,
// rounding the running sum after every addition ("layer"; fp16 and bf16 layers only).
enum class Accumulation { fp32, layer };
std::string_view toString(Accumulation a);  // "fp32", "layer": the spelling in files
// Whether a layer of format p may accumulate in it (fp16, bf16).
bool canAccumulateIn(Precision p);

// How a linear layer in a block-scaled format (mxfp4, nvfp4, ...) cuts the inputs of its
// products into blocks (docs/architecture.md, "Block-scaled training"; "block_scaling" in
// files): blocks of the format's size along each product's reduction dimension ("1d"),
// the same with the weight in 16 x 16 tiles so that W and W^T quantise alike ("2d"), or
// one scale per operand, per-tensor scaling, for comparison ("tensor").
enum class BlockScaling { blocks1d, tiles2d, tensor };
std::string_view toString(BlockScaling b);  // "1d", "2d", "tensor"

// One layer. Only the fields of its type are meaningful (and written by toJson);
// defaultLayerSpec() gives a layer with the documented defaults of its type.
struct LayerSpec {
  LayerType type = LayerType::linear;
  Precision precision = Precision::fp32;  // its activations, working weights, gradients
  std::int64_t out = 0;        // linear: out features; conv2d: out_channels
  bool bias = true;            // linear, conv2d
  float initGain = 1.0f;       // linear, conv2d: multiplies PyTorch's default init bound
  Accumulation accumulate = Accumulation::fp32;  // linear, conv2d: where products sum
  Rounding rounding = Rounding::nearest;  // linear, conv2d: of gradients and master-less updates
  BlockScaling blockScaling = BlockScaling::blocks1d;  // linear in a block-scaled format
  bool blockBackward = true;   // linear in a block-scaled format: backward products quantised too
  int kernel = 3;              // conv2d (3), pooling (2); square
  int stride = 1;              // conv2d (1), pooling (= kernel)
  int padding = 0;             // conv2d, pooling
  float param = 0.0f;          // an activation's parameter (leaky_relu: its slope)
  float dropout = 0.5f;        // dropout: the probability of zeroing ("p" in files)
  float momentum = 0.1f;       // batchnorm: running-statistics momentum, as PyTorch
  float eps = 1e-5f;           // batchnorm
  bool operator==(const LayerSpec&) const = default;
};
LayerSpec defaultLayerSpec(LayerType t);

enum class LossKind { cross_entropy, mse };
std::string_view toString(LossKind k);

struct NetworkSpec {
  std::vector<LayerSpec> layers;
  LossKind loss = LossKind::cross_entropy;
  bool operator==(const NetworkSpec&) const = default;
};

// The same network with every layer in precision p (the speed benchmark's
// "fp16-mixed" etc.: batch norm parameters stay fp32 whatever the layer's format) and
// every product accumulating in fp32, as those standard configurations do.
NetworkSpec withUniformPrecision(NetworkSpec net, Precision p);

// ---- optimizer, schedule ----------------------------------------------------------

const char* optimizerName(OptimizerKind k);        // "sgd", "adam", "adamw"

enum class ScheduleType { constant, step, cosine };
const char* toString(ScheduleType t);

struct ScheduleSpec {
  ScheduleType type = ScheduleType::constant;
  std::int64_t stepSize = 1000;   // step: multiply the rate by gamma every stepSize steps
  float gamma = 0.1f;             // step
  float minLr = 0.0f;             // cosine: the rate at the last step
  std::int64_t warmupSteps = 0;   // linear warm-up from 0 to the base rate (any type)
  bool operator==(const ScheduleSpec&) const = default;
};

// The learning rate of 1-based optimizer step `step` of a run of totalSteps steps.
// Warm-up step s of W gets baseLr * s / W (as torch's LinearLR with start factor 1/W);
// step decay counts the steps taken before this one; cosine anneals over the steps
// after the warm-up and reaches minLr at the last step.
float learningRateAt(const ScheduleSpec& s, float baseLr, std::int64_t step, std::int64_t totalSteps);

// ---- fp8 ---------------------------------------------------------------------------

// Delayed scaling (as Transformer Engine): each fp8 tensor's scale comes from the
// largest |x| of its last `history` steps, times 2^-margin. With `none` every fp8
// tensor keeps scale 1: its values are held as they are, so whatever lies beyond the
// format's range saturates and whatever lies below its smallest subnormal becomes 0.
enum class Fp8Scaling { delayed, none };
struct Fp8Settings {
  Fp8Scaling scaling = Fp8Scaling::delayed;
  int history = 16;
  float margin = 0.0f;
  Precision forward = Precision::fp8_e4m3;   // activations and weights of fp8 layers
  Precision backward = Precision::fp8_e5m2;  // gradients of fp8 layers
  bool operator==(const Fp8Settings&) const = default;
};

// ---- adaptive precision ----------------------------------------------------------

// "precision_policy" (docs/architecture.md, "Adaptive precision"): every layer keeps its
// format (fixed), or a layer whose statistics show too many values underflowing or
// overflowing its format on `patience` statistics steps in a row moves one step up the
// ladder (train/precision_policy.h) for the rest of the run (adaptive).
enum class PrecisionPolicyMode { fixed, adaptive };
struct PrecisionPolicy {
  PrecisionPolicyMode mode = PrecisionPolicyMode::fixed;
  double underflowLimit = 0.05;  // share of a tensor's values allowed to underflow its format
  double overflowLimit = 0.0;    // share allowed to overflow it
  int patience = 2;              // statistics steps in a row beyond a limit before a promotion
  bool operator==(const PrecisionPolicy&) const = default;
};

// What a layer in a block-scaled format keeps between its products: bf16 (its products'
// inputs are block-quantised when read; docs/architecture.md, "Block-scaled training").
inline constexpr Precision kBlockLayerStorage = Precision::bf16;

// The formats a layer of precision p holds its activations and weights in, and its
// gradients in: p itself, except for fp8 layers, which take the fp8 settings' pair, and
// block-scaled layers, which hold bf16.
inline Precision forwardFormatOf(Precision p, const Fp8Settings& fp8) {
  return isFp8(p) ? fp8.forward : isBlockScaled(p) ? kBlockLayerStorage : p;
}
inline Precision gradFormatOf(Precision p, const Fp8Settings& fp8) {
  return isFp8(p) ? fp8.backward : isBlockScaled(p) ? kBlockLayerStorage : p;
}

// ---- the whole file ---------------------------------------------------------------

struct Experiment {
  int formatVersion = kExperimentFormatVersion;
  std::string title;
  std::string description;
  std::uint64_t seed = 0;
  nlohmann::json dataset;          // the "dataset" object; plab::loadDataset(dataset, seed) reads it
  NetworkSpec network;
  // The "optimizer" object. lr is the base rate (the schedule scales it per step);
  // clipNorm holds the top-level "grad_clip_norm" (0: no clipping).
  OptimizerHyper optimizer;
  ScheduleSpec schedule;
  LossScaleRule lossScaling{LossScaleMode::none};  // "static" in files is LossScaleMode::fixed
  bool masterWeights = true;
  std::int32_t batchSize = 64;
  std::int32_t epochs = 1;         // exactly one of epochs / steps is > 0
  std::int64_t steps = 0;
  std::int32_t statsInterval = 50; // 0: never
  bool shadowStats = false;        // the fp32 shadow pass on statistics steps (docs/architecture.md)
  std::int32_t logInterval = 1;
  std::int32_t evalInterval = 0;   // 0: per epoch only
  std::string backend = "auto";    // "auto", "cpu", "cuda"
  Fp8Settings fp8;
  PrecisionPolicy precisionPolicy;

  float gradClipNorm() const { return optimizer.clipNorm; }
  // The optimizer's hyperparameters for 1-based step `step` (rate from the schedule).
  OptimizerHyper hyperAt(std::int64_t step, std::int64_t totalSteps) const;
};
bool operator==(const Experiment& a, const Experiment& b);

// Validates and converts; throws ExperimentError.
Experiment parseExperiment(const nlohmann::json& file);
// Parses text (the worker's stdin, the GUI's editor); sourceName goes into messages
// about malformed JSON ("<stdin>:3:7: malformed JSON: ...").
Experiment parseExperimentText(const std::string& text, const std::string& sourceName);
// Reads and parses a file; messages start with its path.
Experiment loadExperimentFile(const std::string& path);
// Every field, explicitly: parseExperiment(toJson(e)) == e.
nlohmann::json toJson(const Experiment& e);
nlohmann::json toJson(const LayerSpec& layer);
nlohmann::json toJson(const NetworkSpec& network);

}  // namespace plab
