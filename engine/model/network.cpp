// Network: builds the layers of a NetworkSpec on a Backend, owns the parameters, and
// runs forward and backward with the format conversions between layers.
#include "model/network.h"

#include <new>
#include <stdexcept>

#include "model/layers/factory.h"
#include "model/rng.h"

namespace plab {

using detail::Layer;

namespace {

constexpr std::uint64_t kSeedPurposeLayer = 0;   // dropout masks
constexpr std::uint64_t kSeedPurposeInit = 1;    // weight initialisation
constexpr std::uint64_t kSeedPurposeUpdate = 2;  // stochastic rounding of weight updates


// A layer that accumulates its products in its own format needs a format where that
// means something and a backend that can (docs/architecture.md, "Accumulation"):
// checked before anything runs, naming the key.
void checkAccumulation(const LayerSpec& layer, std::size_t i, const Backend& backend) {
  const bool weighted = layer.type == LayerType::linear || layer.type == LayerType::conv2d;
  if (!weighted || layer.accumulate != Accumulation::layer) return;
  const std::string key = "network.layers[" + std::to_string(i) + "].accumulate";
  if (!canAccumulateIn(layer.precision)) {
    throw std::invalid_argument(key + ": \"layer\" needs a fp16 or bf16 layer (this one is " +
                                std::string(toString(layer.precision)) + ")");
  }
  const auto kind = layer.type == LayerType::conv2d ? Backend::ProductKind::convolution : Backend::ProductKind::matrix;
  std::string whyNot;
  if (!backend.supportsAccumulation(layer.precision, kind, whyNot)) throw std::invalid_argument(key + ": " + whyNot);
}

// A layer's format must be one its backend runs, and a block-scaled one needs products
// that quantise their inputs (linear): checked before anything is allocated, naming the
// key (the experiment reader checks the same; this also covers networks built in code).
void checkPrecision(const LayerSpec& layer, std::size_t i, const Backend& backend) {
  const std::string key = "network.layers[" + std::to_string(i) + "].precision: ";
  std::string whyNot;
  if (!backend.supportsPrecision(layer.precision, whyNot)) throw std::invalid_argument(key + whyNot);
  if (isBlockScaled(layer.precision) && layer.type == LayerType::conv2d) {
    throw std::invalid_argument(key + std::string(toString(layer.precision)) +
                                " is block-scaled, and conv2d layers have no block-scaled products yet");
  }
}

// Stochastic rounding needs a backend that does it in the weight update.
void checkRounding(const LayerSpec& layer, std::size_t i, const Backend& backend) {
  if (layer.rounding != Rounding::stochastic) return;
  std::string whyNot;
  if (!backend.supportsStochasticRounding(whyNot)) {
    throw std::invalid_argument("network.layers[" + std::to_string(i) + "].rounding: " + whyNot);
  }
}

}  // namespace

Network::Network(const NetworkSpec& spec, const Shape& sampleShape, Backend& backend,
                 std::uint64_t seed, bool masterWeights, const Fp8Settings& fp8)
    : backend_(backend), seed_(seed), masterWeights_(masterWeights), loss_(spec.loss), fp8_(fp8) {
  shapes_ = inferShapes(spec, sampleShape);
  sampleShape_ = sampleShape;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const Precision p = spec.layers[i].precision;
    checkPrecision(spec.layers[i], i, backend);
    checkAccumulation(spec.layers[i], i, backend);
    checkRounding(spec.layers[i], i, backend);
    detail::LayerBuild build{spec.layers[i], shapes_[i].inputShape, shapes_[i].outputShape,
                             forwardFormatOf(p, fp8), gradFormatOf(p, fp8), backend,
                             detail::deriveSeed(seed, i, kSeedPurposeLayer)};
    try {
      layers_.push_back(detail::makeLayer(build));
    } catch (const std::bad_alloc&) {
      failAllocation(i, "the layer's buffers");
    }
  }
  createParameters(seed, masterWeights);
  createConversionBuffers();
  collectFp8Tensors();
  forwardMsSum_.assign(layers_.size(), 0.0);
  backwardMsSum_.assign(layers_.size(), 0.0);
  forwardCalls_.assign(layers_.size(), 0);
  backwardCalls_.assign(layers_.size(), 0);
  timer_ = backend.createTimer();
}

Network::~Network() = default;

