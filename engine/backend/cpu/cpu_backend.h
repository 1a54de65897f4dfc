#pragma once
// The CPU backend: exact emulation of every format on real fp32 arithmetic.
//
// Storage: every precision is kept in fp32 slots holding values already rounded to
// the format. fp8 tensors hold round_fp8(value * scale); their logical value is
// stored / scale. Products go through OpenBLAS sgemm on the inputs as stored (they
// are already in their formats), accumulate in fp32, and the result is rounded once
// into the output's format (plab::roundArray, bit-identical to the numerics
// reference). Elementwise ops compute in fp32 and round once.
//
// Choices the CUDA backend matches (see also each op's comment in its .cpp):
// - GELU is the exact erf form, 0.5 x (1 + erf(x / sqrt 2)), not the tanh one.
// - tanh' and sigmoid' are computed from the given (rounded) y; relu, leaky relu and
//   gelu derivatives from x.
// - Average pooling divides by kernelH * kernelW (padding counted, as PyTorch's
//   default count_include_pad=True).
// - A product with fp8 inputs is alpha / (scaleA * scaleB) times the fp32 sum of the
//   stored fp8 values, as cuBLASLt's fp8 path with scale-inverse pointers computes it.
// - Dropout keeps element i when counterUniform(seed, step, i) >= p (counter_rng.h).
// - Statistics describe values as the format sees them: stats() of an fp8 tensor
//   is of its stored (scaled) values; convert(..., stats) compares src * dst scale
//   with its rounding. The log2 histogram and maxAbs are in that same domain.
// - fp8 scales: updateFp8Scales re-quantises the tensor's values with the new scale.
// - Accumulation in fp16 or bf16 (Backend::setAccumulation): every product sums
//   sequentially along its inner dimension, the running sum rounded after each
//   addition as one fused multiply-add would (cpu_accumulate.h); convolutions sum
//   per output over (c, r, s) for the forward product, over k and then the
//   overlapping windows for the data gradient, over the batch and the positions for
//   the filter gradient.
#include <map>
#include <memory>
#include <vector>

#include "backend/backend.h"

namespace plab {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  BackendInfo info() const override;
  // fp32, and fp16 or bf16 with the running sum rounded after every addition.
  bool supportsAccumulation(Precision format, ProductKind kind, std::string& whyNot) const override;

  Tensor empty(const Shape& shape, Precision precision) override;
  void fill(Tensor& t, float value) override;
  void upload(const float* host, Tensor& t) override;
  void download(const Tensor& t, float* host) override;
  void convert(const Tensor& src, Tensor& dst, TensorStats* stats = nullptr) override;
  void stats(const Tensor& t, TensorStats& out) override;
  void measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) override;
  // On the tensors' own slots, without the host default's copies (cpu_block_rounding.cpp).
  void blockQuantise(const Tensor& src, Tensor& dst, Precision format, BlockLayout layout) override;
  void convertStochastic(const Tensor& src, Tensor& dst, std::uint64_t seed, std::uint64_t step) override;

  void gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b, float beta,
            Tensor& c) override;
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;
  void addBias(Tensor& y, const Tensor& bias) override;
  void biasGrad(const Tensor& dy, Tensor& db) override;

  void conv2dForward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, Tensor& y) override;
  void conv2dBackwardData(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, Tensor& dx) override;
  void conv2dBackwardFilter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw) override;
  void pool2dForward(const Pool2dGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) override;
  void pool2dBackward(const Pool2dGeometry& g, const Tensor& dy, const Tensor& indices, Tensor& dx) override;
  void batchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& runningMean,
                        Tensor& runningVar, float momentum, float eps, bool training, Tensor& y,
                        Tensor& savedMean, Tensor& savedInvStd) override;
  void batchNormBackward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& savedMean,
                         const Tensor& savedInvStd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

  void activationForward(Activation a, float param, const Tensor& x, Tensor& y) override;
  void activationBackward(Activation a, float param, const Tensor& x, const Tensor& y, const Tensor& dy,
                          Tensor& dx) override;
  void dropoutForward(float p, std::uint64_t seed, std::uint64_t step, const Tensor& x, Tensor& y,
                      Tensor& mask) override;
  void dropoutBackward(float p, const Tensor& dy, const Tensor& mask, Tensor& dx) override;

  void softmaxCrossEntropy(const Tensor& logits, const Tensor& labels, StepState& state,
                           Tensor& dlogits) override;
  void meanSquaredError(const Tensor& prediction, const Tensor& targets, StepState& state,
                        Tensor& dprediction) override;
  EvalResult evaluate(const Tensor& output, const Tensor& labelsOrTargets, bool classification) override;

  std::unique_ptr<StepState> createStepState(const LossScaleRule& rule, int gradientCount) override;
  void checkGradients(std::span<const Tensor> grads, StepState& state) override;
  void optimizerStep(const OptimizerHyper& hyper, std::span<ParamSlot> params, StepState& state) override;
  void updateLossScale(StepState& state, std::int64_t step) override;
  std::vector<StepRecord> drainStepRecords(StepState& state) override;
  void updateFp8Scales(std::span<Tensor> tensors, int historyLength, float margin) override;
  float fp8Scale(const Tensor& t) override;
  float fp8Amax(const Tensor& t) override;
  void setFp8Scale(Tensor& t, float scale) override;

  std::unique_ptr<Timer> createTimer() override;
  void synchronize() override {}

 private:
  // C = alpha op(A) op(B) + beta C in fp32 in C's slots, not yet rounded (cpu_gemm.cpp).
  struct ProductDims {
    std::int64_t rows = 0, cols = 0;
  };
  struct ProductNames {
    const char* op;
    const char* a;
    const char* b;
    const char* c;  // for error messages
  };
  ProductDims multiplyFp32(const ProductNames& names, bool transA, bool transB, float alpha, const Tensor& a,
                           const Tensor& b, float beta, Tensor& c);
  // The same product summed in accumulation()'s format (cpu_gemm.cpp, cpu_accumulate.h).
  ProductDims multiplyRoundedSum(const ProductNames& names, bool transA, bool transB, float alpha,
                                 const Tensor& a, const Tensor& b, float beta, Tensor& c);
  // Scratch buffers reused across calls so that a training step allocates nothing
  // once it has run once. Slot i is independent of slot j.
  float* scratch(int slot, std::size_t n);
  std::vector<std::vector<float>> scratch_;
  // fp8 delayed scaling: amax history per tensor, keyed by its scale slot.
  std::map<const float*, std::vector<float>> amaxHistory_;
};

}  // namespace plab
