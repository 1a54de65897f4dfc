#pragma once
// What Linear and Conv2d share: a weight and an optional bias initialised as
// PyTorch does, an output buffer, an input-gradient buffer, and the forward input
// kept for the weight gradient.
#include <cmath>

#include "model/layers/factory.h"
#include "model/layers/product_error.h"

namespace plab::detail {

class WeightedLayer : public Layer {
 public:
  explicit WeightedLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat), seed_(b.seed) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
  }

  void bindParameters(ParamSlot* first) override {
    weight_ = first;
    bias_ = spec_.bias ? first + 1 : nullptr;
  }

  void collectFp8Tensors(std::vector<Tensor>& out) const override {
    out.push_back(weight_->working);
    out.push_back(weight_->grad);
    if (bias_) {
      out.push_back(bias_->working);
      out.push_back(bias_->grad);
    }
    out.push_back(output_.scaleOwner());
    out.push_back(inputGrad_.scaleOwner());
  }

 protected:
  // Weight of weightShape and, when the spec asks, a bias of biasSize, both drawn
  // from U(-b, b) with b = init_gain / sqrt(fanIn), weight first (PyTorch's order).
  std::vector<ParamDecl> declareWeightAndBias(Shape weightShape, std::int64_t fanIn, std::int64_t biasSize,
                                              std::uint64_t seed) const {
    SplitMix64 rng(seed);
    const float bound = spec_.initGain / std::sqrt(float(fanIn));
    const std::int64_t weightCount = weightShape.numel();
    std::vector<ParamDecl> decls;
    decls.push_back({"weight", std::move(weightShape), forwardFormat_, gradFormat_, uniformInit(weightCount, bound, rng)});
    if (spec_.bias)
      decls.push_back({"bias", Shape{biasSize}, forwardFormat_, gradFormat_, uniformInit(biasSize, bound, rng)});
    return decls;
  }

  // The format this layer's products accumulate in when they produce values of
  // `format` (forward: the layer's format; backward: its gradient format), for an
  // AccumulationScope around each product (docs/architecture.md, "Accumulation").
  Precision accumulationFor(Precision format) const {
    return spec_.accumulate == Accumulation::layer ? format : Precision::fp32;
  }

  // A gradient's rounding (spec rounding: nearest or stochastic; docs/architecture.md,
  // "Stochastic rounding"): gradientTarget is the tensor the op writes, gradientFinish
  // rounds it into `out`. `tag` tells the layer's gradients apart in the random stream.
  enum GradientTag : std::uint64_t { kWeightGrad = 1, kBiasGrad = 2, kInputGrad = 3 };
  bool stochastic() const { return spec_.rounding == Rounding::stochastic; }
  Tensor& gradientTarget(Tensor& out, LayerIo& io) { return io.begin(out, stochastic()); }
  void gradientFinish(const Tensor& written, Tensor& out, LayerIo& io, GradientTag tag) {
    if (stochastic()) {
      io.finishStochastic(written, out, StatsKind::gradient, SplitMix64(seed_ ^ (tag * 0xD1B54A32D192ED03ull)).next());
    } else {
      io.finish(written, out, StatsKind::gradient);
    }
  }

  // db = sum of dy over all but the channel dimension, rounded into the bias's format.
  void biasGradient(const Tensor& dy, LayerIo& io) {
    Tensor& db = bias_->grad;
    Tensor& dbTarget = gradientTarget(db, io);
    io.backend.biasGrad(dy, dbTarget);
    gradientFinish(dbTarget, db, io, kBiasGrad);
  }

  std::uint64_t seed_;  // the layer's own seed (LayerBuild::seed)
  ParamSlot* weight_ = nullptr;
  ParamSlot* bias_ = nullptr;
  Buffer output_, inputGrad_;
  Tensor input_;  // forward's input (already in the layer's format), for the weight gradient
};

}  // namespace plab::detail
