// Batch norm over dim 1 of [N, C] or [N, C, H, W], as the CPU backend computes it:
// per-channel sums in double, mean and biased variance by two passes (no
// cancellation), savedInvStd = 1 / sqrt(var + eps) in double, the running variance
// updated with the unbiased estimate (as PyTorch), y = ((x - mean) invStd) gamma + beta
// rounded once into y's format; dgamma and dbeta rounded into their own formats.
// One block per channel for the reductions, then one elementwise pass.
#include "backend/cuda/elementwise.cuh"

namespace plab::cuda {
namespace {

struct Layout {
  std::int64_t batch, channels, inner;
  __device__ std::int64_t index(std::int64_t c, std::int64_t j) const {  // j-th element of channel c
    return ((j / inner) * channels + c) * inner + j % inner;
  }
  __device__ std::int64_t channelOf(std::int64_t i) const { return (i / inner) % channels; }
};

__device__ double blockSum(double v) {
  __shared__ double partial[kThreads];
  __syncthreads();
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  return partial[0];
}

__global__ void batchStatsKernel(Layout l, TensorArg x, float* runningMean, float* runningVar, float momentum,
                                 float eps, float* savedMean, float* savedInvStd) {
  const std::int64_t c = blockIdx.x, count = l.batch * l.inner;
  const float s = scaleValue(x.scale);
  double sum = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) sum += AnyIO::load(x, l.index(c, j), s);
  const double mean = count ? blockSum(sum) / static_cast<double>(count) : 0.0;
  double sq = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const double d = AnyIO::load(x, l.index(c, j), s) - mean;
    sq += d * d;
  }
  sq = blockSum(sq);
  if (threadIdx.x == 0) {
    const double var = count ? sq / static_cast<double>(count) : 0.0;
    const float meanF = static_cast<float>(mean);
    savedMean[c] = meanF;
    savedInvStd[c] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
    const double unbiased = count > 1 ? sq / static_cast<double>(count - 1) : var;
    runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * meanF;
    runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * static_cast<float>(unbiased);
  }
}

// y = ((x - mean) * invStd) * gamma + beta; invStd from the batch (training) or from
// the running variance (evaluation, fromVariance = true).
__global__ void normalizeKernel(Layout l, TensorArg x, TensorArg y, const float* gamma, const float* beta,
                                const float* mean, const float* invStdOrVar, bool fromVariance, float eps,
                                std::int64_t n) {
  const float sx = scaleValue(x.scale), sy = scaleValue(y.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const std::int64_t c = l.channelOf(i);
    const float invStd = fromVariance ? 1.0f / sqrtf(invStdOrVar[c] + eps) : invStdOrVar[c];
    const float v = ((AnyIO::load(x, i, sx) - mean[c]) * invStd) * gamma[c] + beta[c];
    localMax = fmaxf(localMax, fabsf(v));
    AnyIO::store(y, i, v, sy);
  }
  if (y.amax) reportAmax(y.amax, localMax);
}

// dbeta = sum dy, dgamma = sum dy * xhat (double sums, rounded into their formats);
// means[c] = (mean dy, mean dy*xhat) in fp32 for the input gradient.
__global__ void batchNormGradStatsKernel(Layout l, TensorArg x, TensorArg dy, const float* mean,
                                         const float* invStd, TensorArg dgamma, TensorArg dbeta, float2* means) {
  const std::int64_t c = blockIdx.x, count = l.batch * l.inner;
  const float sx = scaleValue(x.scale), sdy = scaleValue(dy.scale);
  double sumDy = 0.0, sumDyXhat = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t i = l.index(c, j);
    const float g = AnyIO::load(dy, i, sdy);
    const float xhat = (AnyIO::load(x, i, sx) - mean[c]) * invStd[c];
    sumDy += g;
    sumDyXhat += static_cast<double>(g) * xhat;
  }
  sumDy = blockSum(sumDy);
  sumDyXhat = blockSum(sumDyXhat);
  if (threadIdx.x == 0) {
    AnyIO::store(dbeta, c, static_cast<float>(sumDy), scaleValue(dbeta.scale));
    AnyIO::store(dgamma, c, static_cast<float>(sumDyXhat), scaleValue(dgamma.scale));
    if (dbeta.amax) atomicMax(reinterpret_cast<unsigned int*>(dbeta.amax), __float_as_uint(fabsf(static_cast<float>(sumDy))));
    if (dgamma.amax) atomicMax(reinterpret_cast<unsigned int*>(dgamma.amax), __float_as_uint(fabsf(static_cast<float>(sumDyXhat))));
    means[c] = make_float2(static_cast<float>(sumDy / static_cast<double>(count)),
                           static_cast<float>(sumDyXhat / static_cast<double>(count)));
  }
}

