// CUDA graph capture of a training step (Backend::captureStep / replayStep).
//
// The step's operations are queued on the backend's one stream; capturing that
// stream records them as a graph without running them, and launching the
// instantiated graph runs them all with one call. Kernels that need the step number
// or the learning rate read them from StepInputs in device memory while a capture is
// recorded (capturedInputs()), so each replay first writes those two values; every
// kernel finds its step record from the device's own step count. Anything that
// waits for the device or allocates during the capture makes it fail: the capture is
// then discarded, the host's step bookkeeping restored, and the caller runs the step
// eagerly.
#include <cstdio>
#include <exception>

#include "backend/cuda/cuda_backend_impl.h"
#include "backend/cuda/step_state.h"

namespace plab::cuda {
namespace {

__global__ void setStepInputsKernel(StepInputs* inputs, long long step, float lr) {
  inputs->step = step;
  inputs->lr = lr;
}

class CudaCapturedStep final : public Backend::CapturedStep {
 public:
  CudaCapturedStep(std::shared_ptr<DeviceContext> ctx, cudaGraphExec_t exec) : ctx_(std::move(ctx)), exec_(exec) {}
  ~CudaCapturedStep() override {
    if (cudaGraphExecDestroy(exec_) != cudaSuccess) std::fprintf(stderr, "CUDA backend: cudaGraphExecDestroy failed\n");
  }
  cudaGraphExec_t exec() const { return exec_; }

 private:
  std::shared_ptr<DeviceContext> ctx_;  // the stream outlives the graph
  cudaGraphExec_t exec_;
};

}  // namespace

std::unique_ptr<Backend::CapturedStep> CudaBackend::captureStep(StepState& state, const std::function<void()>& body,
                                                                std::string& whyNot) {
  CudaStepState& st = asCudaState(state);
  const long long head = st.head;
  const bool optimizerCalled = st.optimizerCalled;
  // Thread-local mode: a CUDA call of another thread (the GUI's, say) that is not
  // capture-safe does not break this capture, and one of this thread does.
  PLAB_CUDA(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
  capturing_ = true;
  std::string failure;
  try {
    body();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  capturing_ = false;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream(), &graph);
  cudaGetLastError();  // a failed capture leaves its error behind; it is reported below
  st.head = head;
  st.optimizerCalled = optimizerCalled;
  if (failure.empty() && (ended != cudaSuccess || graph == nullptr))
    failure = std::string("capture failed: ") + cudaGetErrorString(ended);
  cudaGraphExec_t exec = nullptr;
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made != cudaSuccess) {
      failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(made);
      cudaGetLastError();
    }
  }
  if (graph) cudaGraphDestroy(graph);
  if (!failure.empty()) {
    whyNot = failure;
    return nullptr;
  }
  return std::make_unique<CudaCapturedStep>(ctx_, exec);
}

void CudaBackend::replayStep(CapturedStep& captured, StepState& state, std::int64_t step, float lr) {
  PLAB_BACKEND_CALL("replayStep");
  auto* c = dynamic_cast<CudaCapturedStep*>(&captured);
  if (!c) throw std::invalid_argument("CUDA backend: replayStep was given a step captured by another backend");
  CudaStepState& st = asCudaState(state);
  setStepInputsKernel<<<1, 1, 0, stream()>>>(stepInputs_, static_cast<long long>(step), lr);
  PLAB_CUDA_LAUNCHED("setStepInputsKernel");
  PLAB_CUDA(cudaGraphLaunch(c->exec(), stream()));
  finishStep(st);
}

}  // namespace plab::cuda
