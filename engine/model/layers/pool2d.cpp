// Max and average pooling. Max pooling keeps the winning index of each output (fp32)
// for backward; average pooling divides by the whole window (PyTorch's default).
#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class Pool2dLayer final : public Layer {
 public:
  explicit Pool2dLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
    if (isMax()) indices_.init(b.backend, Precision::fp32);
  }

  void collectFp8Tensors(std::vector<Tensor>& out) const override {
    out.push_back(output_.scaleOwner());
    out.push_back(inputGrad_.scaleOwner());
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    geometry_ = geometryFor(x.shape()[0]);
    const Shape outShape = batched(x.shape()[0], outputShape_);
    Tensor& y = output_.ensure(outShape);
    Tensor noIndices;
    Tensor& indices = isMax() ? indices_.ensure(outShape) : noIndices;
    Tensor& target = io.begin(y);
    io.backend.pool2dForward(geometry_, x, target, indices);
    io.finish(target, y, StatsKind::activation);
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    if (!needInputGrad) return nullptr;
    Tensor& dx = inputGrad_.ensure(batched(dy.shape()[0], inputShape_));
    Tensor noIndices;
    const Tensor& indices = isMax() ? indices_.ensure(dy.shape()) : noIndices;
    Tensor& target = io.begin(dx);
    io.backend.pool2dBackward(geometry_, dy, indices, target);
    io.finish(target, dx, StatsKind::gradient);
    return &dx;
  }

 private:
  bool isMax() const { return spec_.type == LayerType::maxpool2d; }

  Pool2dGeometry geometryFor(std::int64_t n) const {
    Pool2dGeometry g;
    g.kind = isMax() ? PoolKind::max : PoolKind::average;
    g.n = int(n);
    g.c = int(inputShape_[0]);
    g.h = int(inputShape_[1]);
    g.w = int(inputShape_[2]);
    g.kernelH = g.kernelW = spec_.kernel;
    g.strideH = g.strideW = spec_.stride;
    g.padH = g.padW = spec_.padding;
    return g;
  }

  Buffer output_, inputGrad_, indices_;
  Pool2dGeometry geometry_;
};

}  // namespace

std::unique_ptr<Layer> makePool2d(const LayerBuild& b) { return std::make_unique<Pool2dLayer>(b); }

}  // namespace plab::detail
