#pragma once
// The built-in datasets generated from a seed (docs/architecture.md, "Datasets").
//
//   set      input        classes (default)   what it is; `noise` is the std. dev. of the
//                                              Gaussian added to every coordinate/pixel
//   spirals  2-D point    2..10 (2)           arms of 1.5 turns from the centre to radius 1
//   moons    2-D point    2                   two interleaving half circles, centred
//   circles  2-D point    2                   radius 1 (class 0) around radius 0.5 (class 1)
//   xor      2-D point    2                   uniform in [-1,1]^2; class 0 where x and y share a sign
//   blobs    2-D point    2..10 (3)           Gaussian blobs centred evenly on the unit circle
//   sine     scalar       regression          x uniform in [-pi, pi], target sin(x)
//   shapes   1 x S x S    2..6 (4)            square, disc, triangle, plus, ring, cross of
//                                              random size, place and brightness (S = image_size)
//
// Classes cycle 0, 1, ..., K-1 so that each has the same share. Train and test come
// from independent streams, so test_size does not change the training set.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace plab::data {

struct SyntheticParams {
  std::int64_t trainSize = 2000;
  std::int64_t testSize = 500;
  double noise = 0.1;
  std::int32_t classes = 0;     // 0: the set's default
  std::int32_t imageSize = 16;  // shapes only
};

// Names of the generated sets, in the order the GUI lists them.
const std::vector<std::string>& syntheticNames();
bool isSyntheticName(const std::string& name);
// Default and allowed class counts of a set (min == max for fixed sets).
struct ClassRange {
  std::int32_t defaultCount, min, max;
};
ClassRange classRange(const std::string& name);

// Generates train and test from independent streams derived from seed: the same
// (name, params, seed) gives the same floats on every run.
Dataset makeSynthetic(const std::string& name, const SyntheticParams& params, std::uint64_t seed);

}  // namespace plab::data
