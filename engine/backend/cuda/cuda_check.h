#pragma once
// Every CUDA runtime, cuBLAS(Lt) and cuDNN call goes through one of these checks, which
// throw std::runtime_error naming the call, the library's own name and text for its
// error, the file and the line:
//   CUDA backend: cublasLtMatmul(...) failed: CUBLAS_STATUS_INVALID_VALUE: an invalid
//   numeric value was used as an argument (gemm.cpp:142)
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

// "NAME: text"; a library that knows neither (a status newer than the headers) still
// gives its number.
inline std::string namedStatus(const char* name, const char* text, int number) {
  std::string out = name ? name : "status " + std::to_string(number);
  if (text && *text) out += std::string(": ") + text;
  return out;
}

inline void checkCuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess)
    throwCallError(call, namedStatus(cudaGetErrorName(e), cudaGetErrorString(e), static_cast<int>(e)), file, line);
}
// cuBLASLt returns cuBLAS's status type; cuBLAS names and describes it.
inline void checkCublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throwCallError(call, namedStatus(cublasGetStatusName(s), cublasGetStatusString(s), static_cast<int>(s)), file,
                   line);
}
// cuDNN names its status in cudnnGetErrorString and keeps the detail of the last
// failure (which argument, which limit) for cudnnGetLastErrorString.
inline void checkCudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);
  throwCallError(call, namedStatus(cudnnGetErrorString(s), detail, static_cast<int>(s)), file, line);
}

}  // namespace plab::cuda

#define PLAB_CUDA(call) ::plab::cuda::checkCuda((call), #call, __FILE__, __LINE__)
#define PLAB_CUBLAS(call) ::plab::cuda::checkCublas((call), #call, __FILE__, __LINE__)
#define PLAB_CUDNN(call) ::plab::cuda::checkCudnn((call), #call, __FILE__, __LINE__)
// After a kernel launch: a bad configuration shows up here, not at the next sync.
#define PLAB_CUDA_LAUNCHED(kernelName) \
  ::plab::cuda::checkCuda(cudaGetLastError(), "launch of " kernelName, __FILE__, __LINE__)
