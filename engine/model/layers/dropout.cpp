// Inverted dropout: in training y = x * mask / (1 - p), the mask drawn by the backend
// from (layer seed, step) so that every backend draws the same one; in evaluation
// the identity.
#include "model/layers/factory.h"

namespace plab::detail {
namespace {

class DropoutLayer final : public Layer {
 public:
  explicit DropoutLayer(const LayerBuild& b)
      : Layer(b.spec, b.inputShape, b.outputShape, b.forwardFormat, b.gradFormat), seed_(b.seed) {
    initBuffer(output_, b.backend, false);
    initBuffer(inputGrad_, b.backend, true);
    mask_.init(b.backend, Precision::fp32);
  }

  void collectFp8Tensors(std::vector<Tensor>& out) const override {
    out.push_back(output_.scaleOwner());
    out.push_back(inputGrad_.scaleOwner());
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    masked_ = io.training && spec_.dropout > 0.0f;
    if (!masked_) {
      passThrough_ = x;
      io.record(passThrough_, StatsKind::activation);
      return passThrough_;
    }
    Tensor& y = output_.ensure(x.shape());
    Tensor& mask = mask_.ensure(x.shape());
    Tensor& target = io.begin(y);
    io.backend.dropoutForward(spec_.dropout, seed_, std::uint64_t(io.step), x, target, mask);
    io.finish(target, y, StatsKind::activation);
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    if (!needInputGrad) return nullptr;
    if (!masked_) {
      passThrough_ = dy;
      io.record(passThrough_, StatsKind::gradient);
      return &passThrough_;
    }
    Tensor& dx = inputGrad_.ensure(dy.shape());
    Tensor& target = io.begin(dx);
    io.backend.dropoutBackward(spec_.dropout, dy, mask_.ensure(dy.shape()), target);
    io.finish(target, dx, StatsKind::gradient);
    return &dx;
  }

 private:
  std::uint64_t seed_;
  bool masked_ = false;
  Buffer output_, inputGrad_, mask_;
  Tensor passThrough_;
};

}  // namespace

std::unique_ptr<Layer> makeDropout(const LayerBuild& b) { return std::make_unique<DropoutLayer>(b); }

}  // namespace plab::detail
