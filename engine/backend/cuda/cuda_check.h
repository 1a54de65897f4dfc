#pragma once
// Every CUDA runtime, cuBLAS and cuDNN call goes through one of these checks, which
// throw std::runtime_error naming the call, its error, the file and the line.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <stdexcept>
#include <string>

namespace plab::cuda {

[[noreturn]] inline void throwCallError(const char* call, const std::string& error,
                                        const char* file, int line) {
  throw std::runtime_error(std::string("CUDA backend: ") + call + " failed: " + error + " (" +
                           file + ":" + std::to_string(line) + ")");
}

inline void checkCuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess)
    throwCallError(call, std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e), file, line);
}
inline void checkCublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throwCallError(call, std::string("cuBLAS status ") + std::to_string(static_cast<int>(s)), file, line);
}
inline void checkCudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s != CUDNN_STATUS_SUCCESS) throwCallError(call, cudnnGetErrorString(s), file, line);
}

}  // namespace plab::cuda

#define PLAB_CUDA(call) ::plab::cuda::checkCuda((call), #call, __FILE__, __LINE__)
#define PLAB_CUBLAS(call) ::plab::cuda::checkCublas((call), #call, __FILE__, __LINE__)
#define PLAB_CUDNN(call) ::plab::cuda::checkCudnn((call), #call, __FILE__, __LINE__)
// After a kernel launch: a bad configuration shows up here, not at the next sync.
#define PLAB_CUDA_LAUNCHED(kernelName) \
  ::plab::cuda::checkCuda(cudaGetLastError(), "launch of " kernelName, __FILE__, __LINE__)
