// Losses, always in fp32 from the last layer's output (as autocast does). The mean
// loss goes into the current step record; the gradient is multiplied by the step's
// loss scale (read on the device) and rounded once into the gradient's format.
// The mean is taken by the last block to finish, over per-row values in a fixed
// order, so the loss is the same from run to run.
//
// A class label that is not a class index (class_labels.h) cannot stop the stream:
// the loss kernel flags the first bad row in the step record, and drainStepRecords
// (step.cu) throws the CPU backend's error text when it reads that record back;
// evaluate, which syncs anyway, throws at once.
#include <cstring>
#include <vector>

#include "backend/class_labels.h"
#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

// Sums values[0..count) in double, in a fixed order, with one block; every thread
// gets the total. (The CPU backend sums the loss in double too.)
template <class T> __device__ double blockSumFixedOrder(const T* values, std::int64_t count) {
  __shared__ double partial[kThreads];
  double sum = 0.0;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) sum += static_cast<double>(values[i]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  return partial[0];
}

// True in the block that finished last (all others' writes are then visible).
__device__ bool lastBlockToFinish(unsigned int* doneBlocks) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicInc(doneBlocks, gridDim.x - 1) == gridDim.x - 1;  // wraps to 0
  __syncthreads();
  return last;
}

// fp8 converts as SATFINITE: a prediction that held inf/NaN before its rounding is
// stored saturated and would give a finite loss. Its amax (the largest |x| before
// rounding; nullptr for other formats) still says so, and the loss is then +inf, as
// on the CPU (cpu_util.h, saturatedNonFinite).
__device__ __forceinline__ float lossUnlessSaturated(const float* amax, float loss) {
  return amax && !isfinite(*amax) ? INFINITY : loss;
}

// One warp per row: log-sum-exp, the row's loss, and dlogits = S (softmax - onehot) / N.
template <class IO>
__global__ void softmaxCrossEntropyKernel(TensorArg logits, const float* labels, TensorArg dlogits,
                                          std::int64_t rows, std::int64_t classes, float* rowLoss,
                                          DeviceScaleState* scale, SlotRing ring) {
  const int lane = threadIdx.x & 31;
  const std::int64_t row = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) / 32;
  const float sIn = scaleValue(logits.scale), sOut = scaleValue(dlogits.scale);
  const float lossScale = scale->counters.scale;
  float localMax = 0.0f;
  if (row < rows) {
    const std::int64_t base = row * classes;
    float m = -INFINITY;  // NaN never wins the max (fmaxf), as on the CPU
    for (std::int64_t c = lane; c < classes; c += 32) m = fmaxf(m, IO::load(logits, base + c, sIn));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, o));
    if (m == -INFINITY) m = 0.0f;  // an all -inf row must not become NaN by itself
    float sum = 0.0f;
    for (std::int64_t c = lane; c < classes; c += 32) sum += expf(IO::load(logits, base + c, sIn) - m);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xFFFFFFFFu, sum, o);
    const float labelValue = labels[row];
    const bool validLabel = isClassIndex(labelValue, classes);
    const std::int64_t label = validLabel ? static_cast<std::int64_t>(labelValue) : -1;
    const float gradFactor = lossScale / static_cast<float>(rows);
    const float inv = 1.0f / sum;
    for (std::int64_t c = lane; c < classes; c += 32) {
      const float e = expf(IO::load(logits, base + c, sIn) - m);
      const float g = (e * inv - (c == label ? 1.0f : 0.0f)) * gradFactor;
      localMax = fmaxf(localMax, fabsf(g));
      IO::store(dlogits, base + c, g, sOut);
    }
    if (lane == 0) {
      rowLoss[row] = validLabel ? logf(sum) + m - IO::load(logits, base + label, sIn) : __int_as_float(0x7FC00000);
      if (!validLabel) {
        StepSlot* slot = ring.at(scale->head);
        atomicMax(&slot->badLabel, badLabelKey(row, __float_as_uint(labelValue)));
        slot->badLabelClasses = classes;  // every flagging thread writes the same value
      }
    }
  }
  if (dlogits.amax) reportAmax(dlogits.amax, localMax);
  if (lastBlockToFinish(&scale->doneBlocks)) {
    const double total = blockSumFixedOrder(rowLoss, rows);
    if (threadIdx.x == 0)
      ring.at(scale->head)->loss = lossUnlessSaturated(logits.amax, static_cast<float>(total / static_cast<double>(rows)));
  }
}

