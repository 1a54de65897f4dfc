#pragma once
// The Backend interface: "a place that computes". The model and the trainer call
// only these operations, so the CPU backend (OpenBLAS + exact emulated rounding) and
// the CUDA backend (cuBLASLt, cuDNN, own kernels) are interchangeable.
//
// Numerics contract (docs/architecture.md, "Numerics"): every operation reads its inputs in their own
// formats, computes in fp32 (fp32 accumulation for products and convolutions) and
// rounds its result once, round-to-nearest-even, into the output tensor's precision.
// A tf32 output means the product's inputs are rounded to tf32 first.
//
// Asynchrony: operations may be queued (CUDA stream). Only the calls marked "syncs"
// wait for the device; a training step makes none of them unless the user asked for
// something on the host (a log step, a statistics step).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/activations.h"  // Activation
#include "backend/tensor.h"
#include "core/loss_scale_rule.h"
#include "core/tensor_stats.h"  // TensorStats, kLog2HistBins
#include "backend/shadow_measure.h"  // ShadowTally
#include "numerics/block_format.h"     // BlockLayout

namespace plab {

struct BackendInfo {
  std::string name;          // "cpu" or "cuda"
  std::string device;        // "Intel Xeon ... (2 threads)", "NVIDIA H100 80GB HBM3 (sm_90)"
  std::string details;       // library versions: OpenBLAS, cuBLAS, cuDNN
};

enum class PoolKind { max, average };

// Which memory layout a backend runs its convolutions in (MemoryLayout, tensor.h).
// automatic: channels-last for fp16 and bf16 operands, where tensor-core kernels
// want it, nchw for the rest; nhwc: also for tf32 (fp32 and fp8 stay nchw). A backend
// that stores only nchw (the CPU) ignores it.
enum class ConvLayoutChoice { nchw, nhwc, automatic };
std::string_view toString(ConvLayoutChoice choice);
// "nchw", "nhwc" or "auto"; anything else throws std::invalid_argument naming `where`.
ConvLayoutChoice parseConvLayoutChoice(std::string_view text, std::string_view where);

// Convolution geometry, NCHW logical layout (a backend may store NHWC internally).
struct Conv2dGeometry {
  int n = 0, c = 0, h = 0, w = 0;      // input
  int k = 0, r = 0, s = 0;             // output channels, kernel height, kernel width
  int strideH = 1, strideW = 1, padH = 0, padW = 0;
  int outH() const { return (h + 2 * padH - r) / strideH + 1; }
  int outW() const { return (w + 2 * padW - s) / strideW + 1; }
};

struct Pool2dGeometry {
  PoolKind kind = PoolKind::max;
  int n = 0, c = 0, h = 0, w = 0;
  int kernelH = 2, kernelW = 2, strideH = 2, strideW = 2, padH = 0, padW = 0;
  int outH() const { return (h + 2 * padH - kernelH) / strideH + 1; }
  int outW() const { return (w + 2 * padW - kernelW) / strideW + 1; }
};

enum class OptimizerKind { sgd, adam, adamw };
struct OptimizerHyper {
  OptimizerKind kind = OptimizerKind::adam;
  float lr = 1e-3f;          // this step's learning rate (the schedule is applied by the host)
  float momentum = 0;        // sgd
  bool nesterov = false;     // sgd
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // adam, adamw
  float weightDecay = 0;     // sgd, adam: L2 added to the gradient; adamw: decoupled
  float clipNorm = 0;        // > 0: clip the unscaled gradients to this global norm
};

// How a result is rounded into a narrower format (docs/architecture.md, "Stochastic
// rounding"): to nearest, ties to even (the numerics contract), or stochastically, from
// the counter-based generator (backend/stochastic_array.h).
enum class Rounding : std::uint8_t { nearest, stochastic };
std::string_view toString(Rounding r);  // "nearest", "stochastic": the spelling in files

// One trainable parameter as the optimizer sees it.
struct ParamSlot {
  std::string name;   // "layers[0].weight"
  Tensor working;     // the layer's precision: what forward and backward read
  Tensor master;      // fp32 copy, undefined when master weights are off
  Tensor grad;        // the layer's (gradient) precision, holding loss-scaled gradients
  Tensor state1;      // fp32: momentum buffer (sgd) or first moment (adam)
  Tensor state2;      // fp32: second moment (adam), else undefined
  // How the updated weights are rounded into `working` when there is no master copy
  // (with one, the master is rounded to nearest). Stochastic: element i of optimizer
  // step k draws counterUniform(counterStream(roundingSeed, k), i).
  Rounding rounding = Rounding::nearest;
  std::uint64_t roundingSeed = 0;
};

// The per-step state that lives with the backend (device memory on CUDA): the loss
// scale and its counters, the loss, the overflow flags. Created by the backend.
struct StepRecord {
  std::int64_t step = 0;
  float loss = 0;                 // unscaled, fp32
  float lossScale = 1;            // the scale used in this step
  float nextLossScale = 1;        // after this step's update
  bool overflow = false;          // some gradient held inf/NaN
  bool skipped = false;           // the optimizer step was skipped
  float gradNorm = 0;             // global norm of the unscaled gradients (inf when overflow)
  std::vector<std::uint8_t> gradOverflow;  // per gradient tensor, in the order given to checkGradients
};

class StepState {
 public:
  virtual ~StepState() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;

