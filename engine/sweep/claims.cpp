#include "sweep/claims.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "model/json_reader.h"
#include "sweep/sweep.h"

namespace plab {
namespace {

using detail::quoted;
using nlohmann::json;

struct ComparisonName {
  ClaimComparison comparison;
  const char* key;
  const char* symbol;
};
constexpr ComparisonName kComparisons[] = {
    {ClaimComparison::less_than, "less_than", "<"},   {ClaimComparison::greater_than, "greater_than", ">"},
    {ClaimComparison::within, "within", "within"},    {ClaimComparison::at_least, "at_least", ">="},
    {ClaimComparison::at_most, "at_most", "<="},      {ClaimComparison::equals, "equals", "=="},
};

const ComparisonName& nameOf(ClaimComparison c) {
  for (const ComparisonName& n : kComparisons) {
    if (n.comparison == c) return n;
  }
  return kComparisons[0];
}

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw SweepError(where, where + ": " + message);
}

std::string joined(const std::vector<std::string>& names) { return detail::joinNames(names); }

void requireVariant(const std::string& name, const std::string& where, const std::vector<std::string>& variants) {
  for (const std::string& v : variants) {
    if (v == name) return;
  }
  // A grid may have hundreds of variants: the message lists the first dozen.
  constexpr std::size_t kListed = 12;
  std::vector<std::string> listed(variants.begin(), variants.begin() + std::min(kListed, variants.size()));
  std::string list = joined(listed);
  if (variants.size() > kListed) list += " and " + std::to_string(variants.size() - kListed) + " more";
  fail(where, quoted(json(name)) + " is not a variant of this sweep (" + list + ")");
}

void requireMetric(const std::string& name, const std::string& where) {
  for (const std::string& m : claimMetricNames()) {
    if (m == name) return;
  }
  fail(where, quoted(json(name)) + " is not a metric a claim can use (" + joined(claimMetricNames()) + ")");
}

ClaimOperand parseOperand(const json& j, const std::string& where, const std::vector<std::string>& variants) {
  ClaimOperand o;
  if (j.is_number()) {
    o.literal = j.get<double>();
    return o;
  }
  if (j.is_string()) {
    o.literal = j.get<std::string>();
    return o;
  }
  if (!j.is_object()) fail(where, "expected a number, a string or {\"variant\", \"metric\", \"by\"}, got " + quoted(j));
  detail::ObjectReader r(j, where);
  o.variant = r.string("variant", "");
  if (!o.variant.empty()) requireVariant(o.variant, where + ".variant", variants);
  o.metric = r.string("metric", "");
  if (!o.metric.empty()) requireMetric(o.metric, where + ".metric");
  o.by = r.number("by", 0.0, -1e12, 1e12);
  o.times = r.number("times", 1.0, 0.0, 1e12);
  r.finish();
  return o;
}

std::optional<MetricValue> lookup(const std::map<std::string, RunMetrics>& all, const std::string& variant,
                                  const std::string& metric) {
  const auto v = all.find(variant);
  if (v == all.end()) return std::nullopt;
  const auto m = v->second.find(metric);
  if (m == v->second.end()) return std::nullopt;
  return m->second;
}

std::string shown(const MetricValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", std::get<double>(v));
  return text;
}

}  // namespace

const char* toString(ClaimStatus s) {
  switch (s) {
    case ClaimStatus::holds: return "holds";
    case ClaimStatus::fails: return "fails";
    case ClaimStatus::not_applicable: return "not applicable";
    case ClaimStatus::no_data: return "no data";
  }
  return "?";
}

const std::vector<std::string>& claimMetricNames() {
  static const std::vector<std::string> names = {
      "test_accuracy", "test_loss",   "final_train_loss", "final_loss_scale", "steps",          "skipped_steps",
      "overflow_events", "growth_events", "first_overflow_step", "culprit",  "failed_layer", "median_step_ms",
      "memory_bytes",    "weights_bytes", "activations_bytes",
      "early_gradient_shadow_underflow",
      "product_error_fp64",
      "promotions",      "first_promotion_step", "first_promoted_layer",
  };
  return names;
}