// Squared errors: per-block partial sums, and dpred = S * 2 (p - t) / count.
template <class IO>
__global__ void meanSquaredErrorKernel(TensorArg pred, const float* targets, TensorArg dpred, std::int64_t n,
                                       double* blockSums, DeviceScaleState* scale, SlotRing ring) {
  __shared__ double partial[kThreads];
  const float sIn = scaleValue(pred.scale), sOut = scaleValue(dpred.scale);
  const float gradFactor = 2.0f * scale->counters.scale / static_cast<float>(n);
  double sum = 0.0;
  float localMax = 0.0f;
  PLAB_GRID_LOOP(i, n) {
    const float d = IO::load(pred, i, sIn) - targets[i];
    sum += static_cast<double>(d * d);
    const float g = d * gradFactor;
    localMax = fmaxf(localMax, fabsf(g));
    IO::store(dpred, i, g, sOut);
  }
  if (dpred.amax) reportAmax(dpred.amax, localMax);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) blockSums[blockIdx.x] = partial[0];
  if (lastBlockToFinish(&scale->doneBlocks)) {
    const double total = blockSumFixedOrder(blockSums, gridDim.x);
    if (threadIdx.x == 0)
      ring.at(scale->head)->loss = lossUnlessSaturated(pred.amax, static_cast<float>(total / static_cast<double>(n)));
  }
}

// Evaluation: per-row loss and whether the arg max is the label (classification), or
// per-row mean squared error (regression). A row whose label is not a class index
// gets rowCorrect = -1 and the label itself in rowLoss, for the host's error.
__global__ void evaluateKernel(TensorArg out, const float* labels, std::int64_t rows, std::int64_t cols,
                               bool classification, float* rowLoss, float* rowCorrect) {
  const std::int64_t row = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x;
  if (row >= rows) return;
  const float s = scaleValue(out.scale);
  const std::int64_t base = row * cols;
  if (!classification) {
    float sum = 0.0f;
    for (std::int64_t c = 0; c < cols; ++c) {
      const float d = AnyIO::load(out, base + c, s) - labels[base + c];
      sum += d * d;
    }
    rowLoss[row] = sum / static_cast<float>(cols);
    rowCorrect[row] = 0.0f;
    return;
  }
  std::int64_t best = 0;  // the first largest; NaN never wins (as the CPU backend)
  float bestValue = AnyIO::load(out, base, s), m = -INFINITY;
  for (std::int64_t c = 0; c < cols; ++c) {
    const float x = AnyIO::load(out, base + c, s);
    m = fmaxf(m, x);
    if (x > bestValue) { bestValue = x; best = c; }
  }
  if (m == -INFINITY) m = 0.0f;
  float sum = 0.0f;
  for (std::int64_t c = 0; c < cols; ++c) sum += expf(AnyIO::load(out, base + c, s) - m);
  if (!isClassIndex(labels[row], cols)) {
    rowLoss[row] = labels[row];
    rowCorrect[row] = -1.0f;
    return;
  }
  const std::int64_t label = static_cast<std::int64_t>(labels[row]);
  rowLoss[row] = logf(sum) + m - AnyIO::load(out, base + label, s);
  rowCorrect[row] = best == label ? 1.0f : 0.0f;
}

void* stateScratch(CudaBackend& b, CudaStepState& st, std::size_t bytes) {
  if (bytes > st.scratchBytes) {
    st.scratch = b.allocate(bytes);
    st.scratchBytes = bytes;
  }
  return st.scratch.get();
}

}  // namespace