  // ---- memory -------------------------------------------------------------------
  // Uninitialised tensor. fp8 tensors get a scale (initialised to 1) and an amax slot.
  virtual Tensor empty(const Shape& shape, Precision precision) = 0;
  Tensor zeros(const Shape& shape, Precision precision) {
    Tensor t = empty(shape, precision);
    fill(t, 0.0f);
    return t;
  }
  virtual void fill(Tensor& t, float value) = 0;
  // Host fp32 -> tensor, rounded into t's precision (fp8: after multiplying by the scale).
  virtual void upload(const float* host, Tensor& t) = 0;
  // Tensor -> host fp32, exact (fp8: divided by the scale). Syncs.
  virtual void download(const Tensor& t, float* host) = 0;
  // dst = round(src) in dst's precision. With stats, also records what that
  // rounding did (stats are of src's values against dst's format). Syncs when stats.
  virtual void convert(const Tensor& src, Tensor& dst, TensorStats* stats = nullptr) = 0;
  // Statistics of t's values as they are (zeros, max, histogram; no rounding). Syncs.
  virtual void stats(const Tensor& t, TensorStats& out) = 0;
  // The shadow pass's measure (backend/shadow_measure.h; docs/architecture.md, "Shadow
  // statistics"): adds to `tally` what rounding the fp32 `shadow` into `format` would
  // do and, when `real` is given (the run's tensor of the same shape and memory layout,
  // in any format, fp8 read as stored / scale), the sums for its relative error. The
  // values are classified as shadow * scale, the scale being real's fp8 scale (1 when
  // real is absent or not fp8). Counts and bins equal measureShadowReference's; the
  // sums may differ from its element-order sums in the last bits. Queued, so that the
  // tensors of a whole statistics step cost one wait: the figures are in `tally` after
  // the next synchronize() (the CPU backend adds them at once), and `tally` must live
  // until then. A block-scaled `format` (no layer holds one) throws std::invalid_argument.
  virtual void measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) = 0;

  // ---- memory layout (tensor.h) ---------------------------------------------------
  // dst = src's stored values reordered into `layout`; same shape and precision, and
  // for fp8 the same scale (dst = dst.withFp8ScaleOf(src) first). dst is tagged.
  // Default: a plain copy, for backends that hold only nchw tensors.
  virtual void toLayout(const Tensor& src, Tensor& dst, MemoryLayout layout);
  virtual void setConvLayout(ConvLayoutChoice choice) { (void)choice; }
  virtual ConvLayoutChoice convLayout() const { return ConvLayoutChoice::nchw; }

