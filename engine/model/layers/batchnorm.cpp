// BatchNorm1d ([N, C]) and BatchNorm2d ([N, C, H, W]): normalisation over dim 1.
// gamma, beta, the running statistics and the saved batch statistics stay fp32 in
// every layer format, as autocast keeps them; x, y and dx are in the layer's format.
#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class BatchNormLayer final : public Layer {
 public:
  explicit BatchNormLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
    const Shape channels{inputShape_[0]};
    runningMean_ = b.backend.zeros(channels, Precision::fp32);
    runningVar_ = b.backend.empty(channels, Precision::fp32);
    b.backend.fill(runningVar_, 1.0f);  // as PyTorch: mean 0, variance 1
    savedMean_ = b.backend.zeros(channels, Precision::fp32);
    savedInvStd_ = b.backend.zeros(channels, Precision::fp32);
  }

  std::vector<ParamDecl> declareParameters(std::uint64_t) override {
    const std::int64_t c = inputShape_[0];
    return {{"gamma", Shape{c}, Precision::fp32, Precision::fp32, std::vector<float>(std::size_t(c), 1.0f)},
            {"beta", Shape{c}, Precision::fp32, Precision::fp32, std::vector<float>(std::size_t(c), 0.0f)}};
  }

  void bindParameters(ParamSlot* first) override {
    gamma_ = first;
    beta_ = first + 1;
  }

  void collectFp8Tensors(std::vector<Tensor>& out) const override {
    out.push_back(output_.scaleOwner());
    out.push_back(inputGrad_.scaleOwner());
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    Tensor& y = output_.ensure(x.shape());
    Tensor& target = io.begin(y);
    io.backend.batchNormForward(x, gamma_->working, beta_->working, runningMean_, runningVar_,
                                spec_.momentum, spec_.eps, io.training, target, savedMean_,
                                savedInvStd_);
    io.finish(target, y, StatsKind::activation);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    // The backend computes dx with dgamma and dbeta in one pass, needed or not.
    Tensor& dx = inputGrad_.ensure(dy.shape());
    Tensor& target = io.begin(dx);
    io.backend.batchNormBackward(input_, dy, gamma_->working, savedMean_, savedInvStd_, target,
                                 gamma_->grad, beta_->grad);
    if (needInputGrad) io.finish(target, dx, StatsKind::gradient);
    io.record(gamma_->grad, StatsKind::gradient);
    io.record(beta_->grad, StatsKind::gradient);
    return needInputGrad ? &dx : nullptr;
  }

 private:
  ParamSlot* gamma_ = nullptr;
  ParamSlot* beta_ = nullptr;
  Buffer output_, inputGrad_;
  Tensor runningMean_, runningVar_, savedMean_, savedInvStd_;
  Tensor input_;
};

}  // namespace

std::unique_ptr<Layer> makeBatchNorm(const LayerBuild& b) { return std::make_unique<BatchNormLayer>(b); }

}  // namespace plab::detail