// dx = gamma invStd (dy - mean dy - xhat * mean(dy xhat)), as the CPU backend.
__global__ void batchNormInputGradKernel(Layout l, TensorArg x, TensorArg dy, TensorArg dx, const float* gamma,
                                         const float* mean, const float* invStd, const float2* means,
                                         std::int64_t n) {
  const float sx = scaleValue(x.scale), sdy = scaleValue(dy.scale), sdx = scaleValue(dx.scale);
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const std::int64_t c = l.channelOf(i);
    const float xhat = (AnyIO::load(x, i, sx) - mean[c]) * invStd[c];
    const float k = gamma[c] * invStd[c];
    const float v = k * (AnyIO::load(dy, i, sdy) - means[c].x - xhat * means[c].y);
    localMax = fmaxf(localMax, fabsf(v));
    AnyIO::store(dx, i, v, sdx);
  }
  if (dx.amax) reportAmax(dx.amax, localMax);
}

// Channels-last [N, H, W, C] is read as [N*H*W, C] (inner == 1).
Layout layoutOf(const char* op, const Tensor& x, const Tensor& perChannel) {
  const Shape& s = x.shape();
  if (s.rank() < 2) throwShapeError(op, "needs [N, C] or [N, C, H, W], got " + s.toString());
  Layout l{s[0], s[1], 1};
  for (std::size_t d = 2; d < s.rank(); ++d) l.inner *= s[d];
  if (x.layout() == MemoryLayout::nhwc) l = {s[0] * l.inner, s[1], 1};
  if (perChannel.numel() != l.channels)
    throwShapeError(op, "gamma " + perChannel.shape().toString() + " does not match " + s.toString());
  return l;
}

}  // namespace

void CudaBackend::batchNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& runningMean,
                                   Tensor& runningVar, float momentum, float eps, bool training, Tensor& y,
                                   Tensor& savedMean, Tensor& savedInvStd) {
  PLAB_BACKEND_CALL("batchNormForward");
  const Layout l = layoutOf("batchNormForward", x, gamma);
  requireSameSize("batchNormForward", x, y);
  y.setLayout(x.layout());
  if (training) {
    batchStatsKernel<<<static_cast<unsigned>(l.channels), kThreads, 0, stream()>>>(
        l, arg(x), runningMean.dataAs<float>(), runningVar.dataAs<float>(), momentum, eps, savedMean.dataAs<float>(),
        savedInvStd.dataAs<float>());
    PLAB_CUDA_LAUNCHED("batchStatsKernel");
  }
  const float* mean = training ? savedMean.dataAs<float>() : runningMean.dataAs<float>();
  const float* spread = training ? savedInvStd.dataAs<float>() : runningVar.dataAs<float>();
  normalizeKernel<<<blocksFor(x.numel()), kThreads, 0, stream()>>>(l, arg(x), arg(y), gamma.dataAs<float>(),
                                                                   beta.dataAs<float>(), mean, spread, !training, eps,
                                                                   x.numel());
  PLAB_CUDA_LAUNCHED("normalizeKernel");
}

void CudaBackend::batchNormBackward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& savedMean,
                                    const Tensor& savedInvStd, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  PLAB_BACKEND_CALL("batchNormBackward");
  const Layout l = layoutOf("batchNormBackward", x, gamma);
  requireSameSize("batchNormBackward", x, dy);
  requireSameSize("batchNormBackward", x, dx);
  const Tensor dyl = inLayout(dy, x.layout());
  dx.setLayout(x.layout());
  std::shared_ptr<void> means = allocate(sizeof(float2) * static_cast<std::size_t>(l.channels));
  auto* m = static_cast<float2*>(means.get());
  batchNormGradStatsKernel<<<static_cast<unsigned>(l.channels), kThreads, 0, stream()>>>(
      l, arg(x), arg(dyl), savedMean.dataAs<float>(), savedInvStd.dataAs<float>(), arg(dgamma), arg(dbeta), m);
  PLAB_CUDA_LAUNCHED("batchNormGradStatsKernel");
  batchNormInputGradKernel<<<blocksFor(x.numel()), kThreads, 0, stream()>>>(
      l, arg(x), arg(dyl), arg(dx), gamma.dataAs<float>(), savedMean.dataAs<float>(), savedInvStd.dataAs<float>(), m,
      x.numel());
  PLAB_CUDA_LAUNCHED("batchNormInputGradKernel");
}

}  // namespace plab::cuda
