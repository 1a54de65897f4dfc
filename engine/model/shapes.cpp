// Shape inference: what each layer makes of one sample, before anything is allocated.
// The GUI calls it on every edit (inline errors, the diagram); Network builds on it.
#include <cstdio>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "data/dataset.h"
#include "model/network.h"

namespace plab {
namespace {

[[noreturn]] void mismatch(int index, const std::string& name, const std::string& what) {
  throw ShapeError(index, name + ": " + what);
}

std::string str(const Shape& s) { return s.toString(); }

// 2^53: far beyond any memory, and still exact as a double. Counts past it are refused
// before they are multiplied out in 64-bit integers, which a legal but enormous layer
// (kernel, padding and channels at their maxima) would overflow.
constexpr double kMaxElements = 9007199254740992.0;

// The product of `factors`, or a ShapeError naming the layer when it passes kMaxElements.
std::int64_t checkedCount(int index, const std::string& name, std::initializer_list<std::int64_t> factors,
                          const std::string& what) {
  double product = 1;
  for (const std::int64_t f : factors) product *= double(f);
  if (product > kMaxElements) {
    char figure[32];
    std::snprintf(figure, sizeof figure, "%.3g", product);
    mismatch(index, name, what + " would hold " + figure + " values, more than 2^53 (no machine has the memory)");
  }
  std::int64_t count = 1;
  for (const std::int64_t f : factors) count *= f;
  return count;
}

// The shape, once its element count is known to be representable.
Shape checkedShape(int index, const std::string& name, Shape shape) {
  double product = 1;
  for (const std::int64_t d : shape.dims) product *= double(d);
  if (product > kMaxElements) {
    char figure[32];
    std::snprintf(figure, sizeof figure, "%.3g", product);
    mismatch(index, name, "output " + str(shape) + " would hold " + figure +
                              " values per sample, more than 2^53 (no machine has the memory)");
  }
  return shape;
}

// (size + 2 pad - kernel) / stride + 1, or an error when the window does not fit.
std::int64_t windowOutput(int index, const std::string& name, const Shape& in, std::int64_t size,
                          const LayerSpec& s) {
  const std::int64_t padded = size + 2 * std::int64_t(s.padding);
  if (padded < s.kernel) {
    mismatch(index, name, "kernel " + std::to_string(s.kernel) + " is larger than the input " +
                              str(in) + " with padding " + std::to_string(s.padding));
  }
  return (padded - s.kernel) / s.stride + 1;
}

void requireImage(int index, const std::string& name, const Shape& in) {
  if (in.rank() == 3) return;
  // The first layer reads the dataset's samples: flat there means points, not images.
  const std::string hint = in.rank() != 1 ? ""
                           : index == 0 ? "; this dataset's samples are flat vectors, not images (conv2d needs an image "
                                          "dataset: shapes, mnist, fashion-mnist)"
                                        : "; it needs images, not flat vectors (put it before any flatten)";
  mismatch(index, name, "expects input [channels, height, width], got " + str(in) + hint);
}

struct LayerOutput {
  Shape shape;
  std::int64_t parameters = 0;
};

LayerOutput inferLayer(int index, const std::string& name, const LayerSpec& s, const Shape& in) {
  switch (s.type) {
    case LayerType::linear:
      if (in.rank() != 1) {
        mismatch(index, name, "expects input [" + std::to_string(in.numel()) + "] (flattened), got " +
                                  str(in) + "; add a flatten layer");
      }
      return {Shape{s.out}, checkedCount(index, name, {in[0], s.out}, "the weight") + (s.bias ? s.out : 0)};
    case LayerType::conv2d: {
      requireImage(index, name, in);
      const std::int64_t h = windowOutput(index, name, in, in[1], s);
      const std::int64_t w = windowOutput(index, name, in, in[2], s);
      const std::int64_t weights = checkedCount(index, name, {s.out, in[0], s.kernel, s.kernel}, "the weight");
      return {checkedShape(index, name, Shape{s.out, h, w}), weights + (s.bias ? s.out : 0)};
    }
    case LayerType::maxpool2d:
    case LayerType::avgpool2d: {
      requireImage(index, name, in);
      return {checkedShape(index, name,
                           Shape{in[0], windowOutput(index, name, in, in[1], s), windowOutput(index, name, in, in[2], s)}),
              0};
    }
    case LayerType::flatten:
      if (in.rank() < 1) mismatch(index, name, "expects a sample with at least one dimension, got " + str(in));
      return {Shape{in.numel()}, 0};
    case LayerType::batchnorm1d:
      if (in.rank() != 1) {
        mismatch(index, name, "expects input [features], got " + str(in) +
                                  (in.rank() == 3 ? "; use batchnorm2d for images" : ""));
      }
      return {in, 2 * in[0]};
    case LayerType::batchnorm2d:
      if (in.rank() != 3) {
        mismatch(index, name, "expects input [channels, height, width], got " + str(in) +
                                  (in.rank() == 1 ? "; use batchnorm1d for flat features" : ""));
      }
      return {in, 2 * in[0]};
    PLAB_ACTIVATION_LAYER_CASES
    case LayerType::dropout:  // elementwise layers and dropout keep the shape
      return {in, 0};
  }
  throw std::invalid_argument(name + ": unknown layer type value " + std::to_string(static_cast<int>(s.type)));
}

}  // namespace

std::string layerName(int index, LayerType type) {
  return "layers[" + std::to_string(index) + "] " + std::string(toString(type));
}

std::vector<LayerShapeInfo> inferShapes(const NetworkSpec& net, const Shape& sampleShape) {
  std::vector<LayerShapeInfo> infos;
  Shape current = sampleShape;
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    const LayerSpec& spec = net.layers[i];
    LayerShapeInfo info;
    info.index = int(i);
    info.name = layerName(int(i), spec.type);
    info.type = spec.type;
    info.precision = spec.precision;
    info.inputShape = current;
    const LayerOutput out = inferLayer(info.index, info.name, spec, current);
    info.outputShape = out.shape;
    info.parameterCount = out.parameters;
    const bool fp32Params = spec.type == LayerType::batchnorm1d || spec.type == LayerType::batchnorm2d;
    // Storage sizes from the format table (tf32 takes 4 bytes; a block-scaled format
    // would add its block scales).
    info.weightBytes = std::int64_t(tensorBytes(fp32Params ? Precision::fp32 : spec.precision, out.parameters));
    info.activationBytesPerSample = std::int64_t(tensorBytes(spec.precision, out.shape.numel()));
    infos.push_back(info);
    current = out.shape;
  }
  return infos;
}

std::vector<LayerShapeInfo> inferShapesForDataset(const NetworkSpec& net, const Dataset& data) {
  std::vector<LayerShapeInfo> infos = inferShapes(net, data.sampleShape);
  const Shape out = infos.empty() ? data.sampleShape : infos.back().outputShape;
  if (data.isClassification()) {
    if (net.loss != LossKind::cross_entropy) {
      throw ShapeError(-1, "network.loss: dataset " + data.name + " has class labels; use cross_entropy");
    }
    if (!(out == Shape{std::int64_t(data.numClasses)})) {
      throw ShapeError(-1, "network output " + str(out) + " does not fit dataset " + data.name + ": its " +
                               std::to_string(data.numClasses) + " classes need output [" +
                               std::to_string(data.numClasses) + "] (the last linear layer's out)");
    }
  } else {
    if (net.loss != LossKind::mse) {
      throw ShapeError(-1, "network.loss: dataset " + data.name + " has regression targets; use mse");
    }
    if (!(out == Shape{std::int64_t(data.targetSize)})) {
      throw ShapeError(-1, "network output " + str(out) + " does not fit dataset " + data.name +
                               ": its targets need output [" + std::to_string(data.targetSize) + "]");
    }
  }
  return infos;
}

}  // namespace plab