Claim parseClaim(const json& j, const std::string& where, const std::vector<std::string>& variantNames) {
  if (!j.is_object()) fail(where, "expected a claim object, got " + quoted(j));
  detail::ObjectReader r(j, where);
  Claim c;
  c.text = r.requiredString("claim", "the sentence the claim checks");
  c.metric = r.requiredString("metric", "one of " + joined(claimMetricNames()));
  requireMetric(c.metric, where + ".metric");
  c.variant = r.requiredString("variant", "the variant whose run the claim is about");
  requireVariant(c.variant, where + ".variant", variantNames);
  c.requiresBackend = r.choice("requires_backend", "", {"", "cuda"});
  int comparisons = 0;
  for (const ComparisonName& n : kComparisons) {
    if (const json* v = r.find(n.key)) {
      ++comparisons;
      c.comparison = n.comparison;
      c.other = parseOperand(*v, where + "." + n.key, variantNames);
    }
  }
  if (comparisons != 1) {
    fail(where, "a claim needs exactly one of less_than, greater_than, within, at_least, at_most, equals");
  }
  if (c.comparison == ClaimComparison::within && (c.other.literal || c.other.by < 0)) {
    fail(where + ".within", "expected {\"variant\" and/or \"metric\", \"by\": the largest difference}");
  }
  r.finish();
  return c;
}

ClaimResult evaluateClaim(const Claim& c, const std::map<std::string, RunMetrics>& all, const std::string& backend) {
  ClaimResult result;
  if (!c.requiresBackend.empty() && c.requiresBackend != backend) {
    result.status = ClaimStatus::not_applicable;
    result.measured = "needs the " + c.requiresBackend + " backend; the runs used " + backend;
    return result;
  }
  const std::optional<MetricValue> left = lookup(all, c.variant, c.metric);
  std::optional<MetricValue> right = c.other.literal;
  const std::string otherVariant = c.other.variant.empty() ? c.variant : c.other.variant;
  const std::string otherMetric = c.other.metric.empty() ? c.metric : c.other.metric;
  if (!right) right = lookup(all, otherVariant, otherMetric);
  const std::string leftText = c.variant + ": " + c.metric + " " + (left ? shown(*left) : std::string("(none)"));
  const std::string rightText =
      c.other.literal ? shown(*c.other.literal)
                      : (c.other.times != 1 ? shown(c.other.times) + " x " : std::string()) + otherVariant + ": " +
                            otherMetric + " " + (right ? shown(*right) : std::string("(none)"));
  // less_than subtracts `by` ("at least 0.2 under"); within allows it either way;
  // the others add it (a negative `by` reads "at least fp32's value minus 0.02").
  const double offset = c.comparison == ClaimComparison::less_than ? -c.other.by : c.other.by;
  const std::string by = offset == 0 ? ""
                         : c.comparison == ClaimComparison::within ? " (by " + shown(offset) + ")"
                                                                   : (offset > 0 ? " + " : " - ") + shown(std::fabs(offset));
  result.measured = leftText + " " + nameOf(c.comparison).symbol + " " + rightText + by;
  if (!left || !right) return result;  // no_data: a variant failed or did not record the metric

  if (c.comparison == ClaimComparison::equals) {
    const bool same = left->index() == right->index() &&
                      (std::holds_alternative<std::string>(*left) ? *left == *right
                                                                  : std::get<double>(*left) == std::get<double>(*right) + offset);
    result.status = same ? ClaimStatus::holds : ClaimStatus::fails;
    return result;
  }
  if (!std::holds_alternative<double>(*left) || !std::holds_alternative<double>(*right)) {
    result.measured += " (a text can only be compared with equals)";
    result.status = ClaimStatus::fails;
    return result;
  }
  const double a = std::get<double>(*left);
  const double b = std::get<double>(*right) * (c.other.literal ? 1.0 : c.other.times);
  bool holds = false;
  switch (c.comparison) {
    case ClaimComparison::less_than: holds = a < b + offset; break;
    case ClaimComparison::greater_than: holds = a > b + offset; break;
    case ClaimComparison::within: holds = std::fabs(a - b) <= offset; break;
    case ClaimComparison::at_least: holds = a >= b + offset; break;
    case ClaimComparison::at_most: holds = a <= b + offset; break;
    case ClaimComparison::equals: break;  // handled above
  }
  result.status = holds ? ClaimStatus::holds : ClaimStatus::fails;
  return result;
}

}  // namespace plab
