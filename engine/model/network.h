#pragma once
// A network built from a NetworkSpec on a Backend: shape inference (before anything
// is allocated, for error messages and the GUI's diagram) and the Network itself
// (forward, backward, parameters for the optimizer, per-layer statistics and timing).
//
// Numerics (docs/architecture.md, "Numerics"): a layer's precision is the storage format of its output
// activations, working weights and gradients. Its input is converted into that format
// on entry when the previous layer's format differs (a converted copy is kept for
// backward); products accumulate in fp32 and round once. fp8 layers store forward
// tensors in Fp8Settings::forward and gradients in Fp8Settings::backward, each
// tensor with its own delayed scale. Batch-norm parameters stay fp32.
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "model/layers/layer.h"
#include "core/records.h"

namespace plab {

struct Dataset;

// A network that does not fit its input. what() names the layer and both shapes:
// `layers[3] linear: expects input [1568] (flattened), got [8, 14, 14]; add a flatten layer`.
struct ShapeError : std::runtime_error {
  int layerIndex;  // -1: the network as a whole (e.g. output vs. the dataset's classes)
  ShapeError(int index, const std::string& message) : std::runtime_error(message), layerIndex(index) {}
};

// A network whose shapes fit but whose training cannot fit in memory
// (model/memory_estimate.h), refused before anything is allocated. A ShapeError, so
// that everything that reports a network the experiment cannot train (the CLI's exit
// code 2, the worker's "network" context, the editor) reports it too.
struct MemoryLimitError : ShapeError {
  using ShapeError::ShapeError;
};

// An allocation that failed while building or running the network: what() names the
// layer and what was being allocated ("layers[1] linear: out of memory allocating
// its output for a batch of 256 ([256, 16777216] fp32)").
struct OutOfMemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LayerShapeInfo {
  int index = 0;
  std::string name;                  // "layers[2] linear"
  LayerType type = LayerType::linear;
  Precision precision = Precision::fp32;
  Shape inputShape;                  // one sample, no batch dimension
  Shape outputShape;                 // one sample, no batch dimension
  std::int64_t parameterCount = 0;
  std::int64_t weightBytes = 0;      // parameters at their storage format (batch norm: fp32)
  std::int64_t activationBytesPerSample = 0;  // output activations at the layer's format
};

// "layers[2] linear": the name a layer has everywhere (stats, culprits, timings).
std::string layerName(int index, LayerType type);

// Throws ShapeError at the first layer that does not fit.
std::vector<LayerShapeInfo> inferShapes(const NetworkSpec& net, const Shape& sampleShape);
// inferShapes plus the output against the task: cross_entropy needs [numClasses],
// mse needs [targetSize]; the loss must suit the dataset (classification or not).
std::vector<LayerShapeInfo> inferShapesForDataset(const NetworkSpec& net, const Dataset& data);

class Network {
 public:
  Network(const NetworkSpec& spec, const Shape& sampleShape, Backend& backend, std::uint64_t seed,
          bool masterWeights, const Fp8Settings& fp8 = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // input: [N, sample...] fp32. The result stays valid until the next forward.
  // training: dropout active, batch norm uses and updates batch statistics, and
  // (fp8) the delayed scales are updated first. step seeds dropout.
  const Tensor& forward(const Tensor& input, bool training, std::int64_t step);
  // dOutput: gradient of the (scaled) loss w.r.t. forward's result, [N, out...], in
  // any precision (converted to outputGradPrecision() if it differs). Overwrites
  // every parameter gradient (no accumulation across steps).
  void backward(const Tensor& dOutput);

  // Whether backward also computes the gradient w.r.t. forward's input (off by
  // default: training never needs it; for saliency views and gradient checks).
  void setInputGradientEnabled(bool enabled) { inputGradientEnabled_ = enabled; }
  // [N, sample...] in the first layer's gradient format; valid after backward.
  const Tensor& inputGradient() const { return inputGradient_; }

  // Forward order: "layers[0].weight", "layers[0].bias", ...
  std::span<ParamSlot> parameters() { return params_; }
  // Allocates (zeroed) fp32 optimizer state: sgd: state1 (momentum); adam/adamw:
  // state1 and state2. Call once before the first optimizerStep.
  void allocateOptimizerState(OptimizerKind kind);
  std::int64_t parameterCount() const;
  // The bytes of the parameter tensors as allocated, by kind, plus the layer outputs
  // that a step of `batchSize` samples keeps (core/records.h, MemoryUse).
  MemoryUse memoryUse(std::int32_t batchSize) const;

  // Every parameter gradient, last layer first (the order overflow attribution
  // uses: the first entry with inf/NaN is the culprit), and for each its layer name.
  std::vector<Tensor> gradientsInBackwardOrder() const;
  std::vector<std::string> gradientLayerNamesInBackwardOrder() const;

  // Statistics: while enabled, forward records each layer's output activations and
  // backward each layer's gradients (input gradient and parameter gradients, merged
  // into one record) as the rounding into the layer's format saw them. Costs an
  // fp32 temporary and a sync per tensor, so enable it only on statistics steps.
  void setStatsEnabled(bool enabled) { statsEnabled_ = enabled; }
  bool statsEnabled() const { return statsEnabled_; }
  // With statistics on, also keep each record's first values before rounding
  // (LayerStatsRecord::sample). Each costs a download of its tensor, so the trainer
  // turns this on only on the statistics steps it stores samples for.
  void setSamplesEnabled(bool enabled) { samplesEnabled_ = enabled; }
  // The records since the last call (activation and gradient per layer), stamped with step.
  std::vector<LayerStatsRecord> takeStats(std::int64_t step);

  // Value capture (the shadow pass, docs/architecture.md "Shadow statistics"): while
  // enabled, forward keeps a handle on each layer's output and backward on each layer's
  // gradients (its input gradient when computed, then its parameter gradients in
  // declaration order): the tensors a statistics record describes, with the record's
  // format. Handles, not copies: no sync, nothing allocated. They hold those values
  // until this network's next forward or backward writes the same buffers.
  struct CapturedTensors {
    std::int32_t layerIndex = 0;
    StatsKind kind = StatsKind::activation;
    Precision format = Precision::fp32;  // the layer's forward or gradient format
    std::vector<Tensor> tensors;
  };
  void setCaptureEnabled(bool enabled) { captureEnabled_ = enabled; }
  bool captureEnabled() const { return captureEnabled_; }
  // The captures since the last call, in the order they were made.
  std::vector<CapturedTensors> takeCaptured();

  // Timing: while enabled, a Backend::Timer measures each layer's forward and backward
  // (read at once, so it syncs per layer: for the speed benchmark, not for training).
  void setTimingEnabled(bool enabled) { timingEnabled_ = enabled; }
  bool timingEnabled() const { return timingEnabled_; }
  // Mean milliseconds per call since timing was last reset, per layer in forward order.
  std::vector<LayerTiming> layerTimings() const;
  void resetTimings();

  // Adaptive precision (docs/architecture.md, "Adaptive precision"): layer `index` from
  // now on trains in `to`. The layer is built again in the new format; its parameters
  // keep their values (from the fp32 master copy when there is one, else converted from
  // the working copy) and their optimizer state. Stochastic rounding and accumulation
  // in the layer's format fall back to nearest and fp32 where `to` has neither. Batch
  // norm layers, whose running statistics live in the layer, are refused. Throws
  // std::invalid_argument naming the layer when `to` cannot be used there.
  void promoteLayer(std::size_t index, Precision to);
  // The spec each layer now trains with (after any promotions).
  NetworkSpec currentSpec() const;

  std::vector<LayerShapeInfo> summary() const { return shapes_; }
  std::vector<std::string> layerNames() const;
  Precision outputPrecision() const;       // format of forward's result
  // The format to give backward's dOutput in: the last layer's gradient format, as
  // autocast hands fp16 logits an fp16 gradient; fp32 when that format is fp8, so
  // that the one rounding into fp8 uses a delayed scale this network maintains.
  Precision outputGradPrecision() const;
  Backend& backend() { return backend_; }

 private:
  void createParameters(std::uint64_t seed, bool masterWeights);
  ParamSlot createSlot(const std::string& name, const detail::ParamDecl& decl, bool masterWeights);
  void createConversionBuffers();
  void collectFp8Tensors();
  void copyValues(const Tensor& from, Tensor& to);
  void checkInput(const Tensor& input) const;
  void startTiming();
  void stopTiming(std::vector<double>& sums, std::vector<std::int64_t>& calls, std::size_t layer);
  void keepStats(std::size_t layer, StatsKind kind, const detail::LayerIo& io);
  const Tensor& forwardLayer(std::size_t i, const Tensor& input, bool training, std::int64_t step);
  const Tensor* backwardLayer(std::size_t i, const Tensor& gradient);
  // Throws OutOfMemoryError naming the layer, its format and `what`.
  [[noreturn]] void failAllocation(std::size_t layer, const std::string& what) const;
  void captureActivation(std::size_t layer, const Tensor& output);
  void captureGradients(std::size_t layer, const Tensor* inputGradient);

  Backend& backend_;
  std::uint64_t seed_ = 0;
  bool masterWeights_ = true;
  LossKind loss_ = LossKind::cross_entropy;
  Shape sampleShape_;
  std::vector<LayerShapeInfo> shapes_;
  std::vector<std::unique_ptr<detail::Layer>> layers_;
  std::vector<ParamSlot> params_;          // never reallocated: layers point into it
  std::vector<int> paramLayer_;            // layer index of each entry of params_
  std::vector<int> layerFirstParam_;       // index into params_ of each layer's first parameter
  std::vector<detail::Buffer> inputCopies_;  // a layer's input converted into its format
  Tensor logicalOutput_;  // a channels-last last output put in logical order (CUDA backend)
  std::vector<detail::Buffer> gradCopies_;   // a layer's output gradient converted into its format
  std::vector<Tensor> fp8Tensors_;         // passed to updateFp8Scales each training step
  Fp8Settings fp8_;
  Tensor scratch_;                         // fp32 temporaries for rounding with statistics
  bool statsEnabled_ = false;
  bool samplesEnabled_ = false;
  bool timingEnabled_ = false;
  bool captureEnabled_ = false;
  std::vector<CapturedTensors> captured_;
  std::vector<LayerStatsRecord> pendingStats_;
  std::vector<double> forwardMsSum_, backwardMsSum_;
  std::vector<std::int64_t> forwardCalls_, backwardCalls_;
  std::unique_ptr<Backend::Timer> timer_;
  Tensor lastOutput_;
  bool trainingForward_ = false;
  bool inputGradientEnabled_ = false;
  Tensor inputGradient_;
};

}  // namespace plab
