#include "train/training_step.h"

#include <algorithm>
#include <vector>

namespace plab {

Shape batchShape(std::int64_t n, const Shape& sample) {
  std::vector<std::int64_t> dims{n};
  dims.insert(dims.end(), sample.dims.begin(), sample.dims.end());
  return Shape(std::move(dims));
}

// Labels are [N] class indices; regression targets have the prediction's shape.
Shape targetShape(std::int64_t n, const Dataset& data) {
  if (data.isClassification()) return Shape{n};
  return Shape{n, data.targetSize};
}

double medianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + mid));
  return m;
}

StepBuffers makeStepBuffers(Backend& backend, const Dataset& data, std::int64_t n) {
  StepBuffers b;
  b.input = backend.empty(batchShape(n, data.sampleShape), Precision::fp32);
  b.target = backend.empty(targetShape(n, data), Precision::fp32);
  return b;
}

void runTrainingStep(Network& network, Backend& backend, StepState& state, StepBuffers& buffers,
                     LossKind loss, const OptimizerHyper& hyper, std::int64_t step) {
  const Tensor& out = network.forward(buffers.input, true, step);
  if (!buffers.dOutput.defined() || buffers.dOutput.shape() != out.shape())
    buffers.dOutput = backend.empty(out.shape(), network.outputGradPrecision());
  if (loss == LossKind::cross_entropy)
    backend.softmaxCrossEntropy(out, buffers.target, state, buffers.dOutput);
  else
    backend.meanSquaredError(out, buffers.target, state, buffers.dOutput);
  network.backward(buffers.dOutput);
  const std::vector<Tensor> grads = network.gradientsInBackwardOrder();
  backend.checkGradients(grads, state);
  backend.optimizerStep(hyper, network.parameters(), state);
  backend.updateLossScale(state, step);
}

}  // namespace plab
