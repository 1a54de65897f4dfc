// Conv2d, NCHW, weight [K, C, R, S] as PyTorch. Like Linear, the bias is added to the
// fp32 result before the one rounding into the layer's format; with accumulate =
// "layer" the three convolution products sum in the layer's format (backend.h), and
// the bias is added to that already rounded sum. rounding = "stochastic" rounds the
// gradients stochastically (weighted_layer.h).
#include "model/layers/weighted_layer.h"

namespace plab::detail {
namespace {

class Conv2dLayer final : public WeightedLayer {
 public:
  explicit Conv2dLayer(const LayerBuild& b) : WeightedLayer(b) {}

  std::vector<ParamDecl> declareParameters(std::uint64_t seed) override {
    const std::int64_t c = inputShape_[0], k = spec_.out, r = spec_.kernel;
    return declareWeightAndBias(Shape{k, c, r, r}, c * r * r, k, seed);
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    geometry_ = geometryFor(x.shape()[0]);
    Tensor& y = output_.ensure(batched(x.shape()[0], outputShape_));
    Tensor& target = io.begin(y, bias_ != nullptr);
    {
      AccumulationScope accumulation(io.backend, accumulationFor(forwardFormat_));
      io.backend.conv2dForward(geometry_, x, weight_->working, target);
    }
    if (bias_) io.backend.addBias(target, bias_->working);
    io.finish(target, y, StatsKind::activation);
    if (io.statsEnabled) io.productRelError = conv2dErrorAgainstFp64(io.backend, geometry_, x, weight_->working, bias_, y);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    Tensor& dw = weight_->grad;
    Tensor& dwTarget = gradientTarget(dw, io);
    AccumulationScope accumulation(io.backend, accumulationFor(gradFormat_));
    io.backend.conv2dBackwardFilter(geometry_, input_, dy, dwTarget);
    gradientFinish(dwTarget, dw, io, kWeightGrad);
    if (bias_) biasGradient(dy, io);
    if (!needInputGrad) return nullptr;
    Tensor& dx = inputGrad_.ensure(batched(dy.shape()[0], inputShape_));
    Tensor& dxTarget = gradientTarget(dx, io);
    io.backend.conv2dBackwardData(geometry_, dy, weight_->working, dxTarget);
    gradientFinish(dxTarget, dx, io, kInputGrad);
    return &dx;
  }

 private:
  Conv2dGeometry geometryFor(std::int64_t n) const {
    Conv2dGeometry g;
    g.n = int(n);
    g.c = int(inputShape_[0]);
    g.h = int(inputShape_[1]);
    g.w = int(inputShape_[2]);
    g.k = int(spec_.out);
    g.r = g.s = spec_.kernel;
    g.strideH = g.strideW = spec_.stride;
    g.padH = g.padW = spec_.padding;
    return g;
  }

  Conv2dGeometry geometry_;
};

}  // namespace

std::unique_ptr<Layer> makeConv2d(const LayerBuild& b) { return std::make_unique<Conv2dLayer>(b); }

}  // namespace plab::detail
