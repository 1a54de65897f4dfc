#pragma once
// Strict reading of one JSON object of an experiment file: every getter records the
// key as known, finish() rejects the keys nobody asked for, and each error names the
// field by its full path ("network.layers[2].precision") and what is allowed.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plab::detail {

class ObjectReader {
 public:
  // path: "" for the top level, else "network", "network.layers[2]", ...
  ObjectReader(const nlohmann::json& object, std::string path);

  std::string fieldPath(const std::string& key) const;
  bool has(const std::string& key);  // also marks the key as known
  const nlohmann::json* find(const std::string& key);

  // Getters: a missing key gives the default; a present one must have the type.
  std::string string(const std::string& key, const std::string& fallback);
  std::string requiredString(const std::string& key, const std::string& context);
  bool boolean(const std::string& key, bool fallback);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  std::int64_t requiredInteger(const std::string& key, std::int64_t min, std::int64_t max,
                               const std::string& context);
  std::uint64_t unsignedInteger(const std::string& key, std::uint64_t fallback);
  // A finite number in [min, max].
  double number(const std::string& key, double fallback, double min, double max);
  // One of `allowed`; the message lists them.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);

  // Throws for the first key that no getter asked about.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  std::int64_t toInteger(const std::string& key, const nlohmann::json& v) const;
  const nlohmann::json& object_;
  std::string path_;
  std::vector<std::string> known_;
};

// `"fp61"`, `42`, `[1,2]`: a value as it appears in the file, shortened for messages
// (core/json_text.h's previewJson: a long or deep value is cut and its type named).
std::string quoted(const nlohmann::json& value);
// "an integer", "a string": the JSON type of value (core/json_text.h's describeJsonType).
std::string describeType(const nlohmann::json& value);
std::string joinNames(const std::vector<std::string>& names);

}  // namespace plab::detail
