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
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {
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

  // db = sum of dy over all but the channel dimension, rounded into the bias's format.
  void biasGradient(const Tensor& dy, LayerIo& io) {
    Tensor& db = bias_->grad;
    Tensor& dbTarget = io.begin(db);
    io.backend.biasGrad(dy, dbTarget);
    io.finish(dbTarget, db, StatsKind::gradient);
  }

  ParamSlot* weight_ = nullptr;
  ParamSlot* bias_ = nullptr;
  Buffer output_, inputGrad_;
  Tensor input_;  // forward's input (already in the layer's format), for the weight gradient
};

}  // namespace plab::detail
