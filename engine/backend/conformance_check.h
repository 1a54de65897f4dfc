#pragma once
// Comparing a backend's output with the reference, under a stated tolerance.
#include <string>
#include <vector>

#include "backend/conformance.h"
#include "numerics/precision.h"

namespace plab::conformance {

struct Tolerance {
  enum class Kind { exact, ulps, sum } kind = Kind::exact;
  double ulps = 0;                // ulps: allowed distance in output-format ulps
  double relSum = 0;              // sum: per-element allowance relSum * sum|terms|
  double maxMismatchShare = 1.0;  // ulps, sum: share of elements allowed to differ at all
  std::string text() const;
  static Tolerance exact() { return {}; }
  static Tolerance inUlps(double k, double share = 1.0) { return {Kind::ulps, k, 0, share}; }
  static Tolerance summed(double rel, double share) { return {Kind::sum, 0, rel, share}; }
};

// One output of one op. `want` is the reference already rounded into the format;
// `terms` (sum kind) is the sum of |terms| per element. fp8 outputs carry `scale`;
// logical values are stored / scale in fp32, as download() gives them.
struct Outcome {
  std::string op, shape;
  Precision format = Precision::fp32;
  float scale = 1.0f;
  const std::vector<float>* got = nullptr;
  const std::vector<double>* want = nullptr;
  const std::vector<double>* terms = nullptr;
};

ConformanceResult compare(const Outcome& o, const Tolerance& tol);

// The spacing of format p at |v| (fp8: of the stored value v * scale, divided back).
double ulpAt(Precision p, double v, float scale = 1.0f);
// The reference's one rounding: round_p(float(v) * scale) / scale (the division in fp32).
double roundRef(Precision p, double v, float scale = 1.0f);
std::vector<double> roundRef(Precision p, const std::vector<double>& v, float scale = 1.0f);

}  // namespace plab::conformance
