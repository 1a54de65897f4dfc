// The mixed-precision step's bookkeeping on the device: the step state, the one pass
// over every gradient (per-tensor inf/NaN flags and the sum of squares), the loss-scale
// update (the same nextCounters() the CPU backend applies), draining the records, and
// fp8 delayed scaling. No host synchronisation except in drainStepRecords.
#include <cmath>
#include <limits>

#include "backend/cuda/elementwise.cuh"
#include "backend/cuda/multi_tensor.h"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

struct GradDesc {
  const void* data;
  const float* scale;
  const float* amax;  // fp8: the largest |x| before rounding; nullptr for other formats
  long long n;
  Precision precision;
};

// Sums of squares in double, as the CPU backend: no fp32 overflow for large finite
// gradients, so only a real inf/NaN sets a flag.
__global__ void checkGradientsKernel(const void* table, int tensorCount, int chunkCount, DeviceScaleState* state,
                                     SlotRing ring) {
  __shared__ double partial[kThreads];
  __shared__ bool last;
  const auto* descs = static_cast<const GradDesc*>(table);
  const auto* chunks = reinterpret_cast<const Chunk*>(static_cast<const char*>(table) + chunkOffset<GradDesc>(tensorCount));
  double* chunkSums = reinterpret_cast<double*>(const_cast<Chunk*>(chunks + chunkCount));
  const Chunk ch = chunks[blockIdx.x];
  const GradDesc d = descs[ch.tensor];
  const float s = scaleValue(d.scale);
  double sum = 0.0;
  bool bad = false;
  for (long long i = ch.begin + threadIdx.x; i < ch.end; i += blockDim.x) {
    const float g = loadAny(d.precision, d.data, i, s);
    bad |= !isfinite(g);
    sum += static_cast<double>(g) * g;
  }
  // An fp8 gradient that overflowed is stored saturated (SATFINITE): its amax tells,
  // as on the CPU (cpu_util.h, saturatedNonFinite).
  if (threadIdx.x == 0 && ch.begin == 0 && d.amax && !isfinite(*d.amax)) bad = true;
  StepSlot* slot = ring.at(state->head);
  if (__syncthreads_or(bad) && threadIdx.x == 0) {
    ring.flagsAt(state->head)[ch.tensor] = 1;
    slot->overflow = 1;
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) chunkSums[blockIdx.x] = partial[0];
  // The last block adds the chunk sums in chunk order: the same norm on every run.
  __threadfence();
  if (threadIdx.x == 0) last = atomicInc(&state->doneBlocks, gridDim.x - 1) == gridDim.x - 1;
  __syncthreads();
  if (!last) return;
  double total = 0.0;
  for (int c = threadIdx.x; c < chunkCount; c += blockDim.x) total += chunkSums[c];
  partial[threadIdx.x] = total;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) slot->sumSquares = partial[0];
}

// Finishes the current step's record, applies the loss-scale rule, counts the
// optimizer's step, advances the device's step count and clears the next record.
// The step number comes from `inputs` when given (a replayed capture), else `step`.
__global__ void updateLossScaleKernel(LossScaleRule rule, DeviceScaleState* state, SlotRing ring, long long step,
                                      const StepInputs* inputs, bool optimizerCalled) {
  __shared__ long long head;
  if (threadIdx.x == 0) head = state->head;
  __syncthreads();
  StepSlot* slot = ring.at(head);
  StepSlot* nextSlot = ring.at(head + 1);
  if (threadIdx.x == 0) {
    const bool overflow = slot->overflow != 0;
    slot->step = inputs ? inputs->step : step;
    slot->lossScale = state->counters.scale;
    slot->skipped = overflow && optimizerCalled ? 1 : 0;
    if (optimizerCalled && !overflow) state->optimizerSteps += 1;
    state->counters = nextCounters(rule, state->counters, overflow);
    slot->nextLossScale = state->counters.scale;
    if (nextSlot != slot) *nextSlot = StepSlot{};
    state->head = head + 1;
  }
  std::uint8_t* nextFlags = ring.flagsAt(head + 1);
  for (int g = threadIdx.x; g < ring.gradientCount; g += blockDim.x) nextFlags[g] = 0;
}

__global__ void initStateKernel(LossScaleRule rule, DeviceScaleState* state, StepSlot* slots, int capacity) {
  if (threadIdx.x == 0) {
    state->counters = initialCounters(rule);
    state->optimizerSteps = 0;
    state->head = 0;
    state->doneBlocks = 0;
  }
  for (int i = threadIdx.x; i < capacity; i += blockDim.x) slots[i] = StepSlot{};
}

