#include "model/layers/factory.h"

#include <stdexcept>

namespace plab::detail {

std::vector<float> uniformInit(std::int64_t count, float bound, SplitMix64& rng) {
  std::vector<float> values(static_cast<std::size_t>(count));
  for (auto& v : values) v = rng.symmetric(bound);
  return values;
}

std::unique_ptr<Layer> makeLayer(const LayerBuild& b) {
  switch (b.spec.type) {
    case LayerType::linear: return makeLinear(b);
    case LayerType::conv2d: return makeConv2d(b);
    case LayerType::maxpool2d:
    case LayerType::avgpool2d: return makePool2d(b);
    case LayerType::flatten: return makeFlatten(b);
    PLAB_ACTIVATION_LAYER_CASES return makeActivation(b);
    case LayerType::dropout: return makeDropout(b);
    case LayerType::batchnorm1d:
    case LayerType::batchnorm2d: return makeBatchNorm(b);
  }
  throw std::logic_error("makeLayer: layer type " + std::string(toString(b.spec.type)) +
                         " has no implementation");
}

}  // namespace plab::detail
