// Flatten: [N, C, H, W] -> [N, C*H*W], the same storage seen with another shape.
#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class FlattenLayer final : public Layer {
 public:
  explicit FlattenLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {}

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    output_ = x.reshaped(batched(x.shape()[0], outputShape_));
    io.record(output_, StatsKind::activation);
    return output_;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    if (!needInputGrad) return nullptr;
    inputGrad_ = dy.reshaped(batched(dy.shape()[0], inputShape_));
    io.record(inputGrad_, StatsKind::gradient);
    return &inputGrad_;
  }

 private:
  Tensor output_, inputGrad_;
};

}  // namespace

std::unique_ptr<Layer> makeFlatten(const LayerBuild& b) { return std::make_unique<FlattenLayer>(b); }

}  // namespace plab::detail
