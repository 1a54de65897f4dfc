#pragma once
// PLAB_HOST_DEVICE marks a function that the CPU backend and the CUDA kernels share:
// __host__ __device__ under nvcc, nothing elsewhere.
#if defined(__CUDACC__)
#define PLAB_HOST_DEVICE __host__ __device__
#else
#define PLAB_HOST_DEVICE
#endif