// fp8 delayed scaling, as the CPU backend (Transformer Engine's rule): push the amax
// into the history (newest first); scale = (fp8 max / max(history)) / 2^margin; a zero
// or non-finite amax keeps the scale. When the scale changes, the stored values are
// re-quantised so that the tensor keeps its logical values. The amax restarts at 0.
// change[0] = old scale, change[1] = new scale, change[2] = 1 when re-quantising.
__global__ void updateFp8ScaleKernel(float* history, int length, float* amax, float* scale, float fp8Max,
                                     float margin, float* change) {
  if (threadIdx.x != 0) return;
  for (int i = length - 1; i > 0; --i) history[i] = history[i - 1];
  history[0] = *amax;
  float m = 0.0f;
  for (int i = 0; i < length; ++i) m = fmaxf(m, history[i]);
  const float next = (fp8Max / m) / exp2f(margin);
  const bool changes = m > 0.0f && isfinite(m) && isfinite(next) && next > 0.0f && next != *scale;
  change[0] = *scale;
  change[1] = next;
  change[2] = changes ? 1.0f : 0.0f;
  if (changes) {
    scale[0] = next;
    scale[2] = 1.0f / next;  // the slot's inverse, for cuBLASLt's scale pointers (cuda_backend_impl.h)
  }
  *amax = 0.0f;
}

template <Precision P>
__global__ void requantiseKernel(typename Fmt<P>::T* data, const float* change, std::int64_t n) {
  if (change[2] == 0.0f) return;
  PLAB_GRID_LOOP(i, n) Fmt<P>::store(data, i, Fmt<P>::load(data, i, change[0]), change[1]);
}

}  // namespace

std::unique_ptr<StepState> CudaBackend::createStepState(const LossScaleRule& rule, int gradientCount) {
  PLAB_BACKEND_CALL("createStepState");
  auto st = std::make_unique<CudaStepState>();
  st->rule = rule;
  st->gradientCount = gradientCount;
  st->scaleState = allocate(sizeof(DeviceScaleState));
  st->slots = allocate(sizeof(StepSlot) * static_cast<std::size_t>(st->capacity));
  st->flags = allocate(static_cast<std::size_t>(st->capacity) * (gradientCount > 0 ? gradientCount : 1));
  PLAB_CUDA(cudaMemsetAsync(st->flags.get(), 0, static_cast<std::size_t>(st->capacity) * (gradientCount > 0 ? gradientCount : 1), stream()));
  initStateKernel<<<1, kThreads, 0, stream()>>>(rule, st->scale(), static_cast<StepSlot*>(st->slots.get()),
                                                st->capacity);
  PLAB_CUDA_LAUNCHED("initStateKernel");
  return st;
}

void CudaBackend::checkGradients(std::span<const Tensor> grads, StepState& state) {
  PLAB_BACKEND_CALL("checkGradients");
  CudaStepState& st = asCudaState(state);
  if (static_cast<int>(grads.size()) != st.gradientCount)
    throwShapeError("checkGradients", std::to_string(grads.size()) + " gradients given, the step state was made for " +
                                          std::to_string(st.gradientCount));
  std::vector<const void*> key;
  std::vector<GradDesc> descs;
  std::vector<long long> sizes;
  for (const Tensor& g : grads) {
    key.push_back(g.data());
    key.push_back(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(g.numel() * 8 + static_cast<int>(g.precision()))));
    descs.push_back({g.data(), g.scale(), g.amax(), g.numel(), g.precision()});
    sizes.push_back(g.numel());
  }
  MultiTensorTable& cache = table(0);
  const void* t = multiTensorTable(*this, cache, key, descs, sizes);
  if (cache.chunkCount == 0) return;
  checkGradientsKernel<<<cache.chunkCount, kThreads, 0, stream()>>>(t, cache.tensorCount, cache.chunkCount,
                                                                    st.scale(), st.ring());
  PLAB_CUDA_LAUNCHED("checkGradientsKernel");
}

void CudaBackend::updateLossScale(StepState& state, std::int64_t step) {
  PLAB_BACKEND_CALL("updateLossScale");
  CudaStepState& st = asCudaState(state);
  updateLossScaleKernel<<<1, kThreads, 0, stream()>>>(st.rule, st.scale(), st.ring(), step, capturedInputs(),
                                                      st.optimizerCalled);
  PLAB_CUDA_LAUNCHED("updateLossScaleKernel");
  st.optimizerCalled = false;
  finishStep(st);
}

