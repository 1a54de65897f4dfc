// Every activation of core/activations.h: fp32 math, one rounding (the backend's).
#include <stdexcept>
#include <string>

#include "model/layers/factory.h"

namespace plab::detail {
namespace {

Activation activationKind(LayerType t) {
  if (const auto a = activationOf(t)) return *a;
  throw std::logic_error("activation layer built for the layer type " + std::string(toString(t)) +
                         ", which is not an activation");
}

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat),
        kind_(activationKind(b.spec.type)),
        param_(b.spec.param) {
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
