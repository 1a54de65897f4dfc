#pragma once
// Key paths: the names a sweep uses for the keys of an experiment file, the same
// paths that errors print ("network.layers[2].precision", "loss_scaling.mode").
// A segment is a key, optionally followed by [N] (one element of an array) or [*]
// (every element): "network.layers[*].precision" sets every layer's precision.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plab {

// A bad path, or one that does not fit the document. keyPath() is the path (or the
// part of it) that was wrong; what() is the whole message, starting with it.
class KeyPathError : public std::runtime_error {
 public:
  KeyPathError(std::string keyPath, const std::string& message)
      : std::runtime_error(keyPath + ": " + message), keyPath_(std::move(keyPath)) {}
  const std::string& keyPath() const { return keyPath_; }

 private:
  std::string keyPath_;
};

struct KeyPathStep {
  enum class Kind { key, index, everyIndex };
  Kind kind = Kind::key;
  std::string key;          // Kind::key
  std::int64_t index = 0;   // Kind::index
};

// Parses "a.b[2].c[*]"; throws KeyPathError for an empty segment, a bad index, a
// character that no key of an experiment file uses.
std::vector<KeyPathStep> parseKeyPath(const std::string& path);

// Sets the value at path in doc. Objects on the way are created when missing (a
// variant may set "loss_scaling.mode" on a base without "loss_scaling"); arrays are
// never created or grown: [N] must name an element the document has, and [*] needs a
// non-empty array. Throws KeyPathError naming the concrete path that failed
// ("network.layers[7]: the array has 5 elements").
void setAtKeyPath(nlohmann::json& doc, const std::string& path, const nlohmann::json& value);

}  // namespace plab
