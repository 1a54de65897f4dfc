#include "model/json_reader.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/json_text.h"
#include "model/experiment.h"

namespace plab::detail {

using nlohmann::json;

std::string quoted(const json& value) { return previewJson(value); }

std::string describeType(const json& value) { return describeJsonType(value); }

// "a string \"x\"", "an integer 16"; null alone ("null null" said it twice).
std::string describeValue(const json& value) {
  return value.is_null() ? std::string("null") : describeType(value) + " " + quoted(value);
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

ObjectReader::ObjectReader(const json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    const std::string what = "expected an object, got " + describeValue(object_);
    if (path_.empty()) throw ExperimentError("experiment: " + what);
    throw ExperimentError(path_, what);
  }
}

std::string ObjectReader::fieldPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ObjectReader::fail(const std::string& key, const std::string& message) const {
  throw ExperimentError(fieldPath(key), message);
}

bool ObjectReader::has(const std::string& key) {
  known_.push_back(key);
  return object_.contains(key);
}

const json* ObjectReader::find(const std::string& key) {
  if (!has(key)) return nullptr;
  return &object_.at(key);
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "expected a string, got " + describeValue(*v));
  return v->get<std::string>();
}

std::string ObjectReader::requiredString(const std::string& key, const std::string& context) {
  if (!has(key)) fail(key, "missing (" + context + ")");
  return string(key, "");
}

bool ObjectReader::boolean(const std::string& key, bool fallback) {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "expected true or false, got " + describeValue(*v));
  return v->get<bool>();
}

std::int64_t ObjectReader::toInteger(const std::string& key, const json& v) const {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  // 3.0 is an integer written by a tool that only knows doubles; 3.5 is not.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return std::int64_t(d);
  }
  fail(key, "expected an integer, got " + describeValue(v));
}

std::int64_t ObjectReader::integer(const std::string& key, std::int64_t fallback,
                                   std::int64_t min, std::int64_t max) {
  const json* v = find(key);
  if (!v) return fallback;
  const std::int64_t value = toInteger(key, *v);
  if (value < min || value > max) {
    std::ostringstream range;
    range << value << " is out of range (allowed: " << min << " to " << max << ")";
    fail(key, range.str());
  }
  return value;
}

std::int64_t ObjectReader::requiredInteger(const std::string& key, std::int64_t min,
                                           std::int64_t max, const std::string& context) {
  if (!has(key)) fail(key, "missing (" + context + ")");
  return integer(key, 0, min, max);
}

std::uint64_t ObjectReader::unsignedInteger(const std::string& key, std::uint64_t fallback) {
  const json* v = find(key);
  if (!v) return fallback;
  if (v->is_number_unsigned()) return v->get<std::uint64_t>();
  const std::int64_t value = toInteger(key, *v);
  if (value < 0) fail(key, std::to_string(value) + " is out of range (allowed: 0 or more)");
  return std::uint64_t(value);
}

double ObjectReader::number(const std::string& key, double fallback, double min, double max) {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) fail(key, "expected a number, got " + describeValue(*v));
  const double value = v->get<double>();
  if (!(value >= min && value <= max)) {
    std::ostringstream range;
    range << quoted(*v) << " is out of range (allowed: " << min << " to " << max << ")";
    fail(key, range.str());
  }
  // The engine holds these values as 32-bit floats: one too small for a normal float
  // would silently become 0 or lose its digits (a learning rate of 1e-50 trained as 0).
  if (value != 0 && std::fabs(value) < double(std::numeric_limits<float>::min())) {
    std::ostringstream range;
    range << quoted(*v) << " is too small for a 32-bit float, which would hold it as 0 (allowed: 0, or "
          << std::numeric_limits<float>::min() << " to " << max << ")";
    fail(key, range.str());
  }
  return value;
}

std::string ObjectReader::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& allowed) {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) {
    fail(key, "expected a string (one of " + joinNames(allowed) + "), got " + describeValue(*v));
  }
  const std::string value = v->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    fail(key, quoted(*v) + " is not one of " + joinNames(allowed));
  }
  return value;
}

void ObjectReader::finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
      std::vector<std::string> allowed = known_;
      std::sort(allowed.begin(), allowed.end());
      allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
      // An empty key would leave no name in the message: it is shown as "".
      fail(it.key().empty() ? std::string("\"\"") : it.key(), "unknown key (allowed here: " + joinNames(allowed) + ")");
    }
  }
}

}  // namespace plab::detail
