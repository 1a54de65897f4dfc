// Linear: y = x W^T + b, W [out, in] as PyTorch, through Backend::linear: the product
// accumulates in fp32 and, with a bias, the bias is added to the fp32 result before
// the one rounding into the layer's format (backend.h; the CUDA backend fuses it into
// a cuBLASLt bias epilogue). With accumulate = "layer" all three products (y, dW, dx)
// sum in the layer's format instead (AccumulationScope, backend.h); with rounding =
// "stochastic" the gradients are rounded stochastically (weighted_layer.h).
//
// A layer in a block-scaled format (docs/architecture.md, "Block-scaled training") holds
// bf16 and reads each product's inputs block-quantised along that product's reduction
// dimension (Backend::blockQuantise into fp32 operands): x and W by rows for y = x W^T;
// dy and x by columns for dW = dy^T x; dy by rows and W by columns for dx = dy W. The
// weight takes 16 x 16 tiles instead with block_scaling "2d", and every operand one scale
// with "tensor". block_backward false leaves the backward products' inputs in bf16.
#include "model/layers/weighted_layer.h"

namespace plab::detail {
namespace {

class LinearLayer final : public WeightedLayer {
 public:
  explicit LinearLayer(const LayerBuild& b) : WeightedLayer(b) {
    for (Buffer* q : {&xq_, &wq_, &dyq_, &xqT_, &dyqT_, &wqT_}) q->init(b.backend, Precision::fp32);
  }

  std::vector<ParamDecl> declareParameters(std::uint64_t seed) override {
    const std::int64_t in = inputShape_[0], out = spec_.out;
    return declareWeightAndBias(Shape{out, in}, in, out, seed);
  }

  const Tensor& forward(const Tensor& x, LayerIo& io) override {
    Tensor& y = output_.ensure(batched(x.shape()[0], outputShape_));
    Tensor& target = io.begin(y);
    const Tensor* xs = &x;
    const Tensor* ws = &weight_->working;
    if (blockScaled()) {
      xs = &quantised(io, x, xq_, operandLayout(BlockLayout::rows));
      ws = &quantised(io, weight_->working, wq_, weightLayout(BlockLayout::rows));
    }
    {
      AccumulationScope accumulation(io.backend, accumulationFor(forwardFormat_));
      io.backend.linear(*xs, *ws, bias_ ? &bias_->working : nullptr, target);
    }
    io.finish(target, y, StatsKind::activation);
    // Against the fp64 product of the unquantised inputs: the error the layer's format made.
    if (io.statsEnabled) io.productRelError = linearErrorAgainstFp64(io.backend, x, weight_->working, bias_, y);
    input_ = x;
    return y;
  }

  const Tensor* backward(const Tensor& dy, bool needInputGrad, LayerIo& io) override {
    const bool quantise = blockScaled() && spec_.blockBackward;
    Tensor& dw = weight_->grad;
    Tensor& dwTarget = gradientTarget(dw, io);
    AccumulationScope accumulation(io.backend, accumulationFor(gradFormat_));
    {
      const Tensor* dys = quantise ? &quantised(io, dy, dyqT_, operandLayout(BlockLayout::columns)) : &dy;
      const Tensor* xs = quantise ? &quantised(io, input_, xqT_, operandLayout(BlockLayout::columns)) : &input_;
      io.backend.gemm(true, false, 1.0f, *dys, *xs, 0.0f, dwTarget);  // dW = dy^T x
    }
    gradientFinish(dwTarget, dw, io, kWeightGrad);
    if (bias_) biasGradient(dy, io);
    if (!needInputGrad) return nullptr;
    Tensor& dx = inputGrad_.ensure(batched(dy.shape()[0], inputShape_));
    Tensor& dxTarget = gradientTarget(dx, io);
    const Tensor* dys = quantise ? &quantised(io, dy, dyq_, operandLayout(BlockLayout::rows)) : &dy;
    const Tensor* ws = &weight_->working;
    if (quantise) {
      // W read by columns; 2d tiles and a tensor scale quantise W^T as W: forward's copy serves.
      const BlockLayout layout = weightLayout(BlockLayout::columns);
      ws = layout == weightLayout(BlockLayout::rows) ? &wq_.ensure(weight_->working.shape())
                                                     : &quantised(io, weight_->working, wqT_, layout);
    }
    io.backend.gemm(false, false, 1.0f, *dys, *ws, 0.0f, dxTarget);  // dx = dy W
    gradientFinish(dxTarget, dx, io, kInputGrad);
    return &dx;
  }

 private:
  bool blockScaled() const { return isBlockScaled(spec_.precision); }
  // An activation or gradient operand: its reduction dimension's blocks, or one scale.
  BlockLayout operandLayout(BlockLayout along) const {
    return spec_.blockScaling == BlockScaling::tensor ? BlockLayout::tensor : along;
  }
  BlockLayout weightLayout(BlockLayout along) const {
    switch (spec_.blockScaling) {
      case BlockScaling::blocks1d: return along;
      case BlockScaling::tiles2d: return BlockLayout::tiles;
      case BlockScaling::tensor: return BlockLayout::tensor;
    }
    return along;
  }
  const Tensor& quantised(LayerIo& io, const Tensor& t, Buffer& into, BlockLayout layout) {
    Tensor& q = into.ensure(t.shape());
    io.backend.blockQuantise(t, q, spec_.precision, layout);
    return q;
  }

  // fp32 operands of the block-quantised products (forward; backward by columns and rows).
  Buffer xq_, wq_, dyq_, xqT_, dyqT_, wqT_;
};

}  // namespace

std::unique_ptr<Layer> makeLinear(const LayerBuild& b) { return std::make_unique<LinearLayer>(b); }

}  // namespace plab::detail