void CudaBackend::softmaxCrossEntropy(const Tensor& logits, const Tensor& labels, StepState& state,
                                      Tensor& dlogits) {
  PLAB_BACKEND_CALL("softmaxCrossEntropy");
  CudaStepState& st = asCudaState(state);
  if (logits.shape().rank() != 2 || labels.numel() != logits.shape()[0])
    throwShapeError("softmaxCrossEntropy", "logits " + logits.shape().toString() + " and labels " +
                                               labels.shape().toString() + " do not fit");
  requireSameSize("softmaxCrossEntropy", logits, dlogits);
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  auto* rowLoss = static_cast<float*>(stateScratch(*this, st, static_cast<std::size_t>(rows) * sizeof(float)));
  dispatchIO({&logits, &dlogits}, [&](auto io) {
    softmaxCrossEntropyKernel<decltype(io)><<<blocksFor(rows * 32), kThreads, 0, stream()>>>(
        arg(logits), labels.dataAs<float>(), arg(dlogits), rows, classes, rowLoss, st.scale(), st.ring());
  });
  PLAB_CUDA_LAUNCHED("softmaxCrossEntropyKernel");
}

void CudaBackend::meanSquaredError(const Tensor& prediction, const Tensor& targets, StepState& state,
                                   Tensor& dprediction) {
  PLAB_BACKEND_CALL("meanSquaredError");
  CudaStepState& st = asCudaState(state);
  requireSameSize("meanSquaredError", prediction, targets);
  requireSameSize("meanSquaredError", prediction, dprediction);
  const std::int64_t n = prediction.numel();
  int blocks = blocksFor(n);
  if (blocks > 1024) blocks = 1024;
  auto* blockSums = static_cast<double*>(stateScratch(*this, st, static_cast<std::size_t>(blocks) * sizeof(double)));
  dispatchIO({&prediction, &dprediction}, [&](auto io) {
    meanSquaredErrorKernel<decltype(io)><<<blocks, kThreads, 0, stream()>>>(
        arg(prediction), targets.dataAs<float>(), arg(dprediction), n, blockSums, st.scale(), st.ring());
  });
  PLAB_CUDA_LAUNCHED("meanSquaredErrorKernel");
}

Backend::EvalResult CudaBackend::evaluate(const Tensor& output, const Tensor& labelsOrTargets, bool classification) {
  PLAB_BACKEND_CALL("evaluate");
  const std::int64_t rows = output.shape()[0];
  const std::int64_t cols = output.numel() / (rows > 0 ? rows : 1);
  if (classification ? labelsOrTargets.numel() != rows : labelsOrTargets.numel() != output.numel())
    throwShapeError("evaluate", "output " + output.shape().toString() + " and labels/targets " +
                                    labelsOrTargets.shape().toString() + " do not fit");
  std::shared_ptr<void> buffer = allocate(static_cast<std::size_t>(2 * rows) * sizeof(float));
  float* rowLoss = static_cast<float*>(buffer.get());
  evaluateKernel<<<blocksFor(rows), kThreads, 0, stream()>>>(arg(output), labelsOrTargets.dataAs<float>(), rows, cols,
                                                             classification, rowLoss, rowLoss + rows);
  PLAB_CUDA_LAUNCHED("evaluateKernel");
  std::vector<float> host(static_cast<std::size_t>(2 * rows));
  PLAB_CUDA(cudaMemcpyAsync(host.data(), rowLoss, host.size() * sizeof(float), cudaMemcpyDeviceToHost, stream()));
  PLAB_CUDA(cudaStreamSynchronize(stream()));
  EvalResult r;
  for (std::int64_t i = 0; i < rows; ++i) {
    if (classification && host[static_cast<std::size_t>(rows + i)] < 0.0f)
      throwShapeError("evaluate", badClassLabelMessage(host[static_cast<std::size_t>(i)], i, cols));
    r.lossSum += host[static_cast<std::size_t>(i)];
    r.correct += host[static_cast<std::size_t>(rows + i)] > 0.5f ? 1 : 0;
  }
  r.count = rows;
  return r;
}

void throwIfBadLabel(const StepSlot& slot) {
  if (slot.badLabel == 0) return;
  const unsigned int bits = badLabelBits(slot.badLabel);
  float label;
  std::memcpy(&label, &bits, sizeof label);
  throwShapeError("softmaxCrossEntropy", badClassLabelMessage(label, badLabelRow(slot.badLabel), slot.badLabelClasses));
}

}  // namespace plab::cuda
