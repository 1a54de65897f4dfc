// Network's value capture for the shadow pass (docs/architecture.md, "Shadow statistics").
#include <vector>

#include "model/network.h"

namespace plab {

void Network::appendHostValues(const Tensor& t, std::vector<float>& out) {
  const Tensor* logical = &t;
  if (t.layout() != MemoryLayout::nchw) {  // compare element by element in one order
    if (!captureCopy_.defined() || !(captureCopy_.shape() == t.shape()) || captureCopy_.precision() != t.precision())
      captureCopy_ = backend_.empty(t.shape(), t.precision());
    if (t.scale()) captureCopy_ = captureCopy_.withFp8ScaleOf(t);
    backend_.toLayout(t, captureCopy_, MemoryLayout::nchw);
    logical = &captureCopy_;
  }
  const std::size_t start = out.size();
  out.resize(start + std::size_t(logical->shape().numel()));
  backend_.download(*logical, out.data() + start);  // exact; fp8 divided by its scale
}

void Network::captureActivation(std::size_t layer, const Tensor& output) {
  if (!captureEnabled_) return;
  CapturedValues c;
  c.layerIndex = std::int32_t(layer);
  c.kind = StatsKind::activation;
  appendHostValues(output, c.values);
  captured_.push_back(std::move(c));
}

void Network::captureGradients(std::size_t layer, const Tensor* inputGradient) {
  if (!captureEnabled_) return;
  CapturedValues c;
  c.layerIndex = std::int32_t(layer);
  c.kind = StatsKind::gradient;
  if (inputGradient) appendHostValues(*inputGradient, c.values);
  for (std::size_t p = 0; p < params_.size(); ++p)
    if (paramLayer_[p] == int(layer)) appendHostValues(params_[p].grad, c.values);
  captured_.push_back(std::move(c));
}

std::vector<Network::CapturedValues> Network::takeCaptured() {
  std::vector<CapturedValues> out = std::move(captured_);
  captured_.clear();
  return out;
}

}  // namespace plab