// The host's count of the device's records; drains early when the ring is full (a
// rare, forced sync) rather than let the device overwrite records not yet read.
// Not while capturing: replayStep finishes each replayed step instead.
void CudaBackend::finishStep(CudaStepState& st) {
  if (capturing_) return;
  st.head += 1;
  if (st.head - st.drained >= st.capacity - 1) {
    std::vector<StepRecord> records = drainStepRecords(st);
    st.spilled.insert(st.spilled.end(), records.begin(), records.end());
  }
}

std::vector<StepRecord> CudaBackend::drainStepRecords(StepState& state) {
  PLAB_BACKEND_CALL("drainStepRecords");
  CudaStepState& st = asCudaState(state);
  std::vector<StepRecord> out = std::move(st.spilled);
  st.spilled.clear();
  const long long count = st.head - st.drained;
  if (count <= 0) return out;
  std::vector<StepSlot> slots(static_cast<std::size_t>(st.capacity));
  const std::size_t flagBytes = static_cast<std::size_t>(st.capacity) * (st.gradientCount > 0 ? st.gradientCount : 1);
  std::vector<std::uint8_t> flags(flagBytes);
  PLAB_CUDA(cudaMemcpyAsync(slots.data(), st.slots.get(), slots.size() * sizeof(StepSlot), cudaMemcpyDeviceToHost,
                            stream()));
  PLAB_CUDA(cudaMemcpyAsync(flags.data(), st.flags.get(), flagBytes, cudaMemcpyDeviceToHost, stream()));
  PLAB_CUDA(cudaStreamSynchronize(stream()));
  for (long long i = st.drained; i < st.head; ++i) {
    const StepSlot& s = slots[static_cast<std::size_t>(i % st.capacity)];
    if (s.badLabel != 0) {
      st.drained = st.head;  // read: a later drain does not report it again
      throwIfBadLabel(s);
    }
    StepRecord r;
    r.step = s.step;
    r.loss = s.loss;
    r.lossScale = s.lossScale;
    r.nextLossScale = s.nextLossScale;
    r.overflow = s.overflow != 0;
    r.skipped = s.skipped != 0;
    r.gradNorm = r.overflow ? std::numeric_limits<float>::infinity()
                            : static_cast<float>(std::sqrt(s.sumSquares) / static_cast<double>(s.lossScale));
    const std::uint8_t* f = flags.data() + (i % st.capacity) * st.gradientCount;
    r.gradOverflow.assign(f, f + st.gradientCount);
    out.push_back(std::move(r));
  }
  st.drained = st.head;
  return out;
}

void CudaBackend::updateFp8Scales(std::span<Tensor> tensors, int historyLength, float margin) {
  PLAB_BACKEND_CALL("updateFp8Scales");
  if (historyLength < 1)
    throwShapeError("updateFp8Scales", "history length " + std::to_string(historyLength) + " < 1");
  for (Tensor& t : tensors) {
    if (!isFp8(t.precision())) continue;
    AmaxHistory& h = amaxHistories()[t.amax()];
    if (h.length != historyLength) {
      h.values = allocate(sizeof(float) * static_cast<std::size_t>(historyLength));
      h.length = historyLength;
      PLAB_CUDA(cudaMemsetAsync(h.values.get(), 0, sizeof(float) * static_cast<std::size_t>(historyLength), stream()));
    }
    if (!fp8Change_) fp8Change_ = allocate(4 * sizeof(float));
    auto* change = static_cast<float*>(fp8Change_.get());
    const float fp8Max = static_cast<float>(formatInfo(t.precision()).maxFinite);
    updateFp8ScaleKernel<<<1, 32, 0, stream()>>>(static_cast<float*>(h.values.get()), historyLength, t.amax(),
                                                 t.scale(), fp8Max, margin, change);
    PLAB_CUDA_LAUNCHED("updateFp8ScaleKernel");
    dispatchPrecision(t.precision(), [&](auto tag) {
      constexpr Precision P = decltype(tag)::value;
      if constexpr (isFp8(P))
        requantiseKernel<P><<<blocksFor(t.numel()), kThreads, 0, stream()>>>(t.dataAs<typename Fmt<P>::T>(), change,
                                                                             t.numel());
    });
    PLAB_CUDA_LAUNCHED("requantiseKernel");
  }
  // No host wait: the scales stay on the device, and host code that wants one reads it
  // with fp8Scale(), which waits then.
}

}  // namespace plab::cuda
