#pragma once
// The CUDA backend class. Private to engine/backend/cuda: it includes the CUDA,
// cuBLASLt and cuDNN headers. Its methods are spread over one file per op family
// (cast.cu, gemm.cpp, conv.cpp, activation.cu, loss.cu, step.cu, optimizer.cu, ...).
//
// Every operation is queued on one stream; nothing here waits for the device except
// download, stats, evaluate, drainStepRecords, fp8Scale, fp8Amax, Timer::milliseconds
// and synchronize.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/host_profile.h"

namespace plab::cuda {

// Each fp8 tensor's scaling slot: four floats of plain device memory,
//   [0] scale, [1] amax (what our kernels fold into), [2] 1 / scale (what cuBLASLt's
//   A/B scale pointers take), [3] the amax cuBLASLt writes for one product (gemm.cpp
//   folds it into [1]).
// Tensor::scale() points at [0] and Tensor::amax() at [1]. Only device code touches a
// slot; the host reads and sets it with fp8Scale / fp8Amax / setFp8Scale (fp8_scale.cu).
// Slots come from slabs, since one allocation per tensor would waste 512 bytes each.
inline constexpr int kFp8SlotFloats = 4;
class Fp8SlotPool {
 public:
  ~Fp8SlotPool();
  float* take();
  void give(float* slot);
 private:
  std::mutex mutex_;
  std::vector<float*> free_;
  std::vector<void*> slabs_;
};

// The stream and library handles, shared by the backend and by every tensor's
// deleter, so that a tensor outliving the backend still frees on a live stream.
struct DeviceContext {
  Fp8SlotPool fp8Slots;
  int device = 0;
  cudaDeviceProp properties{};
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;
  DeviceContext();
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;
};

class CudaStepState;  // step_state.h
struct StepInputs;    // step_state.h

// One cached cuBLASLt plan per product shape and format (gemm.cpp).
struct GemmPlan;
struct GemmKey {
  bool transA, transB;
  std::int64_t m, n, k;
  int format;      // cudaDataType of A and B
  int outFormat;   // cudaDataType of C and D
  int compute;     // cublasComputeType_t
  bool biasEpilogue = false;
  // fp8 products (scale pointers set per call): B's cudaDataType when it differs from
  // A's, else -1; C's when it differs from D's, else -1.
  bool fp8Scaled = false;
  int formatB = -1;
  int cFormat = -1;
  bool operator<(const GemmKey& o) const {
    return std::tie(transA, transB, m, n, k, format, outFormat, compute, biasEpilogue, fp8Scaled, formatB, cFormat) <
           std::tie(o.transA, o.transB, o.m, o.n, o.k, o.format, o.outFormat, o.compute, o.biasEpilogue, o.fp8Scaled,
                    o.formatB, o.cFormat);
  }
};
// One cached cuDNN convolution setup per geometry and format (conv.cpp).
struct ConvPlan;

// Device buffers of a multi-tensor launch (step.cu, optimizer.cu), rebuilt only when
// the list of tensors changes.
struct MultiTensorTable {
  std::vector<const void*> key;    // the tensors' data pointers, in order
  std::shared_ptr<void> device;    // descriptors followed by the chunk list
  int tensorCount = 0;
  int chunkCount = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend();
  ~CudaBackend() override;

  BackendInfo info() const override;
  // fp32, and fp16 for matrix products (cuBLASLt's CUBLAS_COMPUTE_16F, gemm.cpp).
  bool supportsAccumulation(Precision format, ProductKind kind, std::string& whyNot) const override;
  // The weight update has no stochastic-rounding kernel yet (the CPU backend is the
  // reference; convertStochastic's host default serves the gradients).
  bool supportsStochasticRounding(std::string& whyNot) const override {
    whyNot = "the CUDA backend has no stochastic-rounding kernels yet (train on the CPU backend)";
    return false;
  }
  bool supportsPrecision(Precision p, std::string& whyNot) const override;
  Tensor empty(const Shape& shape, Precision precision) override;
  void fill(Tensor& t, float value) override;
  void upload(const float* host, Tensor& t) override;
  void download(const Tensor& t, float* host) override;
  void convert(const Tensor& src, Tensor& dst, TensorStats* stats = nullptr) override;
  void stats(const Tensor& t, TensorStats& out) override;
  void measureShadow(const Tensor& shadow, const Tensor* real, Precision format, ShadowTally& tally) override;
  void toLayout(const Tensor& src, Tensor& dst, MemoryLayout layout) override;
  void setConvLayout(ConvLayoutChoice choice) override { convLayout_ = choice; }
  ConvLayoutChoice convLayout() const override { return convLayout_; }

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
  // CUDA graphs (capture.cu): the step's launches recorded once, replayed as one.
  std::unique_ptr<CapturedStep> captureStep(StepState& state, const std::function<void()>& body,
                                            std::string& whyNot) override;
  void replayStep(CapturedStep& captured, StepState& state, std::int64_t step, float lr) override;
  std::uint64_t allocationCount() const override { return allocations_; }
  void updateFp8Scales(std::span<Tensor> tensors, int historyLength, float margin) override;
  float fp8Scale(const Tensor& t) override;
  float fp8Amax(const Tensor& t) override;
  void setFp8Scale(Tensor& t, float scale) override;

  std::unique_ptr<Timer> createTimer() override;
  void synchronize() override;

