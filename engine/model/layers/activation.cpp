// ReLU, LeakyReLU, GELU (exact erf form), tanh, sigmoid: fp32 math, one rounding.
#include <stdexcept>
#include <string>

#include "model/layers/factory.h"

namespace plab::detail {
namespace {

Activation activationOf(LayerType t) {
  switch (t) {
    case LayerType::leaky_relu: return Activation::leaky_relu;
    case LayerType::gelu: return Activation::gelu;
    case LayerType::tanh: return Activation::tanh;
    case LayerType::sigmoid: return Activation::sigmoid;
    case LayerType::relu: return Activation::relu;
    case LayerType::linear:
    case LayerType::conv2d:
    case LayerType::maxpool2d:
    case LayerType::avgpool2d:
    case LayerType::flatten:
    case LayerType::dropout:
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d: break;
  }
  throw std::logic_error("activation layer built for the layer type " + std::string(toString(t)) +
                         ", which is not an activation");
}

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat),
        kind_(activationOf(b.spec.type)),
        param_(b.spec.type == LayerType::leaky_relu ? b.spec.slope : 0.0f) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
  }

  void collectFp8Tensors(std::vector<Tensor>& out) const override {
    out.push_back(output_.scaleOwner());
    out.push_back(inputGrad_.scaleOwner());
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    Tensor& y = output_.ensure(x.shape());
    Tensor& target = io.begin(y);
    io.backend.activationForward(kind_, param_, x, target);
    io.finish(target, y, StatsKind::activation);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    if (!needInputGrad) return nullptr;
    Tensor& y = output_.ensure(dy.shape());
    Tensor& dx = inputGrad_.ensure(dy.shape());
    Tensor& target = io.begin(dx);
    io.backend.activationBackward(kind_, param_, input_, y, dy, target);
    io.finish(target, dx, StatsKind::gradient);
    return &dx;
  }

 private:
  Activation kind_;
  float param_;
  Buffer output_, inputGrad_;
  Tensor input_;
};

}  // namespace

std::unique_ptr<Layer> makeActivation(const LayerBuild& b) { return std::make_unique<ActivationLayer>(b); }

}  // namespace plab::detail
