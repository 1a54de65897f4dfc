// An fp8 tensor's scaling slot (cuda_backend_impl.h, Fp8SlotPool): set up, set and read
// from the host. Setting is queued on the stream (a one-thread kernel), so making an fp8
// tensor or choosing its scale never waits for the device; reading waits.
#include <cmath>
#include <string>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {
namespace {

__global__ void initSlotKernel(float* slot) {
  slot[0] = 1.0f;  // scale
  slot[1] = 0.0f;  // amax
  slot[2] = 1.0f;  // 1 / scale
  slot[3] = 0.0f;  // a product's amax
}

// 1 / scale by IEEE division, as the CPU backend's inverseScale (no fast math here).
__global__ void setScaleKernel(float* slot, float scale) {
  slot[0] = scale;
  slot[2] = 1.0f / scale;
}

// cuBLASLt overwrites its amax output; our amax keeps the largest |value| written since
// the last scale update, so the product's is folded in. fmaxf ignores a NaN, as the CPU
// backend's comparison does.
__global__ void foldProductAmaxKernel(float* slot) { slot[1] = fmaxf(slot[1], slot[3]); }

}  // namespace

void launchFp8SlotInit(cudaStream_t stream, float* slot) {
  initSlotKernel<<<1, 1, 0, stream>>>(slot);
  PLAB_CUDA_LAUNCHED("initSlotKernel");
}

void launchFp8SetScale(cudaStream_t stream, float* slot, float scale) {
  setScaleKernel<<<1, 1, 0, stream>>>(slot, scale);
  PLAB_CUDA_LAUNCHED("setScaleKernel");
}

void launchFp8FoldProductAmax(cudaStream_t stream, float* slot) {
  foldProductAmaxKernel<<<1, 1, 0, stream>>>(slot);
  PLAB_CUDA_LAUNCHED("foldProductAmaxKernel");
}

namespace {
float readSlotField(CudaBackend& be, const float* field) {
  float value = 0.0f;
  PLAB_CUDA(cudaMemcpyAsync(&value, field, sizeof value, cudaMemcpyDeviceToHost, be.stream()));
  PLAB_CUDA(cudaStreamSynchronize(be.stream()));
  return value;
}
}  // namespace

float CudaBackend::fp8Scale(const Tensor& t) {
  PLAB_BACKEND_CALL("fp8Scale");
  return t.scale() ? readSlotField(*this, t.scale()) : 1.0f;
}

float CudaBackend::fp8Amax(const Tensor& t) {
  PLAB_BACKEND_CALL("fp8Amax");
  return t.amax() ? readSlotField(*this, t.amax()) : 0.0f;
}

void CudaBackend::setFp8Scale(Tensor& t, float scale) {
  PLAB_BACKEND_CALL("setFp8Scale");
  if (!t.defined()) throwShapeError("setFp8Scale", "tensor is undefined");
  if (!t.scale())
    throwShapeError("setFp8Scale", "tensor " + t.shape().toString() + " is " + std::string(toString(t.precision())) +
                                       ", only fp8 tensors have a scale");
  if (!(scale > 0.0f) || !std::isfinite(scale))
    throwShapeError("setFp8Scale", "scale " + std::to_string(scale) + " is not a finite number > 0");
  launchFp8SetScale(stream(), t.scale(), scale);
}

}  // namespace plab::cuda
