// The CUDA backend's device, stream, handles and memory; the probe and the factory.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/step_state.h"

namespace plab {
namespace cuda {

DeviceContext::DeviceContext() {
  PLAB_CUDA(cudaSetDevice(device));
  PLAB_CUDA(cudaGetDeviceProperties(&properties, device));
  PLAB_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  PLAB_CUBLAS(cublasLtCreate(&lt));
  PLAB_CUDNN(cudnnCreate(&dnn));
  PLAB_CUDNN(cudnnSetStream(dnn, stream));
  // Keep freed blocks in the stream-ordered pool: tensors come and go every step, and
  // giving memory back to the driver each time would cost a synchronisation.
  cudaMemPool_t pool;
  PLAB_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  std::uint64_t keepAll = UINT64_MAX;
  PLAB_CUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keepAll));
}

// Destructors only log (STYLE.md): a failing teardown must not throw.
DeviceContext::~DeviceContext() {
  if (cudaStreamSynchronize(stream) != cudaSuccess) std::fprintf(stderr, "CUDA backend: stream sync failed at teardown\n");
  if (dnn) cudnnDestroy(dnn);
  if (lt) cublasLtDestroy(lt);
  if (stream) cudaStreamDestroy(stream);
}

Fp8SlotPool::~Fp8SlotPool() {
  for (void* slab : slabs_)
    if (cudaFree(slab) != cudaSuccess) std::fprintf(stderr, "CUDA backend: freeing fp8 scale slots failed\n");
}

float* Fp8SlotPool::take() {
  constexpr int kSlotsPerSlab = 4096;
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.empty()) {
    void* slab = nullptr;
    PLAB_CUDA(cudaMalloc(&slab, kSlotsPerSlab * kFp8SlotFloats * sizeof(float)));
    slabs_.push_back(slab);
    for (int i = kSlotsPerSlab - 1; i >= 0; --i) free_.push_back(static_cast<float*>(slab) + kFp8SlotFloats * i);
  }
  float* slot = free_.back();
  free_.pop_back();
  return slot;
}

void Fp8SlotPool::give(float* slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(slot);
}

CudaBackend::CudaBackend() : ctx_(std::make_shared<DeviceContext>()) {
  workspace(32u << 20);
  stepInputsMemory_ = allocate(sizeof(StepInputs));
  stepInputs_ = static_cast<StepInputs*>(stepInputsMemory_.get());
}

CudaBackend::~CudaBackend() {
  if (cudaStreamSynchronize(ctx_->stream) != cudaSuccess)
    std::fprintf(stderr, "CUDA backend: pending work failed at teardown\n");
}

BackendInfo CudaBackend::info() const {
  const cudaDeviceProp& p = ctx_->properties;
  BackendInfo i;
  i.name = "cuda";
  i.device = std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
             std::to_string(p.totalGlobalMem >> 20) + " MiB)";
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  int lt = static_cast<int>(cublasLtGetVersion());
  int dnn = static_cast<int>(cudnnGetVersion());
  i.details = "CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
              ", driver " + std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10) +
              ", cuBLASLt " + std::to_string(lt) + ", cuDNN " + std::to_string(dnn);
  return i;
}

std::shared_ptr<void> CudaBackend::allocate(std::size_t bytes) {
  // A captured step keeps raw addresses: memory it allocated would belong to the
  // graph. captureStep catches this and the step runs eagerly instead.
  if (capturing_) throw std::runtime_error("CUDA backend: the step allocates device memory while being captured");
  ++allocations_;
  void* p = nullptr;
  if (bytes == 0) bytes = 1;
  PLAB_CUDA(cudaMallocAsync(&p, bytes, ctx_->stream));
  std::shared_ptr<DeviceContext> ctx = ctx_;
  return std::shared_ptr<void>(p, [ctx](void* q) {
    if (cudaFreeAsync(q, ctx->stream) != cudaSuccess) std::fprintf(stderr, "CUDA backend: cudaFreeAsync failed\n");
  });
}

