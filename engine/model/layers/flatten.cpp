// Flatten: [N, C, H, W] -> [N, C*H*W], the same storage seen with another shape.
// A channels-last input (the CUDA backend's NHWC convolutions) is put in logical
// order first, the one reorder of that path; the gradient goes back in logical order
// and the layer before reads either layout.
#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class FlattenLayer final : public Layer {
 public:
  explicit FlattenLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {}

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    output_ = logicalOrder(x, io.backend).reshaped(batched(x.shape()[0], outputShape_));
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
  const Tensor& logicalOrder(const Tensor& x, Backend& backend) {
    if (x.layout() == MemoryLayout::nchw) return x;
    if (!logical_.defined() || !(logical_.shape() == x.shape()) || logical_.precision() != x.precision())
      logical_ = backend.empty(x.shape(), x.precision());
    if (x.scale()) logical_ = logical_.withFp8ScaleOf(x);  // the same stored values, so the same scale
    backend.toLayout(x, logical_, MemoryLayout::nchw);
    return logical_;
  }

  Tensor output_, inputGrad_, logical_;
};

}  // namespace

std::unique_ptr<Layer> makeFlatten(const LayerBuild& b) { return std::make_unique<FlattenLayer>(b); }

}  // namespace plab::detail
