#pragma once
// The backend conformance suite: every op in every format on random (never
// all-zero) inputs, checked against a naive host reference that applies the same
// rounding points (double or fp32 arithmetic, then one rounding into the output
// format). Each check states its tolerance. Used by `precisionlab-cli selftest` and
// by the Qt Test suite tests/backend/tst_backend_conformance.
//
// Tolerances (see conformance_check.h for the exact definitions):
// - exact:  bit-identical (conversions everywhere; elementwise ops on the CPU).
// - ulps:   |got - want| <= k units in the last place of the output format.
// - sum:    |got - want| <= 1 ulp(format, want) + rel * sum|terms| per element, at most
//           a given share of elements differing from the reference at all, and
//           every value representable in the output format (products, reductions).
#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace plab {

struct ConformanceResult {
  std::string op;         // "gemm NT", "activation gelu forward"
  std::string format;     // "fp16"
  std::string shape;      // "[64, 300] x [300, 96]"
  double maxError = 0;    // in the unit of the tolerance (see `tolerance`)
  double limit = 0;       // pass when maxError <= limit (and the side conditions hold)
  std::string tolerance;  // the rule in words, e.g. "<= 1 ulp + 1e-05*sum|terms|, mismatches <= 5%"
  bool pass = false;
  std::string detail;     // the worst element (index, got, want, bits) or what failed
};

struct ConformanceOptions {
  std::uint64_t seed = 20240601;
  std::string filter;     // only ops whose name contains this ("" = all)
};

std::vector<ConformanceResult> runConformance(Backend& backend, const ConformanceOptions& options = {});

}  // namespace plab