void* CudaBackend::workspace(std::size_t bytes) {
  if (bytes > workspaceBytes_) {
    workspace_ = allocate(bytes);
    workspaceBytes_ = bytes;
  }
  return workspace_.get();
}

Tensor CudaBackend::empty(const Shape& shape, Precision precision) {
  if (std::string whyNot; !supportsPrecision(precision, whyNot)) {
    throw std::invalid_argument("CUDA backend, empty " + shape.toString() + ": " + whyNot);
  }
  std::shared_ptr<void> storage = allocate(tensorBytes(precision, shape.numel()));
  if (!isFp8(precision)) return Tensor(this, storage, shape, precision);
  // The scale and the amax: one device slot, set to scale 1, amax 0 by a kernel on the
  // stream. A recycled slot may still be read by queued kernels of its last owner; the
  // initialisation is queued behind them, so no host wait is needed.
  std::shared_ptr<DeviceContext> ctx = ctx_;
  std::shared_ptr<float> slot(ctx->fp8Slots.take(), [ctx](float* p) { ctx->fp8Slots.give(p); });
  launchFp8SlotInit(ctx_->stream, slot.get());
  amaxHistories_.erase(slot.get() + 1);  // a recycled slot starts a new history
  return Tensor(this, storage, shape, precision, slot, std::shared_ptr<float>(slot, slot.get() + 1));
}

void CudaBackend::synchronize() {
  PLAB_CUDA(cudaStreamSynchronize(ctx_->stream));
  foldShadowTallies();
}

void throwShapeError(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string("CUDA backend: ") + op + ": " + what);
}

// ---- timing: CUDA events, read only when asked -----------------------------------------
namespace {
class EventTimer final : public Backend::Timer {
 public:
  explicit EventTimer(cudaStream_t s) : stream_(s) {
    PLAB_CUDA(cudaEventCreate(&start_));
    PLAB_CUDA(cudaEventCreate(&stop_));
  }
  ~EventTimer() override {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  void start() override {
    PLAB_CUDA(cudaEventRecord(start_, stream_));
  }
  void stop() override {
    PLAB_CUDA(cudaEventRecord(stop_, stream_));
  }
  double milliseconds() override {
    PLAB_CUDA(cudaEventSynchronize(stop_));
    float ms = 0;
    PLAB_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};
}  // namespace

std::unique_ptr<Backend::Timer> CudaBackend::createTimer() { return std::make_unique<EventTimer>(ctx_->stream); }

}  // namespace cuda

bool probeCudaDevice(std::string& reason) {
  int driver = 0;
  cudaError_t e = cudaDriverGetVersion(&driver);
  if (e != cudaSuccess || driver == 0) {
    reason = e != cudaSuccess ? "no CUDA driver (" + std::string(cudaGetErrorString(e)) + ")"
                              : "no CUDA driver installed";
    return false;
  }
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  if (driver < runtime) {
    reason = "CUDA driver too old: driver supports " + std::to_string(driver / 1000) + "." +
             std::to_string(driver % 1000 / 10) + ", this build needs " + std::to_string(runtime / 1000) + "." +
             std::to_string(runtime % 1000 / 10);
    return false;
  }
  int count = 0;
  e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    reason = e != cudaSuccess ? "no CUDA device (" + std::string(cudaGetErrorString(e)) + ")" : "no CUDA device";
    return false;
  }
  cudaDeviceProp p{};
  e = cudaGetDeviceProperties(&p, 0);
  if (e != cudaSuccess) {
    reason = "CUDA device 0 does not answer (" + std::string(cudaGetErrorString(e)) + ")";
    return false;
  }
  if (p.major < 8) {
    reason = std::string(p.name) + " has compute capability " + std::to_string(p.major) + "." +
             std::to_string(p.minor) + "; the CUDA backend needs 8.0 (Ampere) or newer";
    return false;
  }
  reason = std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")";
  return true;
}

std::unique_ptr<Backend> createCudaBackend() { return std::make_unique<cuda::CudaBackend>(); }

}  // namespace plab
