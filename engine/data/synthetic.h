#pragma once
// The built-in datasets generated from a seed (DESIGN.md, "Datasets").
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
