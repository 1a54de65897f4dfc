#pragma once
// Multi-tensor launches (one kernel over many tensors, as PyTorch's multi_tensor_apply):
// a table of per-tensor descriptors followed by a list of chunks, each chunk one block's
// work. The table lives in device memory and is rebuilt only when the tensors change,
// so a training step uploads nothing.
#include <cstring>
#include <vector>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {

struct Chunk {
  int tensor;
  int unused;
  long long begin, end;
};
// 4096 elements a block (16 per thread): enough blocks to keep every SM streaming
// (with 16384, the 1.9M parameters of a 784-1024-1024-10 MLP made only 116 blocks,
// too few loads in flight to approach the memory bandwidth).
inline constexpr long long kChunkElements = 4096;

// Returns the device table (Desc[count] then Chunk[chunks] then double[chunks] of
// scratch), uploading it only when key differs from the cached one.
template <class Desc>
const void* multiTensorTable(CudaBackend& b, MultiTensorTable& cache, const std::vector<const void*>& key,
                             const std::vector<Desc>& descs, const std::vector<long long>& sizes) {
  if (cache.device && cache.key == key) return cache.device.get();
  std::vector<Chunk> chunks;
  for (std::size_t t = 0; t < sizes.size(); ++t)
    for (long long begin = 0; begin < sizes[t]; begin += kChunkElements)
      chunks.push_back({static_cast<int>(t), 0, begin, begin + kChunkElements < sizes[t] ? begin + kChunkElements : sizes[t]});
  const std::size_t descBytes = (descs.size() * sizeof(Desc) + 15) / 16 * 16;
  const std::size_t chunkBytes = chunks.size() * sizeof(Chunk);
  std::vector<unsigned char> host(descBytes + chunkBytes);
  if (!descs.empty()) std::memcpy(host.data(), descs.data(), descs.size() * sizeof(Desc));
  if (!chunks.empty()) std::memcpy(host.data() + descBytes, chunks.data(), chunkBytes);
  cache.device = b.allocate(host.size() + chunks.size() * sizeof(double) + 16);
  PLAB_CUDA(cudaMemcpyAsync(cache.device.get(), host.data(), host.size(), cudaMemcpyHostToDevice, b.stream()));
  // The copy reads host memory that is about to go away: wait for it (table rebuilt rarely).
  PLAB_CUDA(cudaStreamSynchronize(b.stream()));
  cache.key = key;
  cache.tensorCount = static_cast<int>(descs.size());
  cache.chunkCount = static_cast<int>(chunks.size());
  return cache.device.get();
}

template <class Desc> PLAB_HOST_DEVICE std::size_t chunkOffset(int tensorCount) {
  return (tensorCount * sizeof(Desc) + 15) / 16 * 16;
}

}  // namespace plab::cuda
