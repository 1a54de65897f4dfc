#pragma once
// One factory per layer family (each in its own .cpp), and makeLayer that picks one.
#include <memory>

#include "model/layers/layer.h"
#include "model/rng.h"

namespace plab::detail {

struct LayerBuild {
  const LayerSpec& spec;
  Shape inputShape;    // one sample
  Shape outputShape;   // one sample
  Precision forwardFormat;
  Precision gradFormat;
  Backend& backend;
  std::uint64_t seed;  // this layer's own seed (initialisation, dropout masks)
};

std::unique_ptr<Layer> makeLinear(const LayerBuild& b);
std::unique_ptr<Layer> makeConv2d(const LayerBuild& b);
std::unique_ptr<Layer> makePool2d(const LayerBuild& b);
std::unique_ptr<Layer> makeFlatten(const LayerBuild& b);
std::unique_ptr<Layer> makeActivation(const LayerBuild& b);
std::unique_ptr<Layer> makeDropout(const LayerBuild& b);
std::unique_ptr<Layer> makeBatchNorm(const LayerBuild& b);
std::unique_ptr<Layer> makeLayer(const LayerBuild& b);

// PyTorch's default init for Linear and Conv2d (kaiming_uniform_ with a = sqrt(5),
// which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the
// bias), times the layer's init_gain. Drawn from SplitMix64(seed).
std::vector<float> uniformInit(std::int64_t count, float bound, SplitMix64& rng);

}  // namespace plab::detail
