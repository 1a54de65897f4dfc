#pragma once
// A lesson's claims (docs/lessons.md): machine-readable statements about the runs of
// its sweep, evaluated on the runs just made, so that a class sees the sentence hold:
//   {"claim": "fp16 without scaling ends at least 20 points under fp32",
//    "metric": "test_accuracy", "variant": "fp16, no scaling",
//    "less_than": {"variant": "fp32", "by": 0.20}}
// The right-hand side of a comparison is a number, or {"variant", "metric", "by"}:
// another variant's (default: the same one) value of a metric (default: the same),
// offset by `by` (default 0), after multiplying it by `times` (default 1: "at least 5
// times fp32's value" is {"variant": "fp32", "times": 5}).
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace plab {

// What a claim may measure: the figures of one variant's run, by name
// ("test_accuracy", "overflow_events", "culprit", ...). Names are listed in
// claimMetricNames(); a string value (a layer name) can only be compared for equality.
using MetricValue = std::variant<double, std::string>;
using RunMetrics = std::map<std::string, MetricValue>;

enum class ClaimComparison { less_than, greater_than, within, at_least, at_most, equals };

struct ClaimOperand {
  std::optional<MetricValue> literal;  // a number or a string given in the file
  std::string variant;                 // "" = the claim's own variant
  std::string metric;                  // "" = the claim's own metric
  double by = 0;
  double times = 1;                    // multiplies the other variant's value (not a literal)
};

struct Claim {
  std::string text;                    // the sentence shown to the class
  std::string metric;
  std::string variant;
  ClaimComparison comparison = ClaimComparison::at_least;
  ClaimOperand other;
  // Claims about speed need tensor cores: "cuda" marks them not applicable elsewhere.
  std::string requiresBackend;         // "" or "cuda"
};

enum class ClaimStatus { holds, fails, not_applicable, no_data };
const char* toString(ClaimStatus s);

struct ClaimResult {
  ClaimStatus status = ClaimStatus::no_data;
  std::string measured;                // "fp16, no scaling: test_accuracy 0.5012 < fp32: 0.9612 - 0.2"
};

// The metric names a claim may use, for error messages and docs.
const std::vector<std::string>& claimMetricNames();

// Parses claims[i] of a lesson; `where` is its key path ("lesson.claims[2]") for
// errors, `variantNames` the sweep's variant names (a claim must name one of them).
// Throws SweepError (sweep/sweep.h) naming the key path.
Claim parseClaim(const nlohmann::json& j, const std::string& where, const std::vector<std::string>& variantNames);

// metricsByVariant: each variant's RunMetrics; backend: where the runs ran.
ClaimResult evaluateClaim(const Claim& c, const std::map<std::string, RunMetrics>& metricsByVariant,
                          const std::string& backend);

}  // namespace plab
