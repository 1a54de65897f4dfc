// Linear: y = x W^T + b, W [out, in] as PyTorch. The product accumulates in fp32
// and, with a bias, the bias is added to the fp32 result before the one rounding
// into the layer's format (as a cuBLASLt bias epilogue does).
#include <cmath>

#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class LinearLayer final : public Layer {
 public:
  explicit LinearLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
  }

  std::vector<ParamDecl> declareParameters(std::uint64_t seed) override {
    const std::int64_t in = inputShape_[0], out = spec_.out;
    SplitMix64 rng(seed);
    const float bound = spec_.initGain / std::sqrt(float(in));
    std::vector<ParamDecl> decls;
    decls.push_back({"weight", Shape{out, in}, forwardFormat_, gradFormat_, uniformInit(out * in, bound, rng)});
    if (spec_.bias) decls.push_back({"bias", Shape{out}, forwardFormat_, gradFormat_, uniformInit(out, bound, rng)});
    return decls;
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

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    Tensor& y = output_.ensure(batched(x.shape()[0], outputShape_));
    Tensor& target = io.begin(y, bias_ != nullptr);
    io.backend.gemm(false, true, 1.0f, x, weight_->working, 0.0f, target);
    if (bias_) io.backend.addBias(target, bias_->working);
    io.finish(target, y, StatsKind::activation);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    Tensor& dw = weight_->grad;
    Tensor& dwTarget = io.begin(dw);
    io.backend.gemm(true, false, 1.0f, dy, input_, 0.0f, dwTarget);  // dW = dy^T x
    io.finish(dwTarget, dw, StatsKind::gradient);
    if (bias_) {
      Tensor& db = bias_->grad;
      Tensor& dbTarget = io.begin(db);
      io.backend.biasGrad(dy, dbTarget);
      io.finish(dbTarget, db, StatsKind::gradient);
    }
    if (!needInputGrad) return nullptr;
    Tensor& dx = inputGrad_.ensure(batched(dy.shape()[0], inputShape_));
    Tensor& dxTarget = io.begin(dx);
    io.backend.gemm(false, false, 1.0f, dy, weight_->working, 0.0f, dxTarget);  // dx = dy W
    io.finish(dxTarget, dx, StatsKind::gradient);
    return &dx;
  }

 private:
  ParamSlot* weight_ = nullptr;
  ParamSlot* bias_ = nullptr;
  Buffer output_, inputGrad_;
  Tensor input_;  // forward's input (already in the layer's format), for dW
};

}  // namespace

std::unique_ptr<Layer> makeLinear(const LayerBuild& b) { return std::make_unique<LinearLayer>(b); }

}  // namespace plab::detail
