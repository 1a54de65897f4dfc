// The table of every experiment key (experiment_schema.h explains the fields). It is
// data: the parser, writer, GUI and docs read it; nothing here decides anything.
#include "model/experiment_schema.h"

#include "model/experiment.h"
#include "numerics/precision.h"

namespace plab {
namespace {

using nlohmann::json;
using Names = std::vector<std::string>;

constexpr double k2to40 = double(std::int64_t(1) << 40);
constexpr double k2to30 = double(1 << 30);
constexpr double k2to20 = double(1 << 20);
constexpr double kMaxFeatures = double(1 << 24);
constexpr double kMaxGeometry = 1024;
constexpr double kMaxScale = 3.0e38;

// The formats a layer can train in: the scalar ones. The block-scaled formats (mxfp4,
// nvfp4, ...) are refused by name when the experiment is read (experiment_parse.cpp).
Names precisionNames() {
  Names n;
  for (Precision p : kAllPrecisions) n.emplace_back(toString(p));
  return n;
}

Names layerTypeNames() {
  Names n;
  for (LayerType t : allLayerTypes()) n.emplace_back(toString(t));
  return n;
}

const Names kSynthetic = {"spirals", "moons", "circles", "xor", "blobs", "sine", "shapes"};
const Names kIdx = {"fashion-mnist", "mnist", "idx"};
const Names kDatasets = {"spirals", "moons", "circles", "xor", "blobs", "sine", "shapes",
                         "fashion-mnist", "mnist", "idx"};

std::vector<KeyRule> topLevel() {
  return {
      {.path = "format_version", .type = KeyType::integer, .defaultValue = kExperimentFormatVersion,
       .min = 1, .max = k2to20, .help = "version of this format"},
      {.path = "title", .type = KeyType::string, .defaultValue = "", .help = "shown beside the plots"},
      {.path = "description", .type = KeyType::string, .defaultValue = "", .help = "shown beside the plots"},
      {.path = "seed", .type = KeyType::integer, .defaultValue = 0, .min = 0,
       .max = double(std::numeric_limits<std::uint64_t>::max()),
       .help = "seeds data generation, initialisation, shuffling, dropout"},
      {.path = "dataset", .type = KeyType::object, .help = "the data set (see Dataset)",
       .required = true, .ifMissing = "e.g. {\"name\": \"spirals\"}"},
      {.path = "network", .type = KeyType::object, .help = "the layers and the loss (see Network)",
       .required = true, .ifMissing = "an object with \"layers\" and \"loss\""},
      {.path = "optimizer", .type = KeyType::object, .defaultValue = json::object(),
       .help = "see Optimizer"},
      {.path = "schedule", .type = KeyType::object, .defaultValue = json::object(),
       .help = "the learning-rate schedule (see Schedule)"},
      {.path = "grad_clip_norm", .type = KeyType::number, .defaultValue = 0, .min = 0, .max = 1e30,
       .help = "> 0: clip the unscaled gradients to this global norm (0: off)"},
      {.path = "loss_scaling", .type = KeyType::object, .defaultValue = json::object(),
       .help = "see Loss scaling"},
      {.path = "master_weights", .type = KeyType::boolean, .defaultValue = true,
       .help = "the optimizer updates an fp32 master copy of the weights"},
      {.path = "batch_size", .type = KeyType::integer, .defaultValue = 64, .min = 1, .max = k2to20,
       .units = "examples", .help = "examples per optimizer step"},
      {.path = "epochs", .type = KeyType::integer, .defaultValue = 1, .min = 1, .max = k2to20,
       .help = "train for whole epochs (give epochs or steps, not both)", .oneOf = "length"},
      {.path = "steps", .type = KeyType::integer, .min = 1, .max = k2to40, .units = "steps",
       .help = "train for a number of optimizer steps instead of epochs", .oneOf = "length",
       .suggested = 1000},
      {.path = "stats_interval", .type = KeyType::integer, .defaultValue = 50, .min = 0, .max = k2to30,
       .units = "steps",
       .help = "per-layer statistics of activations and gradients every K steps (0: never)"},
      {.path = "shadow_stats", .type = KeyType::boolean, .defaultValue = false,
       .help = "on statistics steps, also run the step in fp32 (same weights, batch and loss scale) and "
               "record what each layer's format would do to those values: would underflow, overflow, "
               "lose precision (costs one fp32 forward and backward per statistics step)"},
      {.path = "log_interval", .type = KeyType::integer, .defaultValue = 1, .min = 1, .max = k2to30,
       .units = "steps", .help = "step metrics are recorded every K steps"},
      {.path = "eval_interval", .type = KeyType::integer, .defaultValue = 0, .min = 0, .max = k2to30,
       .units = "steps", .help = "also evaluate on the test set every K steps (0: per epoch only)"},
      {.path = "backend", .type = KeyType::choice, .defaultValue = "auto", .choices = {"auto", "cpu", "cuda"},
       .help = "where to train; auto takes CUDA when a GPU is there"},
      {.path = "fp8", .type = KeyType::object, .defaultValue = json::object(),
       .help = "delayed-scaling settings of fp8 layers (see fp8)"},
      {.path = "precision_policy", .type = KeyType::object, .defaultValue = json::object(),
       .help = "fixed formats, or adaptive: layers that keep underflowing or overflowing are promoted "
               "(see Precision policy)"},
  };
}

// engine/data reads these (engine/data/dataset.cpp); tests/model/tst_schema.cpp checks
// that its defaults and limits are these.
std::vector<KeyRule> dataset() {
  return {
      {.path = "dataset.name", .type = KeyType::choice, .choices = kDatasets,
       .help = "a synthetic set generated from the seed, or MNIST-format IDX files", .required = true,
       .ifMissing = "the dataset's name, e.g. \"spirals\" or \"fashion-mnist\""},
      {.path = "dataset.train_size", .type = KeyType::integer, .defaultValue = 2000, .min = 1, .max = 1e7,
       .units = "examples", .help = "training examples generated", .when = kSynthetic},
      {.path = "dataset.test_size", .type = KeyType::integer, .defaultValue = 500, .min = 1, .max = 1e7,
       .units = "examples", .help = "test examples generated", .when = kSynthetic},
      {.path = "dataset.noise", .type = KeyType::number, .defaultValue = 0.1, .min = 0, .max = 1e6,
       .help = "standard deviation of the noise added to each point", .when = kSynthetic},
      {.path = "dataset.classes", .type = KeyType::integer, .defaultValue = 2, .min = 2, .max = 10,
       .help = "number of classes", .when = {"spirals"}},
      {.path = "dataset.classes", .type = KeyType::integer, .defaultValue = 3, .min = 2, .max = 10,
       .help = "number of classes", .when = {"blobs"}},
      {.path = "dataset.classes", .type = KeyType::integer, .defaultValue = 4, .min = 2, .max = 6,
       .help = "number of classes", .when = {"shapes"}},
      {.path = "dataset.image_size", .type = KeyType::integer, .defaultValue = 16, .min = 8, .max = 64,
       .units = "pixels", .help = "images are 1 x size x size", .when = {"shapes"}},
      {.path = "dataset.path", .type = KeyType::string,
       .help = "folder with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...",
       .when = {"fashion-mnist", "mnist"},
       .defaultWhen = {{"fashion-mnist", "/usr/share/datasets/fashion-mnist"},
                       {"mnist", "/usr/share/datasets/mnist"}}},
      {.path = "dataset.path", .type = KeyType::string,
       .help = "folder with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...",
       .when = {"idx"}, .required = true,
       .ifMissing = "required for dataset \"idx\" (a folder with train-images-idx3-ubyte[.gz] etc.)"},
      {.path = "dataset.limit_train", .type = KeyType::integer, .defaultValue = 0, .min = 0, .max = k2to40,
       .units = "examples", .help = "use only the first N training examples (0: all)", .when = kIdx},
      {.path = "dataset.limit_test", .type = KeyType::integer, .defaultValue = 0, .min = 0, .max = k2to40,
       .units = "examples", .help = "use only the first N test examples (0: all)", .when = kIdx},
      {.path = "dataset.normalize", .type = KeyType::boolean, .defaultValue = false,
       .help = "standardise pixels with the mean and deviation of all training pixels", .when = kIdx},
      {.path = "dataset.input_scale", .type = KeyType::number, .defaultValue = 1, .min = 1e-12, .max = 1e12,
       .help = "every input value times this factor (after normalize): data in raw units, far from 1"},
  };
}

std::vector<KeyRule> network() {
  return {
      {.path = "network.layers", .type = KeyType::array, .help = "the layers, input first",
       .required = true, .ifMissing = "the network needs at least one layer"},
      {.path = "network.loss", .type = KeyType::choice, .defaultValue = "cross_entropy",
       .choices = {"cross_entropy", "mse"},
       .help = "cross_entropy for class labels, mse for regression targets"},
  };
}

// ---- layers, grouped by type ------------------------------------------------------

KeyRule bias() {
  return {.path = "network.layers[].bias", .type = KeyType::boolean, .defaultValue = true,
          .help = "add a learned bias"};
}
KeyRule initGain() {
  return {.path = "network.layers[].init_gain", .type = KeyType::number, .defaultValue = 1.0,
          .min = 1e-6, .max = 1e6, .help = "multiplies PyTorch's default initialisation bound"};
}
KeyRule accumulate() {
  return {.path = "network.layers[].accumulate", .type = KeyType::choice, .defaultValue = "fp32",
          .choices = {"fp32", "layer"},
          .help = "where the layer's products sum: fp32, or its own format (fp16, bf16 layers), rounding after "
                  "every addition"};
}
KeyRule rounding() {
  return {.path = "network.layers[].rounding", .type = KeyType::choice, .defaultValue = "nearest",
          .choices = {"nearest", "stochastic"},
          .help = "how the layer's gradients and, without master weights, its updated weights are rounded into its "
                  "format: to nearest, or stochastically from the run seed (fp16, bf16, tf32 and block-scaled "
                  "layers)"};
}
std::vector<KeyRule> blockKeys() {
  return {{.path = "network.layers[].block_scaling", .type = KeyType::choice, .defaultValue = "1d",
           .choices = {"1d", "2d", "tensor"},
           .help = "block-scaled layers: blocks along each product's reduction dimension (1d), the weight in "
                   "16x16 tiles (2d), or one scale per operand (tensor)"},
          {.path = "network.layers[].block_backward", .type = KeyType::boolean, .defaultValue = true,
           .help = "block-scaled layers: quantise the backward products' inputs too (false: they read bf16)"}};
}
KeyRule geometry(const char* key, json def, double min, const char* help) {
  return {.path = std::string("network.layers[].") + key, .type = KeyType::integer,
          .defaultValue = std::move(def), .min = min, .max = kMaxGeometry, .units = "pixels",
          .help = help};
}
std::vector<KeyRule> poolKeys() {
  KeyRule stride = geometry("stride", nullptr, 1, "step of the window (default: the kernel)");
  stride.defaultFrom = "kernel";
  return {geometry("kernel", 2, 1, "side of the square window"), stride,
          geometry("padding", 0, 0, "zeros added on each side (at most kernel / 2)")};
}
std::vector<KeyRule> batchNormKeys() {
  return {{.path = "network.layers[].momentum", .type = KeyType::number, .defaultValue = 0.1, .min = 0,
           .max = 1, .help = "running-statistics momentum, as PyTorch"},
          {.path = "network.layers[].eps", .type = KeyType::number, .defaultValue = 1e-5, .min = 1e-12,
           .max = 1, .help = "added to the variance"}};
}

// An activation's keys: its parameter (core/activations.h), if it has one.
std::vector<KeyRule> activationKeys(const act::Param& p) {
  if (p.key.empty()) return {};
  return {{.path = "network.layers[]." + std::string(p.key), .type = KeyType::number, .defaultValue = p.defaultValue,
           .min = p.min, .max = p.max, .help = std::string(p.help)}};
}

struct LayerTypeKeys {
  LayerType type;
  std::vector<KeyRule> keys;  // besides "type" and "precision", which every layer has
};

std::vector<LayerTypeKeys> layerTypeKeys() {
  return {
      {LayerType::linear,
       {{.path = "network.layers[].out", .type = KeyType::integer, .min = 1, .max = kMaxFeatures,
         .units = "features", .help = "number of outputs", .required = true,
         .ifMissing = "a linear layer needs its number of outputs", .suggested = 64},
        bias(), initGain(), accumulate(), rounding(), blockKeys()[0], blockKeys()[1]}},
      {LayerType::conv2d,
       {{.path = "network.layers[].out_channels", .type = KeyType::integer, .min = 1, .max = kMaxFeatures,
         .units = "channels", .help = "number of output channels", .required = true,
         .ifMissing = "a conv2d layer needs its number of output channels", .suggested = 16},
        geometry("kernel", 3, 1, "side of the square kernel"), geometry("stride", 1, 1, "step of the kernel"),
        geometry("padding", 0, 0, "zeros added on each side"), bias(), initGain(), accumulate(),
        rounding()}},
      {LayerType::maxpool2d, poolKeys()},
      {LayerType::avgpool2d, poolKeys()},
      {LayerType::flatten, {}},
#define PLAB_ACTIVATION_KEYS(name, S) {LayerType::name, activationKeys(act::S::kParam)},
      PLAB_ACTIVATIONS(PLAB_ACTIVATION_KEYS)
#undef PLAB_ACTIVATION_KEYS
      {LayerType::dropout,
       {{.path = "network.layers[].p", .type = KeyType::number, .defaultValue = 0.5, .min = 0, .max = 0.99,
         .help = "probability of zeroing each value while training"}}},
      {LayerType::batchnorm1d, batchNormKeys()},
      {LayerType::batchnorm2d, batchNormKeys()},
  };
}

std::vector<KeyRule> layers() {
  std::vector<KeyRule> out = {
      {.path = "network.layers[].type", .type = KeyType::choice, .choices = layerTypeNames(),
       .help = "what the layer computes", .required = true,
       .ifMissing = "every layer needs one of " + allowedLayerTypeNames()},
      {.path = "network.layers[].precision", .type = KeyType::choice, .defaultValue = "fp32",
       .choices = precisionNames(),
       .help = "format of the layer's outputs, working weights and gradients; a block-scaled format (mxfp8_e4m3 "
               "... nvfp4; not in conv2d layers) holds bf16 and block-quantises the inputs of its products"},
  };
  for (auto& group : layerTypeKeys()) {
    for (auto& rule : group.keys) {
      rule.when = {std::string(toString(group.type))};
      out.push_back(std::move(rule));
    }
  }
  return out;
}

// ---- optimizer, schedule, loss scaling, fp8 ------------------------------------------

std::vector<KeyRule> optimizer() {
  const Names adams = {"adam", "adamw"};
  return {
      {.path = "optimizer.type", .type = KeyType::choice, .defaultValue = "adam",
       .choices = {"sgd", "adam", "adamw"}, .help = "the update rule, as torch.optim"},
      {.path = "optimizer.lr", .type = KeyType::number, .defaultValue = 1e-3, .min = 0, .max = 1e3,
       .help = "base learning rate (the schedule scales it per step)"},
      {.path = "optimizer.momentum", .type = KeyType::number, .defaultValue = 0, .min = 0, .max = 1,
       .help = "heavy-ball momentum", .when = {"sgd"}},
      {.path = "optimizer.nesterov", .type = KeyType::boolean, .defaultValue = false,
       .help = "Nesterov momentum (needs momentum > 0)", .when = {"sgd"}},
      {.path = "optimizer.beta1", .type = KeyType::number, .defaultValue = 0.9, .min = 0, .max = 0.999999,
       .help = "decay of the first-moment average", .when = adams},
      {.path = "optimizer.beta2", .type = KeyType::number, .defaultValue = 0.999, .min = 0,
       .max = 0.999999999, .help = "decay of the second-moment average", .when = adams},
      {.path = "optimizer.eps", .type = KeyType::number, .defaultValue = 1e-8, .min = 1e-30, .max = 1,
       .help = "added to the root of the second moment", .when = adams},
      {.path = "optimizer.weight_decay", .type = KeyType::number, .defaultValue = 0, .min = 0, .max = 1e3,
       .help = "sgd, adam: L2 added to the gradient; adamw: decoupled decay (0.01 as torch)",
       .defaultWhen = {{"adamw", 0.01}}},
  };
}

std::vector<KeyRule> schedule() {
  return {
      {.path = "schedule.type", .type = KeyType::choice, .defaultValue = "constant",
       .choices = {"constant", "step", "cosine"}, .help = "how the rate changes over the run"},
      {.path = "schedule.warmup_steps", .type = KeyType::integer, .defaultValue = 0, .min = 0, .max = k2to40,
       .units = "steps", .help = "linear warm-up from 0 to lr (step s of W runs at lr * s / W)"},
      {.path = "schedule.step_size", .type = KeyType::integer, .defaultValue = 1000, .min = 1, .max = k2to40,
       .units = "steps", .help = "multiply the rate by gamma after every step_size steps", .when = {"step"}},
      {.path = "schedule.gamma", .type = KeyType::number, .defaultValue = 0.1, .min = 0, .max = 1e3,
       .help = "factor of each step decay", .when = {"step"}},
      {.path = "schedule.min_lr", .type = KeyType::number, .defaultValue = 0, .min = 0, .max = 1e3,
       .help = "the rate cosine annealing reaches at the last step", .when = {"cosine"}},
  };
}

std::vector<KeyRule> lossScaling() {
  const Names dyn = {"dynamic"};
  return {
      {.path = "loss_scaling.mode", .type = KeyType::choice, .defaultValue = "none",
       .choices = {"none", "static", "dynamic"}, .help = "none, a fixed scale, or one that adapts"},
      {.path = "loss_scaling.scale", .type = KeyType::number, .defaultValue = 1024, .min = 1e-30,
       .max = kMaxScale, .help = "the fixed scale", .when = {"static"}},
      {.path = "loss_scaling.init_scale", .type = KeyType::number, .defaultValue = 65536, .min = 1e-30,
       .max = kMaxScale, .help = "the first scale", .when = dyn},
      {.path = "loss_scaling.growth_factor", .type = KeyType::number, .defaultValue = 2, .min = 1, .max = 1e6,
       .help = "multiplies the scale after growth_interval clean steps", .when = dyn},
      {.path = "loss_scaling.backoff_factor", .type = KeyType::number, .defaultValue = 0.5, .min = 1e-6,
       .max = 1, .help = "multiplies the scale on an overflow", .when = dyn},
      {.path = "loss_scaling.growth_interval", .type = KeyType::integer, .defaultValue = 2000, .min = 1,
       .max = k2to30, .units = "steps", .help = "clean steps before the scale grows", .when = dyn},
      {.path = "loss_scaling.hysteresis", .type = KeyType::integer, .defaultValue = 1, .min = 1, .max = k2to20,
       .units = "overflows", .help = "overflows tolerated before the scale backs off", .when = dyn},
      {.path = "loss_scaling.min_scale", .type = KeyType::number, .defaultValue = 0, .min = 0,
       .max = kMaxScale, .help = "lower limit of the scale (0: none)", .when = dyn},
      {.path = "loss_scaling.max_scale", .type = KeyType::number, .defaultValue = 0, .min = 0,
       .max = kMaxScale, .help = "upper limit of the scale (0: none)", .when = dyn},
  };
}

std::vector<KeyRule> fp8() {
  const Names fp8Names = {"fp8_e4m3", "fp8_e5m2"};
  const Names delayed = {"delayed"};
  return {
      {.path = "fp8.scaling", .type = KeyType::choice, .defaultValue = "delayed", .choices = {"delayed", "none"},
       .help = "per-tensor scales from each tensor's recent largest magnitude (delayed), or none: every fp8 tensor "
               "holds its values unscaled"},
      {.path = "fp8.history", .type = KeyType::integer, .defaultValue = 16, .min = 1, .max = 4096,
       .units = "steps", .help = "steps of largest magnitudes each tensor's scale is taken from", .when = delayed},
      {.path = "fp8.margin", .type = KeyType::number, .defaultValue = 0, .min = 0, .max = 64,
       .units = "powers of two", .help = "the scale is divided by 2^margin for headroom", .when = delayed},
      {.path = "fp8.forward", .type = KeyType::choice, .defaultValue = "fp8_e4m3", .choices = fp8Names,
       .help = "format of the activations and weights of fp8 layers"},
      {.path = "fp8.backward", .type = KeyType::choice, .defaultValue = "fp8_e5m2", .choices = fp8Names,
       .help = "format of the gradients of fp8 layers"},
  };
}

// Adaptive precision (docs/architecture.md): the thresholds a layer's statistics are
// held to, and how many statistics steps in a row may break them.
std::vector<KeyRule> precisionPolicy() {
  const Names adaptive = {"adaptive"};
  return {
      {.path = "precision_policy.mode", .type = KeyType::choice, .defaultValue = "fixed",
       .choices = {"fixed", "adaptive"},
       .help = "fixed: every layer keeps its format; adaptive: a layer that keeps underflowing or overflowing "
               "moves up one step (fp4 -> fp8 -> bf16 -> fp32) during training"},
      {.path = "precision_policy.underflow_limit", .type = KeyType::number, .defaultValue = 0.05, .min = 0,
       .max = 1, .units = "share",
       .help = "a layer breaks it when more than this share of an activation or gradient tensor underflows its "
               "format (the shadow's \"would underflow\" share with shadow_stats, else the share that became zero)",
       .when = adaptive},
      {.path = "precision_policy.overflow_limit", .type = KeyType::number, .defaultValue = 0, .min = 0,
       .max = 1, .units = "share",
       .help = "a layer breaks it when more than this share of its activations overflows its format (gradient "
               "overflows are the loss scaler's)",
       .when = adaptive},
      {.path = "precision_policy.patience", .type = KeyType::integer, .defaultValue = 2, .min = 1, .max = 1000,
       .units = "statistics steps", .help = "statistics steps in a row beyond a limit before the layer is promoted",
       .when = adaptive},
  };
}

}  // namespace

const std::vector<KeyRule>& experimentSchema() {
  static const std::vector<KeyRule> all = [] {
    std::vector<KeyRule> out;
    for (auto part : {topLevel(), dataset(), network(), layers(), optimizer(), schedule(), lossScaling(), fp8(), precisionPolicy()}) {
      for (auto& rule : part) out.push_back(std::move(rule));
    }
    return out;
  }();
  return all;
}

}  // namespace plab
