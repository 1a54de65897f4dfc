// Linear: y = x W^T + b, W [out, in] as PyTorch, through Backend::linear: the product
// accumulates in fp32 and, with a bias, the bias is added to the fp32 result before
// the one rounding into the layer's format (backend.h; the CUDA backend fuses it into
// a cuBLASLt bias epilogue). With accumulate = "layer" all three products (y, dW, dx)
// sum in the layer's format instead (AccumulationScope, backend.h).
#include "model/layers/weighted_layer.h"

namespace plab::detail {
namespace {

class LinearLayer final : public WeightedLayer {
 public:
  explicit LinearLayer(const LayerBuild& b) : WeightedLayer(b) {}

  std::vector<ParamDecl> declareParameters(std::uint64_t seed) override {
    const std::int64_t in = inputShape_[0], out = spec_.out;
    return declareWeightAndBias(Shape{out, in}, in, out, seed);
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    Tensor& y = output_.ensure(batched(x.shape()[0], outputShape_));
    Tensor& target = io.begin(y);
    {
      AccumulationScope accumulation(io.backend, accumulationFor(forwardFormat_));
      io.backend.linear(x, weight_->working, bias_ ? &bias_->working : nullptr, target);
    }
    io.finish(target, y, StatsKind::activation);
    if (io.statsEnabled) io.productRelError = linearErrorAgainstFp64(io.backend, x, weight_->working, bias_, y);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    Tensor& dw = weight_->grad;
    Tensor& dwTarget = io.begin(dw);
    AccumulationScope accumulation(io.backend, accumulationFor(gradFormat_));
    io.backend.gemm(true, false, 1.0f, dy, input_, 0.0f, dwTarget);  // dW = dy^T x
    io.finish(dwTarget, dw, StatsKind::gradient);
    if (bias_) biasGradient(dy, io);
    if (!needInputGrad) return nullptr;
    Tensor& dx = inputGrad_.ensure(batched(dy.shape()[0], inputShape_));
    Tensor& dxTarget = io.begin(dx);
    io.backend.gemm(false, false, 1.0f, dy, weight_->working, 0.0f, dxTarget);  // dx = dy W
    io.finish(dxTarget, dx, StatsKind::gradient);
    return &dx;
  }
};

}  // namespace

std::unique_ptr<Layer> makeLinear(const LayerBuild& b) { return std::make_unique<LinearLayer>(b); }

}  // namespace plab::detail