void Network::createParameters(std::uint64_t seed, bool masterWeights) {
  std::vector<std::vector<detail::ParamDecl>> declared;
  std::size_t total = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    try {
      declared.push_back(layers_[i]->declareParameters(detail::deriveSeed(seed, i, kSeedPurposeInit)));
    } catch (const std::bad_alloc&) {
      failAllocation(i, "the initial values of its parameters");
    }
    total += declared.back().size();
  }
  // Layers keep pointers into params_: it must never reallocate after this.
  params_.reserve(total);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layerFirstParam_.push_back(int(params_.size()));
    for (const auto& decl : declared[i]) {
      try {
        params_.push_back(createSlot("layers[" + std::to_string(i) + "]." + decl.suffix, decl, masterWeights));
        ParamSlot& slot = params_.back();
        slot.rounding = layers_[i]->spec().rounding;
        slot.roundingSeed = detail::deriveSeed(seed, i, kSeedPurposeUpdate) ^ (params_.size() * 0xD1B54A32D192ED03ull);
      } catch (const std::bad_alloc&) {
        failAllocation(i, "its " + decl.suffix + " " + decl.shape.toString() + " (working copy, gradient" +
                              (masterWeights ? ", fp32 master copy)" : ")"));
      }
      paramLayer_.push_back(int(i));
    }
    if (!declared[i].empty()) layers_[i]->bindParameters(&params_[layerFirstParam_[i]]);
  }
}

ParamSlot Network::createSlot(const std::string& name, const detail::ParamDecl& decl, bool masterWeights) {
  ParamSlot slot;
  slot.name = name;
  if (masterWeights) {
    slot.master = backend_.empty(decl.shape, Precision::fp32);
    backend_.upload(decl.init.data(), slot.master);
  }
  slot.working = backend_.empty(decl.shape, decl.working);
  backend_.upload(decl.init.data(), slot.working);
  if (isFp8(decl.working) && fp8_.scaling == Fp8Scaling::delayed) {
    // The first upload recorded the weights' amax; derive their scale from it and
    // quantise again, so that the first step does not run on scale 1.
    std::vector<Tensor> one{slot.working};
    backend_.updateFp8Scales(one, fp8_.history, fp8_.margin);
    backend_.upload(decl.init.data(), slot.working);
  }
  slot.grad = backend_.zeros(decl.shape, decl.grad);
  return slot;
}

void Network::createConversionBuffers() {
  inputCopies_.resize(layers_.size());
  gradCopies_.resize(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    inputCopies_[i].init(backend_, layers_[i]->forwardFormat());
    gradCopies_[i].init(backend_, layers_[i]->gradFormat());
  }
}

// Copies values into a tensor of another format, whatever memory order each is in
// (a CUDA conv weight may be channels-last): convert keeps the source's order.
void Network::copyValues(const Tensor& from, Tensor& to) {
  if (from.layout() == to.layout()) {
    backend_.convert(from, to);
    return;
  }
  Tensor wide = backend_.empty(from.shape(), Precision::fp32);
  backend_.convert(from, wide);
  if (to.precision() == Precision::fp32) {
    backend_.toLayout(wide, to, to.layout());
    return;
  }
  Tensor ordered = backend_.empty(from.shape(), Precision::fp32);
  backend_.toLayout(wide, ordered, to.layout());
  backend_.convert(ordered, to);
}

NetworkSpec Network::currentSpec() const {
  NetworkSpec spec;
  spec.loss = loss_;
  for (const auto& layer : layers_) spec.layers.push_back(layer->spec());
  return spec;
}

void Network::promoteLayer(std::size_t i, Precision to) {
  if (i >= layers_.size()) throw std::invalid_argument("promoteLayer: no layer " + std::to_string(i));
  const LayerType type = layers_[i]->spec().type;
  if (type == LayerType::batchnorm1d || type == LayerType::batchnorm2d) {
    throw std::invalid_argument(shapes_[i].name + ": batch norm layers keep their format (their running "
                                "statistics and parameters are fp32 already)");
  }
  LayerSpec spec = layers_[i]->spec();
  spec.precision = to;
  // What the new format cannot do falls back to the default (the layer's old settings
  // were checked for its old format).
  if (spec.rounding == Rounding::stochastic && (to == Precision::fp32 || isFp8(to))) spec.rounding = Rounding::nearest;
  if (spec.accumulate == Accumulation::layer && !canAccumulateIn(to)) spec.accumulate = Accumulation::fp32;
  if (!isBlockScaled(to)) {
    spec.blockScaling = BlockScaling::blocks1d;
    spec.blockBackward = true;
  }
  checkPrecision(spec, i, backend_);
  checkAccumulation(spec, i, backend_);
  checkRounding(spec, i, backend_);

  const detail::LayerBuild build{spec, shapes_[i].inputShape, shapes_[i].outputShape, forwardFormatOf(to, fp8_),
                                 gradFormatOf(to, fp8_), backend_,
                                 detail::deriveSeed(seed_, i, kSeedPurposeLayer)};
  std::unique_ptr<Layer> layer;
  std::vector<detail::ParamDecl> declared;
  try {
    layer = detail::makeLayer(build);
    declared = layer->declareParameters(detail::deriveSeed(seed_, i, kSeedPurposeInit));
  } catch (const std::bad_alloc&) {
    failAllocation(i, "the layer's buffers in " + std::string(toString(to)));
  }
  const std::size_t first = declared.empty() ? 0 : std::size_t(layerFirstParam_[i]);
  for (std::size_t k = 0; k < declared.size(); ++k) {
    ParamSlot& old = params_[first + k];
    ParamSlot fresh;
    try {
      fresh = createSlot(old.name, declared[k], masterWeights_);
    } catch (const std::bad_alloc&) {
      failAllocation(i, "its " + declared[k].suffix + " in " + std::string(toString(to)));
    }
    // The values the layer has learnt: the fp32 master copy when there is one (exact),
    // else the working copy, widened or rounded into the new format.
    const Tensor& source = old.master.defined() ? old.master : old.working;
    if (fresh.master.defined()) copyValues(old.master, fresh.master);
    copyValues(source, fresh.working);
    fresh.state1 = old.state1;
    fresh.state2 = old.state2;
    fresh.rounding = spec.rounding;
    fresh.roundingSeed = old.roundingSeed;
    old = std::move(fresh);  // same address: the layer binds to params_ in place
  }
  if (!declared.empty()) layer->bindParameters(&params_[first]);
  layers_[i] = std::move(layer);

  shapes_ = inferShapes(currentSpec(), sampleShape_);
  inputCopies_[i] = detail::Buffer();
  inputCopies_[i].init(backend_, layers_[i]->forwardFormat());
  gradCopies_[i] = detail::Buffer();
  gradCopies_[i].init(backend_, layers_[i]->gradFormat());
  fp8Tensors_.clear();
  collectFp8Tensors();
  lastOutput_ = Tensor();
  inputGradient_ = Tensor();
}

