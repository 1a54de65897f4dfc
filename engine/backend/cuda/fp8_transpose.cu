// Transposed copies of fp8 matrices (one byte per element), for cuBLASLt's fp8
// products, which take only the "TN" layout (gemm.cpp). A 32x32 tile passes through
// shared memory so that both the reads and the writes are coalesced.
#include <cstdint>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {
namespace {

constexpr int kTile = 32, kTileRows = 8;

// out [cols, rows] = in [rows, cols]^T, both row-major. Block (32, 8), one tile each.
__global__ void transposeBytesKernel(const std::uint8_t* in, std::uint8_t* out, std::int64_t rows, std::int64_t cols) {
  __shared__ std::uint8_t tile[kTile][kTile + 1];  // +1: no bank conflicts on the column reads
  const std::int64_t col = std::int64_t(blockIdx.x) * kTile + threadIdx.x;
  const std::int64_t row0 = std::int64_t(blockIdx.y) * kTile;
  for (int j = threadIdx.y; j < kTile; j += kTileRows) {
    const std::int64_t row = row0 + j;
    if (row < rows && col < cols) tile[j][threadIdx.x] = in[row * cols + col];
  }
  __syncthreads();
  const std::int64_t outCol = row0 + threadIdx.x;  // an input row
  for (int j = threadIdx.y; j < kTile; j += kTileRows) {
    const std::int64_t outRow = std::int64_t(blockIdx.x) * kTile + j;  // an input column
    if (outRow < cols && outCol < rows) out[outRow * rows + outCol] = tile[threadIdx.x][j];
  }
}

}  // namespace

void launchTransposeBytes(cudaStream_t stream, const void* in, void* out, std::int64_t rows, std::int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 block(kTile, kTileRows);
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile), static_cast<unsigned>((rows + kTile - 1) / kTile));
  if (grid.y > 65535u) throwShapeError("transpose", "matrix of " + std::to_string(rows) + " rows is too tall");
  transposeBytesKernel<<<grid, block, 0, stream>>>(static_cast<const std::uint8_t*>(in), static_cast<std::uint8_t*>(out),
                                                   rows, cols);
  PLAB_CUDA_LAUNCHED("transposeBytesKernel");
}

}  // namespace plab::cuda