  // ---- formats ----
  // Whether this backend runs layers of format p, and why not. A layer in a block-scaled
  // format (mxfp4, nvfp4, ...) keeps bf16 tensors and block-quantises the inputs of its
  // products through blockQuantise (docs/architecture.md, "Block-scaled training"): no
  // tensor is ever of a block-scaled format, and empty() refuses one.
  virtual bool supportsPrecision(Precision p, std::string& whyNot) const {
    (void)p;
    (void)whyNot;
    return true;
  }

  // ---- block-scaled products and stochastic rounding (docs/architecture.md) ----------
  // dst (fp32, src's shape) = src's logical values quantised into the block-scaled
  // `format` in `layout` and decoded again (numerics/block_format.h,
  // quantiseDequantiseMatrix), src seen as a [shape[0], numel / shape[0]] matrix. The
  // default works on the host (syncs); the CPU backend's tensors are host memory anyway.
  virtual void blockQuantise(const Tensor& src, Tensor& dst, Precision format, BlockLayout layout);
  // dst = src's logical values rounded stochastically into dst's precision (fp32, tf32,
  // fp16 or bf16; fp8 throws), element i drawing counterUniform(counterStream(seed,
  // step), i) (numerics/stochastic_rounding.h). The default works on the host (syncs).
  virtual void convertStochastic(const Tensor& src, Tensor& dst, std::uint64_t seed, std::uint64_t step);
  // Whether optimizerStep honours ParamSlot::rounding == stochastic, and why not.
  virtual bool supportsStochasticRounding(std::string& whyNot) const {
    (void)whyNot;
    return true;
  }

  // ---- accumulation format of products (docs/architecture.md, "Accumulation") ----
  // The contract accumulates products in fp32. A layer may ask for its own format
  // instead (experiment key network.layers[].accumulate): gemm and linear (matrix
  // products) and the three convolution ops called while accumulation() is fp16 or
  // bf16 sum their products in that format, rounding the running sum after every
  // addition (CPU: in order along the inner dimension; CUDA: cuBLAS's half compute
  // type, in its own order). The bias of linear is then one more such addition. fp32
  // (the default) restores the contract; model code sets it through AccumulationScope.
  // supportsAccumulation says whether a backend can, for which products, and why not;
  // an op asked for what its backend does not support throws.
  enum class ProductKind { matrix, convolution };
  virtual bool supportsAccumulation(Precision format, ProductKind kind, std::string& whyNot) const {
    (void)kind;
    if (format == Precision::fp32) return true;
    whyNot = "the " + info().name + " backend accumulates products in fp32 only";
    return false;
  }
  // fp32, fp16 or bf16 (anything else throws std::invalid_argument).
  void setAccumulation(Precision format) {
    if (format != Precision::fp32 && format != Precision::fp16 && format != Precision::bf16)
      throw std::invalid_argument("setAccumulation: products accumulate in fp32, fp16 or bf16, not " +
                                  std::string(toString(format)));
    accumulation_ = format;
  }
  Precision accumulation() const { return accumulation_; }

