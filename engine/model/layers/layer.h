#pragma once
// The internal layer interface of Network (not part of the model's public API).
// A layer reads its input already in its forward format (Network converts on entry)
// and its output gradient already in its gradient format; it writes its results
// through LayerIo, which rounds once into the layer's format and, on statistics
// steps, goes through an fp32 temporary so that Backend::convert can record what
// the rounding did.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "core/records.h"  // StatsKind

namespace plab::detail {

// One logical tensor of a layer (its output, its input gradient, ...), re-allocated
// when the batch size changes. fp8 buffers of every size share one scale and amax
// (the "scale owner"), so delayed scaling sees one tensor.
class Buffer {
 public:
  void init(Backend& backend, Precision precision);
  Tensor& ensure(const Shape& shape);
  Precision precision() const { return precision_; }
  const Tensor& scaleOwner() const { return owner_; }

 private:
  Backend* backend_ = nullptr;
  Precision precision_ = Precision::fp32;
  Tensor tensor_;
  Tensor owner_;  // fp8 only: a one-element tensor holding the scale and amax
};

// Sum of two tallies of the same kind (a layer's gradient record merges its input
// gradient with its parameter gradients).
void mergeStats(TensorStats& into, const TensorStats& more);

// What a layer needs while it runs.
struct LayerIo {
  Backend& backend;
  bool statsEnabled = false;
  bool keepSamples = false;         // with statsEnabled: fill activationSample/gradientSample
  bool training = false;
  std::int64_t step = 0;
  Tensor* scratch = nullptr;        // Network's fp32 scratch storage (grown on demand)
  Tensor scratchView;               // the scratch seen with the current op's shape
  TensorStats activationStats;      // filled on statistics steps
  TensorStats gradientStats;
  bool haveActivationStats = false;
  bool haveGradientStats = false;
  // Linear and conv2d on statistics steps: the forward output's error against its fp64
  // product (layers/product_error.h), for the activation record.
  std::optional<double> productRelError;
  // The first values of the first tensor of each kind recorded (LayerStatsRecord::sample).
  std::vector<float> activationSample, gradientSample;

  // The tensor an op should write into: `out` itself, or an fp32 temporary when
  // statistics are on or when the op rounds in more than one call (needsFp32) and
  // `out` is not fp32. Pass the result to finish().
  Tensor& begin(Tensor& out, bool needsFp32 = false);
  // Rounds `written` into `out` if they differ, recording stats on statistics steps.
  void finish(const Tensor& written, Tensor& out, StatsKind kind);
  // The same with stochastic rounding (Backend::convertStochastic) from the stream of
  // (seed, step); `written` must be an fp32 temporary (begin(out, true)). The statistics
  // are those of rounding the same values to nearest.
  void finishStochastic(const Tensor& written, Tensor& out, StatsKind kind, std::uint64_t seed);
  // Records the statistics of a tensor that needed no rounding (a reshape).
  void record(const Tensor& t, StatsKind kind);

 private:
  void keepSample(const Tensor& t, StatsKind kind);
};

struct ParamDecl {
  std::string suffix;         // "weight", "bias", "gamma", "beta"
  Shape shape;
  Precision working;          // working copy (and master when on: fp32)
  Precision grad;
  std::vector<float> init;    // host fp32 initial values
};

class Layer {
 public:
  Layer(const LayerSpec& spec, Shape inputShape, Shape outputShape, Precision forwardFormat,
        Precision gradFormat)
      : spec_(spec), inputShape_(std::move(inputShape)), outputShape_(std::move(outputShape)),
        forwardFormat_(forwardFormat), gradFormat_(gradFormat) {}
  virtual ~Layer() = default;

  // Parameters to create (Network owns the slots) and where they ended up.
  virtual std::vector<ParamDecl> declareParameters(std::uint64_t seed) { (void)seed; return {}; }
  virtual void bindParameters(ParamSlot* first) { (void)first; }
  // Tensors that may need delayed scaling (weights, gradients, buffers' scale
  // owners); Network keeps those that are defined and fp8.
  virtual void collectFp8Tensors(std::vector<Tensor>& out) const { (void)out; }

  // x: [N, input...] in forwardFormat(). Returns [N, output...] in forwardFormat().
  virtual const Tensor& forward(const Tensor& x, LayerIo& io) = 0;
  // dy: [N, output...] in gradFormat(). Writes parameter gradients; returns the input
  // gradient in gradFormat(), or nullptr when !needInputGrad.
  virtual const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) = 0;

  const LayerSpec& spec() const { return spec_; }
  Precision forwardFormat() const { return forwardFormat_; }
  Precision gradFormat() const { return gradFormat_; }
  const Shape& inputShape() const { return inputShape_; }
  const Shape& outputShape() const { return outputShape_; }

 protected:
  // [N, dims...] for batch n.
  static Shape batched(std::int64_t n, const Shape& sample);
  // Allocates output/grad buffers in the layer's formats.
  void initBuffer(Buffer& b, Backend& backend, bool gradient) {
    b.init(backend, gradient ? gradFormat_ : forwardFormat_);
  }

  LayerSpec spec_;
  Shape inputShape_, outputShape_;
  Precision forwardFormat_, gradFormat_;
};

}  // namespace plab::detail
