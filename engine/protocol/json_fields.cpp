#include "protocol/json_fields.h"

#include "core/json_number.h"
#include "core/json_text.h"

#include <cmath>
#include <limits>

namespace plab::protocol {

using nlohmann::json;

void failField(const std::string& field, const std::string& what) { throw ProtocolError(field + ": " + what); }

namespace {

// Long or deep values are cut so that an error about a huge field stays one readable
// line (and never walks the whole value).
std::string shown(const json& v) { return previewJson(v); }

}  // namespace

void requireObject(const json& value, const std::string& what) {
  if (!value.is_object()) throw ProtocolError(what + ": must be a JSON object (got " + shown(value) + ")");
}

const json& requireField(const json& obj, const char* key) {
  if (!obj.is_object()) failField(key, "missing (the enclosing value is not an object)");
  const auto it = obj.find(key);
  if (it == obj.end()) failField(key, "missing");
  return *it;
}

double readNumber(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (const auto number = numberFromJson(v)) return *number;
  failField(key, "must be a number or \"nan\", \"inf\", \"-inf\" (got " + shown(v) + ")");
}

std::int64_t readInt(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.0e15) return std::int64_t(d);
  }
  failField(key, "must be an integer (got " + shown(v) + ")");
}

bool readBool(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (!v.is_boolean()) failField(key, "must be true or false (got " + shown(v) + ")");
  return v.get<bool>();
}

std::string readString(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (!v.is_string()) failField(key, "must be a string (got " + shown(v) + ")");
  return v.get<std::string>();
}

const json& readArray(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (!v.is_array()) failField(key, "must be an array (got " + shown(v) + ")");
  return v;
}

const json& readObject(const json& obj, const char* key) {
  const json& v = requireField(obj, key);
  if (!v.is_object()) failField(key, "must be an object (got " + shown(v) + ")");
  return v;
}

double readNumberOr(const json& obj, const char* key, double fallback) {
  return obj.is_object() && obj.contains(key) ? readNumber(obj, key) : fallback;
}

std::int64_t readIntOr(const json& obj, const char* key, std::int64_t fallback) {
  return obj.is_object() && obj.contains(key) ? readInt(obj, key) : fallback;
}

std::string readStringOr(const json& obj, const char* key, const std::string& fallback) {
  return obj.is_object() && obj.contains(key) ? readString(obj, key) : fallback;
}

}  // namespace plab::protocol
