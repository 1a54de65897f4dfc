#include "sweep/key_path.h"

#include "core/json_text.h"

#include <cctype>

namespace plab {
namespace {

using nlohmann::json;

bool isKeyChar(char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'; }

// One "[...]" starting at path[at] (the '['); returns the index just past ']'.
std::size_t parseBracket(const std::string& path, std::size_t at, std::vector<KeyPathStep>& steps) {
  const std::size_t close = path.find(']', at);
  if (close == std::string::npos) throw KeyPathError(path, "'[' without a closing ']'");
  const std::string inside = path.substr(at + 1, close - at - 1);
  KeyPathStep step;
  if (inside == "*") {
    step.kind = KeyPathStep::Kind::everyIndex;
  } else {
    if (inside.empty() || inside.size() > 9) throw KeyPathError(path, "[" + inside + "] is not an index (a number or *)");
    for (char c : inside) {
      if (!std::isdigit(static_cast<unsigned char>(c))) throw KeyPathError(path, "[" + inside + "] is not an index (a number or *)");
    }
    step.kind = KeyPathStep::Kind::index;
    step.index = std::stoll(inside);
  }
  steps.push_back(step);
  return close + 1;
}

std::string shown(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return previewJson(v);
}

void setFrom(json& node, const std::vector<KeyPathStep>& steps, std::size_t i, const std::string& done,
             const json& value) {
  if (i == steps.size()) {
    node = value;
    return;
  }
  const KeyPathStep& step = steps[i];
  if (step.kind == KeyPathStep::Kind::key) {
    const std::string here = done.empty() ? step.key : done + "." + step.key;
    if (node.is_null()) node = json::object();
    if (!node.is_object()) throw KeyPathError(done, "is " + shown(node) + ", not an object with keys");
    setFrom(node[step.key], steps, i + 1, here, value);
    return;
  }
  if (!node.is_array()) {
    throw KeyPathError(done, node.is_null() ? "is not in the experiment (an index needs an existing array)"
                                            : "is " + shown(node) + ", not an array");
  }
  if (step.kind == KeyPathStep::Kind::everyIndex) {
    if (node.empty()) throw KeyPathError(done + "[*]", "the array is empty");
    for (std::size_t k = 0; k < node.size(); ++k) {
      setFrom(node[k], steps, i + 1, done + "[" + std::to_string(k) + "]", value);
    }
    return;
  }
  const std::string here = done + "[" + std::to_string(step.index) + "]";
  if (step.index >= static_cast<std::int64_t>(node.size())) {
    throw KeyPathError(here, "the array has " + std::to_string(node.size()) + " element" +
                                 (node.size() == 1 ? "" : "s"));
  }
  setFrom(node[static_cast<std::size_t>(step.index)], steps, i + 1, here, value);
}

}  // namespace

std::vector<KeyPathStep> parseKeyPath(const std::string& path) {
  if (path.empty()) throw KeyPathError("\"\"", "an empty key path");
  std::vector<KeyPathStep> steps;
  std::size_t at = 0;
  while (at < path.size()) {
    std::size_t end = at;
    while (end < path.size() && isKeyChar(path[end])) ++end;
    if (end == at) {
      throw KeyPathError(path, at < path.size() && path[at] != '.' && path[at] != '['
                                   ? std::string("'") + path[at] + "' cannot be part of a key (keys are lower case, digits and _)"
                                   : "an empty key at character " + std::to_string(at + 1));
    }
    steps.push_back({KeyPathStep::Kind::key, path.substr(at, end - at), 0});
    at = end;
    while (at < path.size() && path[at] == '[') at = parseBracket(path, at, steps);
    if (at == path.size()) break;
    if (path[at] != '.') {
      throw KeyPathError(path, std::string("'") + path[at] + "' cannot be part of a key (keys are lower case, digits and _)");
    }
    ++at;
    if (at == path.size()) throw KeyPathError(path, "ends with '.'");
  }
  return steps;
}

void setAtKeyPath(json& doc, const std::string& path, const json& value) {
  setFrom(doc, parseKeyPath(path), 0, "", value);
}

}  // namespace plab
