#include "data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "data/random.h"

namespace plab::data {
namespace {

constexpr double kPi = std::numbers::pi;

// One generator writes `count` examples (inputs and targets) drawn from rng.
using Generator = std::function<void(Rng&, std::int64_t count, const SyntheticParams&,
                                     std::vector<float>& x, std::vector<float>& y)>;

// Adds (px, py) plus Gaussian noise. The two draws are separate statements on purpose:
// the order in which function arguments are evaluated is unspecified in C++, so
// f(rng.normal(), rng.normal()) would give other datasets with another compiler.
void pushNoisyPoint(std::vector<float>& x, Rng& rng, double noise, double px, double py) {
  const double nx = noise * rng.normal();
  const double ny = noise * rng.normal();
  x.push_back(float(px + nx));
  x.push_back(float(py + ny));
}

// Labels cycle 0, 1, ..., K-1 so that every class has the same share; the batch
// iterator shuffles the order.
void spirals(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
             std::vector<float>& y) {
  const int k = p.classes;
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % k);
    const double t = rng.uniform();                              // position along the arm
    const double angle = label * 2 * kPi / k + t * 1.5 * 2 * kPi;  // one and a half turns
    const double radius = 0.05 + 0.95 * t;
    pushNoisyPoint(x, rng, p.noise, radius * std::cos(angle), radius * std::sin(angle));
    y.push_back(float(label));
  }
}

// Two interleaving half circles, centred on the origin (as scikit-learn's make_moons, shifted).
void moons(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
           std::vector<float>& y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % 2);
    const double a = rng.uniform(0, kPi);
    const double px = label == 0 ? std::cos(a) : 1 - std::cos(a);
    const double py = label == 0 ? std::sin(a) : 0.5 - std::sin(a);
    pushNoisyPoint(x, rng, p.noise, px - 0.5, py - 0.25);
    y.push_back(float(label));
  }
}

// Class 0 on a circle of radius 1, class 1 on a circle of radius 0.5.
void circles(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
             std::vector<float>& y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % 2);
    const double a = rng.uniform(0, 2 * kPi);
    const double radius = label == 0 ? 1.0 : 0.5;
    pushNoisyPoint(x, rng, p.noise, radius * std::cos(a), radius * std::sin(a));
    y.push_back(float(label));
  }
}

// Points in [-1, 1]^2; class 0 where both coordinates have the same sign. The label
// is drawn first (cycling, so the classes are balanced) and the quadrant follows from
// it; the noise is added afterwards, so it blurs the boundary.
void xorSet(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
            std::vector<float>& y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % 2);
    const double signX = rng.uniform() < 0.5 ? -1.0 : 1.0;
    const double signY = label == 0 ? signX : -signX;
    const double px = signX * rng.uniform();
    const double py = signY * rng.uniform();
    pushNoisyPoint(x, rng, p.noise, px, py);
    y.push_back(float(label));
  }
}

// K Gaussian blobs with standard deviation `noise`, centres evenly on the unit circle.
void blobs(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
           std::vector<float>& y) {
  const int k = p.classes;
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % k);
    const double a = label * 2 * kPi / k;
    pushNoisyPoint(x, rng, p.noise, std::cos(a), std::sin(a));
    y.push_back(float(label));
  }
}

// Regression: x uniform in [-pi, pi], target sin(x) plus noise.
void sine(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
          std::vector<float>& y) {
  for (std::int64_t i = 0; i < count; ++i) {
    const double v = rng.uniform(-kPi, kPi);
    x.push_back(float(v));
    y.push_back(float(std::sin(v) + p.noise * rng.normal()));
  }
}

// ---- shapes: 1 x S x S images of simple figures --------------------------------

const std::vector<std::string> kShapeNames = {"square", "disc", "triangle", "plus", "ring", "cross"};

// Whether pixel offset (dx, dy) from the figure's centre is inside figure `kind`
// of half-size h and stroke t. y grows downwards, so the triangle points up.
bool insideShape(int kind, double dx, double dy, double h, double t) {
  const double ax = std::abs(dx), ay = std::abs(dy);
  const double r = std::sqrt(dx * dx + dy * dy);
  switch (kind) {
    case 0: return ax <= h && ay <= h;
    case 1: return r <= h;
    case 2: return dy >= -h && dy <= h && ax <= (dy + h) / 2;
    case 3: return (ax <= h && ay <= t) || (ay <= h && ax <= t);
    case 4: return r <= h && r >= h - 1.5 * t;
    default: return std::abs(ax - ay) <= t && std::max(ax, ay) <= h;
  }
}