  // ---- for the op files -----------------------------------------------------------
  cudaStream_t stream() const { return ctx_->stream; }
  HostProfile* hostProfile() const { return profile_.get(); }
  DeviceContext& context() { return *ctx_; }
  // Device memory from the stream-ordered pool, freed (stream-ordered) with the last owner.
  std::shared_ptr<void> allocate(std::size_t bytes);
  // Statistics of src's values against dst's format, computed before convert writes dst.
  void convertStats(const Tensor& src, const Tensor& dst, TensorStats& out);
  // Rounds t's values into t's own precision in place (tf32 after an fp32 product).
  void roundInPlace(Tensor& t);
  // A new fp32 tensor holding t's logical values (exact), optionally rounded to tf32.
  Tensor toFp32(const Tensor& t, bool roundToTf32 = false);
  // One shared scratch buffer for cuBLASLt / cuDNN workspaces (grows, never shrinks).
  void* workspace(std::size_t bytes);
  std::size_t workspaceSize() const { return workspaceBytes_; }

  // ---- memory layout (layout.cu) ---------------------------------------------------
  // The layout a convolution with operands of format p runs in (setConvLayout).
  MemoryLayout convLayoutFor(Precision p) const;
  // t itself when it is already in `layout` or when both layouts order its memory
  // alike (one channel, or 1x1 planes), else a reordered copy (same format and scale).
  Tensor inLayout(const Tensor& t, MemoryLayout layout);

  std::map<GemmKey, std::shared_ptr<GemmPlan>>& gemmPlans() { return gemmPlans_; }
  std::map<std::vector<std::int64_t>, std::shared_ptr<ConvPlan>>& convPlans() { return convPlans_; }
  MultiTensorTable& table(int which) { return tables_[which]; }
  // fp8 delayed scaling: the amax history of each fp8 tensor, keyed by its amax slot.
  struct AmaxHistory {
    std::shared_ptr<void> values;  // float[length], newest first
    int length = 0;
  };
  std::unordered_map<const float*, AmaxHistory>& amaxHistories() { return amaxHistories_; }
  // While a step is being captured: where kernels read the values that change from
  // one replay to the next (the step number, the learning rate); nullptr otherwise,
  // and kernels then use the values passed by the host.
  const StepInputs* capturedInputs() const { return capturing_ ? stepInputs_ : nullptr; }
  // Advances the host's record count after a step (step.cu).
  void finishStep(CudaStepState& st);
  // measureShadow's tallies in flight (shadow_measure.cu): synchronize() folds them
  // into the callers' ShadowTally once the stream has run.
  struct ShadowSlots;
  void foldShadowTallies();

 private:
  bool capturing_ = false;
  std::shared_ptr<ShadowSlots> shadowSlots_;  // shared_ptr: the type is complete only in shadow_measure.cu
  StepInputs* stepInputs_ = nullptr;      // device memory, held by stepInputsMemory_
  std::shared_ptr<void> stepInputsMemory_;
  std::uint64_t allocations_ = 0;
  std::shared_ptr<DeviceContext> ctx_;
  std::unique_ptr<HostProfile> profile_ = HostProfile::fromEnvironment();
  std::shared_ptr<void> workspace_;
  std::size_t workspaceBytes_ = 0;
  std::map<GemmKey, std::shared_ptr<GemmPlan>> gemmPlans_;
  std::map<std::vector<std::int64_t>, std::shared_ptr<ConvPlan>> convPlans_;
  MultiTensorTable tables_[3];
  std::unordered_map<const float*, AmaxHistory> amaxHistories_;
  std::shared_ptr<void> fp8Change_;  // updateFp8Scales: old scale, new scale, flag
  // PLAB_CUDA_CONV_LAYOUT=nchw|nhwc|auto (default nchw), layout.cu.
  ConvLayoutChoice convLayout_ = convLayoutFromEnvironment();
  static ConvLayoutChoice convLayoutFromEnvironment();
  // The linear op's bias epilogue and its fp32 temporary (gemm.cpp).
  bool linearEpilogue(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y);
  Tensor linearScratch(const Shape& shape);
  Tensor linearScratch_;
  bool fp8Gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b, float beta, Tensor& c);
  // gemm and linear while accumulation() is fp16 (gemm.cpp).
  void gemmAccumulatingInFp16(const GemmKey& shape, const Tensor& a, const Tensor& b, float alpha, float beta,
                              Tensor& c);
  void linearAccumulatingInFp16(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y);
};

// ---- launch helpers -------------------------------------------------------------------
inline constexpr int kThreads = 256;
inline int blocksFor(std::int64_t work, int threads = kThreads) {
  std::int64_t b = (work + threads - 1) / threads;
  if (b < 1) b = 1;
  return static_cast<int>(b > 65535 * 8 ? 65535 * 8 : b);
}
// The other fields of an fp8 tensor's slot (see Fp8SlotPool).
inline float* inverseScaleOf(const Tensor& t) { return t.scale() + 2; }
inline float* productAmaxOf(const Tensor& t) { return t.scale() + 3; }
// fp8_scale.cu: queued on the stream, no host wait.
void launchFp8SlotInit(cudaStream_t stream, float* slot);              // scale 1, amax 0
void launchFp8SetScale(cudaStream_t stream, float* slot, float scale);  // scale and 1 / scale
void launchFp8FoldProductAmax(cudaStream_t stream, float* slot);       // [1] = max([1], [3])
// fp8_transpose.cu: out [cols, rows] = in [rows, cols]^T, one byte per element.
void launchTransposeBytes(cudaStream_t stream, const void* in, void* out, std::int64_t rows, std::int64_t cols);
[[noreturn]] void throwShapeError(const char* op, const std::string& what);

// At the top of every public operation: time the call (host_profile.h).
#define PLAB_BACKEND_CALL(name) PLAB_HOST_TIMED(name)

}  // namespace plab::cuda