  // ---- products -----------------------------------------------------------------
  // C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
  // A: [M,K] (or [K,M] when transA), B: [K,N] (or [N,K] when transB), C: [M,N].
  // fp32 accumulation; the result is rounded once into C's precision.
  virtual void gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b,
                    float beta, Tensor& c) = 0;
  // A linear layer's forward: y = x W^T + b, row-major, W [out, in] as PyTorch.
  // x: [N, in], W: [out, in], bias: [out] or nullptr for none, y: [N, out]. The
  // product is gemm(false, true, 1, x, W, 0, y)'s: inputs read in their formats (fp32
  // ones rounded to tf32 when y is tf32), fp32 accumulation. The bias is added to the
  // fp32 product in fp32 and the sum rounded once into y's precision, so the result is
  // that of gemm into an fp32 temporary, addBias on it and convert into y (what the
  // model called before this op). How a backend gets there is its own affair: the CPU
  // sums in y's fp32 slots, the CUDA backend uses cuBLASLt's bias epilogue.
  virtual void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) = 0;
  // y[i, j, ...] += bias[j] for a [N, C] or [N, C, H, W] tensor, rounded into y's precision.
  virtual void addBias(Tensor& y, const Tensor& bias) = 0;
  // db[j] = sum over all but dim 1 of dy, fp32 sum, rounded into db's precision.
  virtual void biasGrad(const Tensor& dy, Tensor& db) = 0;

  // ---- convolution, pooling, batch norm (NCHW logical layout) --------------------
  virtual void conv2dForward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, Tensor& y) = 0;
  virtual void conv2dBackwardData(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, Tensor& dx) = 0;
  virtual void conv2dBackwardFilter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw) = 0;
  // Max pooling records the winning index of each output in `indices` (fp32 tensor
  // the size of y; undefined for average pooling).
  virtual void pool2dForward(const Pool2dGeometry& g, const Tensor& x, Tensor& y, Tensor& indices) = 0;
  virtual void pool2dBackward(const Pool2dGeometry& g, const Tensor& dy, const Tensor& indices, Tensor& dx) = 0;
  // Batch norm over dim 1 of [N, C] or [N, C, H, W]. gamma, beta, running stats and
  // saved mean / inverse std are fp32. training=false uses the running statistics.
  virtual void batchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                Tensor& runningMean, Tensor& runningVar, float momentum,
                                float eps, bool training, Tensor& y, Tensor& savedMean,
                                Tensor& savedInvStd) = 0;
  virtual void batchNormBackward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                 const Tensor& savedMean, const Tensor& savedInvStd,
                                 Tensor& dx, Tensor& dgamma, Tensor& dbeta) = 0;

  // ---- elementwise (fp32 math, one rounding into the output's precision) ----------
  virtual void activationForward(Activation a, float param, const Tensor& x, Tensor& y) = 0;
  // dx = dy * f'(x); y = f(x) is given for activations whose derivative uses it.
  virtual void activationBackward(Activation a, float param, const Tensor& x, const Tensor& y,
                                  const Tensor& dy, Tensor& dx) = 0;
  // Inverted dropout: y = x * mask / (1 - p); mask (fp32, 0 or 1) is drawn from
  // (seed, step) so that both backends draw the same mask.
  virtual void dropoutForward(float p, std::uint64_t seed, std::uint64_t step, const Tensor& x,
                              Tensor& y, Tensor& mask) = 0;
  virtual void dropoutBackward(float p, const Tensor& dy, const Tensor& mask, Tensor& dx) = 0;

  // ---- losses: always fp32 from the last layer's output, as autocast does --------
  // labels: fp32 class indices [N]. Writes the mean loss into the step state and
  // dlogits = loss scale * d(mean loss)/dlogits, rounded into dlogits' precision.
  virtual void softmaxCrossEntropy(const Tensor& logits, const Tensor& labels, StepState& state,
                                   Tensor& dlogits) = 0;
  // targets: fp32, the shape of prediction. Mean over all elements.
  virtual void meanSquaredError(const Tensor& prediction, const Tensor& targets, StepState& state,
                                Tensor& dprediction) = 0;
  // Loss and accuracy without gradients (evaluation). Syncs.
  struct EvalResult { double lossSum = 0; std::int64_t correct = 0; std::int64_t count = 0; };
  virtual EvalResult evaluate(const Tensor& output, const Tensor& labelsOrTargets, bool classification) = 0;

  // ---- the mixed-precision step ----------------------------------------------------
  virtual std::unique_ptr<StepState> createStepState(const LossScaleRule& rule, int gradientCount) = 0;
  // One pass over every gradient: per-tensor inf/NaN flags and the sum of squares.
  virtual void checkGradients(std::span<const Tensor> grads, StepState& state) = 0;
  // Unscales (1/S), clips, and updates every parameter unless this step overflowed;
  // master -> working copy rounded in the same pass. Counts the optimizer's own steps
  // (for Adam's bias correction) only for steps not skipped.
  virtual void optimizerStep(const OptimizerHyper& hyper, std::span<ParamSlot> params, StepState& state) = 0;
  // Applies the loss-scale rule after the step (backoff on overflow, growth after the interval).
  virtual void updateLossScale(StepState& state, std::int64_t step) = 0;
  // The records of the steps since the last call, oldest first. Syncs.
  virtual std::vector<StepRecord> drainStepRecords(StepState& state) = 0;
  // fp8 delayed scaling: new scale from the amax history of each fp8 tensor.
  virtual void updateFp8Scales(std::span<Tensor> tensors, int historyLength, float margin) = 0;

  // ---- an fp8 tensor's scale and amax, from the host --------------------------------
  // They live in the backend's memory (device memory on CUDA, updated there by the
  // step): host code reads and sets them only through these calls, never through
  // Tensor::scale() / amax(). For a tensor of any other format fp8Scale is 1 and
  // fp8Amax 0.
  virtual float fp8Scale(const Tensor& t) = 0;  // syncs
  virtual float fp8Amax(const Tensor& t) = 0;   // syncs
  // Queued behind the work before it. Values already stored are not re-quantised (they
  // now read as stored / scale): set the scale before writing. Throws for a tensor that
  // is not fp8 or a scale that is not finite and > 0.
  virtual void setFp8Scale(Tensor& t, float scale) = 0;

  // ---- step capture (optional: CUDA graphs) -----------------------------------------
  // A backend that can record the work one training step queues and replay it later
  // issues a whole step with one launch instead of one per operation, which is what
  // bounds small networks on a GPU. The step number and the learning rate are the
  // only values that change between replays; everything else (tensors and their
  // addresses, shapes, formats, the other optimizer settings) is baked in, so the
  // caller captures again when any of it may have changed (StepRunner,
  // train/training_step.h, decides when).
  class CapturedStep {
   public:
    virtual ~CapturedStep() = default;
  };
  // Records what `body` queues (one training step) without running it. Returns
  // nullptr and says why when this backend cannot capture, or when the body did
  // something a capture cannot hold (waiting for the device, allocating memory); the
  // step state is then as before the call and the caller runs the step normally.
  virtual std::unique_ptr<CapturedStep> captureStep(StepState& state, const std::function<void()>& body,
                                                    std::string& whyNot) {
    (void)state;
    (void)body;
    whyNot = "the " + info().name + " backend does not capture steps";
    return nullptr;
  }
  // Queues a captured step again as step `step` with learning rate `lr`. Queues
  // only: it waits for the device only when the step-record ring is full, as
  // updateLossScale does.
  virtual void replayStep(CapturedStep& captured, StepState& state, std::int64_t step, float lr) {
    (void)captured;
    (void)state;
    (void)step;
    (void)lr;
  }
  // Counts the backend's allocations. A captured step holds raw addresses, so it is
  // replayed only while this count has not moved since it was captured.
  virtual std::uint64_t allocationCount() const { return 0; }

  // ---- timing ----------------------------------------------------------------------
  // Device time on a GPU (events), wall time on the CPU.
  class Timer {
   public:
    virtual ~Timer() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual double milliseconds() = 0;  // syncs
  };
  virtual std::unique_ptr<Timer> createTimer() = 0;
  virtual void synchronize() = 0;

 private:
  Precision accumulation_ = Precision::fp32;
};

// Sets a backend's accumulation format for the products of one layer's op and puts
// fp32 back when it goes out of scope (also when the op throws).
class AccumulationScope {
 public:
  AccumulationScope(Backend& backend, Precision format) : backend_(backend) { backend_.setAccumulation(format); }
  ~AccumulationScope() { backend_.setAccumulation(Precision::fp32); }
  AccumulationScope(const AccumulationScope&) = delete;
  AccumulationScope& operator=(const AccumulationScope&) = delete;

 private:
  Backend& backend_;
};

}  // namespace plab