void shapes(Rng& rng, std::int64_t count, const SyntheticParams& p, std::vector<float>& x,
            std::vector<float>& y) {
  const int size = p.imageSize;
  for (std::int64_t i = 0; i < count; ++i) {
    const int label = int(i % p.classes);
    const double half = rng.uniform(size / 5.0, size / 3.0);
    const double stroke = std::max(0.75, half / 4);
    // Centre chosen so that the whole figure stays on the canvas.
    const double cx = rng.uniform(half, size - 1 - half);
    const double cy = rng.uniform(half, size - 1 - half);
    const double brightness = rng.uniform(0.6, 1.0);
    for (int row = 0; row < size; ++row) {
      for (int col = 0; col < size; ++col) {
        const double ink = insideShape(label, col - cx, row - cy, half, stroke) ? brightness : 0.0;
        x.push_back(float(ink + p.noise * rng.normal()));
      }
    }
    y.push_back(float(label));
  }
}

struct SetInfo {
  std::string name;
  Generator generate;
  ClassRange classes;  // {0,0,0}: regression
};

const std::vector<SetInfo>& sets() {
  static const std::vector<SetInfo> all = {
      {"spirals", spirals, {2, 2, 10}}, {"moons", moons, {2, 2, 2}},
      {"circles", circles, {2, 2, 2}},  {"xor", xorSet, {2, 2, 2}},
      {"blobs", blobs, {3, 2, 10}},     {"sine", sine, {0, 0, 0}},
      {"shapes", shapes, {4, 2, 6}},
  };
  return all;
}

const SetInfo& findSet(const std::string& name) {
  for (const auto& s : sets())
    if (s.name == name) return s;
  throw DatasetError("dataset.name: \"" + name + "\" is not a synthetic set");
}

std::vector<std::string> classNamesFor(const std::string& name, int classes) {
  if (name == "shapes") return {kShapeNames.begin(), kShapeNames.begin() + classes};
  if (name == "moons") return {"upper moon", "lower moon"};
  if (name == "circles") return {"outer circle", "inner circle"};
  if (name == "xor") return {"same sign", "opposite sign"};
  std::vector<std::string> names;
  const std::string prefix = name == "spirals" ? "arm " : "blob ";
  for (int c = 0; c < classes; ++c) names.push_back(prefix + std::to_string(c));
  return names;
}

}  // namespace

const std::vector<std::string>& syntheticNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& s : sets()) n.push_back(s.name);
    return n;
  }();
  return names;
}

bool isSyntheticName(const std::string& name) {
  const auto& n = syntheticNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

ClassRange classRange(const std::string& name) { return findSet(name).classes; }

Dataset makeSynthetic(const std::string& name, const SyntheticParams& params, std::uint64_t seed) {
  const SetInfo& set = findSet(name);
  SyntheticParams p = params;
  if (p.classes == 0) p.classes = set.classes.defaultCount;

  Dataset d;
  d.name = name;
  d.numClasses = p.classes;
  d.targetSize = 1;
  if (name == "shapes") {
    d.sampleShape = Shape{1, p.imageSize, p.imageSize};
  } else if (name == "sine") {
    d.sampleShape = Shape{1};
  } else {
    d.sampleShape = Shape{2};
  }
  if (d.isClassification()) d.classNames = classNamesFor(name, p.classes);
  d.trainCount = p.trainSize;
  d.testCount = p.testSize;

  // Independent streams: changing test_size does not change the training set.
  Rng trainRng(deriveSeed(seed, 1)), testRng(deriveSeed(seed, 2));
  d.trainX.reserve(std::size_t(p.trainSize * d.sampleSize()));
  d.testX.reserve(std::size_t(p.testSize * d.sampleSize()));
  set.generate(trainRng, p.trainSize, p, d.trainX, d.trainY);
  set.generate(testRng, p.testSize, p, d.testX, d.testY);
  return d;
}

}  // namespace plab::data
