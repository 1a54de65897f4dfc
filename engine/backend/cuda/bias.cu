// Bias: y += bias[channel] (fp32 add, one rounding into y) and its gradient, the fp32
// sum of dy over every dimension but the channel one, rounded once into db.
#include "backend/cuda/elementwise.cuh"

namespace plab::cuda {
namespace {

template <class IO>
__global__ void addBiasKernel(TensorArg y, TensorArg bias, std::int64_t channels, std::int64_t inner,
                              std::int64_t n) {
  const float sy = scaleValue(y.scale), sb = scaleValue(bias.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const std::int64_t c = (i / inner) % channels;
    const float v = IO::load(y, i, sy) + AnyIO::load(bias, c, sb);
    localMax = fmaxf(localMax, fabsf(v));
    IO::store(y, i, v, sy);
  }
  if (y.amax) reportAmax(y.amax, localMax);
}

// [rows, channels] (inner == 1): each block sums 32 adjacent columns, reading rows
// coalesced; 8 row lanes per column, combined in shared memory in a fixed order.
template <class IO>
__global__ void columnSumKernel(TensorArg dy, TensorArg db, std::int64_t rows, std::int64_t channels) {
  __shared__ float partial[8][33];
  const std::int64_t c = blockIdx.x * 32 + threadIdx.x;
  const float s = scaleValue(dy.scale);
  float sum = 0.0f;
  if (c < channels)
    for (std::int64_t r = threadIdx.y; r < rows; r += 8) sum += IO::load(dy, r * channels + c, s);
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    float total = 0.0f;
    for (int k = 0; k < 8; ++k) total += partial[k][threadIdx.x];
    AnyIO::store(db, c, total, scaleValue(db.scale));
  }
}

// [N, C, inner] with inner > 1: one block per channel.
template <class IO>
__global__ void channelSumKernel(TensorArg dy, TensorArg db, std::int64_t batch, std::int64_t channels,
                                 std::int64_t inner) {
  __shared__ float partial[kThreads];
  const std::int64_t c = blockIdx.x;
  const float s = scaleValue(dy.scale);
  float sum = 0.0f;
  for (std::int64_t j = threadIdx.x; j < batch * inner; j += blockDim.x) {
    const std::int64_t n = j / inner, k = j % inner;
    sum += IO::load(dy, (n * channels + c) * inner + k, s);
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) AnyIO::store(db, c, partial[0], scaleValue(db.scale));
}

// Channels-last [N, H, W, C] is [N*H*W, C] with inner == 1: the column sum's case.
struct ChannelLayout {
  std::int64_t batch, channels, inner;
};
ChannelLayout channelLayout(const char* op, const Tensor& t, const Tensor& perChannel) {
  const Shape& s = t.shape();
  if (s.rank() < 2) throwShapeError(op, "needs [N, C, ...], got " + s.toString());
  ChannelLayout l{s[0], s[1], 1};
  for (std::size_t d = 2; d < s.rank(); ++d) l.inner *= s[d];
  if (t.layout() == MemoryLayout::nhwc) l = {s[0] * l.inner, s[1], 1};
  if (perChannel.numel() != l.channels)
    throwShapeError(op, "per-channel tensor " + perChannel.shape().toString() + " does not match " + s.toString());
  return l;
}

}  // namespace

void CudaBackend::addBias(Tensor& y, const Tensor& bias) {
  PLAB_BACKEND_CALL("addBias");
  const ChannelLayout l = channelLayout("addBias", y, bias);
  dispatchIO({&y}, [&](auto io) {
    addBiasKernel<decltype(io)><<<blocksFor(y.numel()), kThreads, 0, stream()>>>(arg(y), arg(bias), l.channels,
                                                                               l.inner, y.numel());
  });
  PLAB_CUDA_LAUNCHED("addBiasKernel");
}

void CudaBackend::biasGrad(const Tensor& dy, Tensor& db) {
  PLAB_BACKEND_CALL("biasGrad");
  const ChannelLayout l = channelLayout("biasGrad", dy, db);
  dispatchIO({&dy}, [&](auto io) {
    using IO = decltype(io);
    if (l.inner == 1) {
      const dim3 block(32, 8);
      columnSumKernel<IO><<<static_cast<unsigned>((l.channels + 31) / 32), block, 0, stream()>>>(
          arg(dy), arg(db), l.batch, l.channels);
    } else {
      channelSumKernel<IO><<<static_cast<unsigned>(l.channels), kThreads, 0, stream()>>>(arg(dy), arg(db), l.batch,
                                                                                        l.channels, l.inner);
    }
  });
  PLAB_CUDA_LAUNCHED("biasGrad kernels");
}

}  // namespace plab::cuda
