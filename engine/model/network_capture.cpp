// Network's value capture for the shadow pass (docs/architecture.md, "Shadow statistics"):
// handles on the tensors a statistics record describes, measured later where they live
// (Backend::measureShadow), so that capture costs no copy and no sync.
#include <vector>

#include "model/network.h"

namespace plab {

void Network::captureActivation(std::size_t layer, const Tensor& output) {
  if (!captureEnabled_) return;
  CapturedTensors c;
  c.layerIndex = std::int32_t(layer);
  c.kind = StatsKind::activation;
  c.format = layers_[layer]->forwardFormat();
  c.tensors.push_back(output);
  captured_.push_back(std::move(c));
}

void Network::captureGradients(std::size_t layer, const Tensor* inputGradient) {
  if (!captureEnabled_) return;
  CapturedTensors c;
  c.layerIndex = std::int32_t(layer);
  c.kind = StatsKind::gradient;
  c.format = layers_[layer]->gradFormat();
  if (inputGradient) c.tensors.push_back(*inputGradient);
  for (std::size_t p = 0; p < params_.size(); ++p)
    if (paramLayer_[p] == int(layer)) c.tensors.push_back(params_[p].grad);
  captured_.push_back(std::move(c));
}

std::vector<Network::CapturedTensors> Network::takeCaptured() {
  std::vector<CapturedTensors> out = std::move(captured_);
  captured_.clear();
  return out;
}

}  // namespace plab