void Network::collectFp8Tensors() {
  std::vector<Tensor> candidates;
  for (const auto& layer : layers_) layer->collectFp8Tensors(candidates);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    candidates.push_back(inputCopies_[i].scaleOwner());
    candidates.push_back(gradCopies_[i].scaleOwner());
  }
  for (const auto& t : candidates) {
    if (t.defined() && isFp8(t.precision())) fp8Tensors_.push_back(t);
  }
}

void Network::allocateOptimizerState(OptimizerKind kind) {
  for (std::size_t k = 0; k < params_.size(); ++k) {
    ParamSlot& slot = params_[k];
    try {
      slot.state1 = backend_.zeros(slot.working.shape(), Precision::fp32);
      if (kind == OptimizerKind::adam || kind == OptimizerKind::adamw) {
        slot.state2 = backend_.zeros(slot.working.shape(), Precision::fp32);
      } else {
        slot.state2 = Tensor();
      }
    } catch (const std::bad_alloc&) {
      failAllocation(std::size_t(paramLayer_[k]), "the optimizer state of " + slot.name + " " +
                                                      slot.working.shape().toString() + " (fp32)");
    }
  }
}

MemoryUse Network::memoryUse(std::int32_t batchSize) const {
  const auto bytes = [](const Tensor& t) {
    return t.defined() ? std::int64_t(tensorBytes(t.precision(), t.numel())) : std::int64_t(0);
  };
  MemoryUse m;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const ParamSlot& slot = params_[k];
    // A block-scaled layer's weights count in its format, scales included (what the
    // format stores; the emulation keeps bf16, docs/architecture.md).
    const Precision layerFormat = shapes_[std::size_t(paramLayer_[k])].precision;
    const bool blockWeights = isBlockScaled(layerFormat) && !isFp8(slot.working.precision()) &&
                              slot.working.precision() != Precision::fp32;
    m.weights += blockWeights ? std::int64_t(tensorBytes(layerFormat, slot.working.numel())) : bytes(slot.working);
    m.masterWeights += bytes(slot.master);
    m.gradients += bytes(slot.grad);
    m.optimizerState += bytes(slot.state1) + bytes(slot.state2);
  }
  for (const LayerShapeInfo& layer : shapes_) m.activations += layer.activationBytesPerSample * batchSize;
  return m;
}

std::int64_t Network::parameterCount() const {
  std::int64_t n = 0;
  for (const auto& slot : params_) n += slot.working.numel();
  return n;
}

std::vector<Tensor> Network::gradientsInBackwardOrder() const {
  std::vector<Tensor> grads;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    for (std::size_t p = 0; p < params_.size(); ++p) {
      if (paramLayer_[p] == int(i)) grads.push_back(params_[p].grad);
    }
  }
  return grads;
}

std::vector<std::string> Network::gradientLayerNamesInBackwardOrder() const {
  std::vector<std::string> names;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    for (std::size_t p = 0; p < params_.size(); ++p) {
      if (paramLayer_[p] == int(i)) names.push_back(shapes_[i].name);
    }
  }
  return names;
}

std::vector<std::string> Network::layerNames() const {
  std::vector<std::string> names;
  for (const auto& s : shapes_) names.push_back(s.name);
  return names;
}

Precision Network::outputPrecision() const { return layers_.back()->forwardFormat(); }
Precision Network::outputGradPrecision() const {
  const Precision p = layers_.back()->gradFormat();
  return isFp8(p) ? Precision::fp32 : p;
}

}  // namespace plab
