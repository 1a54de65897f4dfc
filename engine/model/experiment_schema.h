#pragma once
// The experiment schema: one entry per key of docs/experiment-format.md, with its
// path, type, default, range or choices, units and a one-line help. The parser
// (experiment_parse.cpp) takes defaults and limits from it, the writer
// (experiment_write.cpp) checks that it wrote exactly the keys it lists, the GUI's
// forms (ui/editor/json_binder.cpp) build their widgets from it, and the key tables
// of docs/experiment-format.md are generated from it (`precisionlab-cli schema`).
//
// A key whose meaning depends on another key of the same object (the optimizer's
// "type", the loss scaling's "mode", a layer's "type", the dataset's "name") is
// listed once per set of values it applies to: e.g. "network.layers[].kernel" for
// conv2d (default 3) and again for the pools (default 2).
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace plab {

enum class KeyType { boolean, integer, number, string, choice, object, array };
std::string_view toString(KeyType t);  // "bool", "int", "number", ...

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct KeyRule {
  std::string path;             // "optimizer.lr", "network.layers[].kernel", "seed"
  KeyType type = KeyType::number;
  nlohmann::json defaultValue;  // what a missing key means; null: no default (see required)
  double min = 0, max = 0;      // integer and number: inclusive limits (kUnbounded: none)
  std::vector<std::string> choices;  // choice: the allowed strings, in the docs' order
  std::string units;            // "steps", "powers of two", ...; empty: none
  std::string help;             // one line
  // The values of the object's selector key (its "type", "mode" or "name") this entry
  // applies to; empty: every value.
  std::vector<std::string> when;
  // Defaults that depend on the selector, e.g. {"adamw", 0.01} for weight_decay.
  std::vector<std::pair<std::string, nlohmann::json>> defaultWhen;
  std::string defaultFrom;      // the default is this sibling key's value (pool stride = kernel)
  bool required = false;        // a missing key is an error; ifMissing says what it needs
  std::string ifMissing;
  std::string oneOf;            // keys of one group are exclusive (epochs / steps)
  nlohmann::json suggested;     // for keys without a default: what a new field starts at

  std::string section() const;  // "optimizer", "network.layers[]", "" (top level)
  std::string key() const;      // "lr", "kernel"
  bool appliesTo(std::string_view selected) const;
};

// Every entry, top level first, then dataset, network, layers (by type), optimizer,
// schedule, loss_scaling, fp8.
const std::vector<KeyRule>& experimentSchema();

// The selector key of a section ("type", "mode", "name"), empty if it has none.
std::string_view selectorKey(std::string_view section);

// The entry for key in section when the selector has value selected; nullptr if the
// key does not exist there.
const KeyRule* findKeyRule(std::string_view section, std::string_view key, std::string_view selected = {});
// As findKeyRule, but a missing entry is a programming error (std::logic_error).
const KeyRule& keyRule(std::string_view section, std::string_view key, std::string_view selected = {});
// The entries that apply to section with that selector value, in table order.
std::vector<const KeyRule*> keyRulesOf(std::string_view section, std::string_view selected);

// The default of rule for a JSON object of its section (resolves defaultWhen by the
// object's selector and defaultFrom by the sibling's value or default). Null if none.
nlohmann::json defaultFor(const KeyRule& rule, const nlohmann::json& object);

// "network.layers[2].kernel" -> "network.layers[].kernel": a key path of a file as the
// schema spells it.
std::string schemaPathOf(std::string_view keyPath);

// The key tables of docs/experiment-format.md, one per section, in Markdown.
std::string schemaMarkdown();

// The markers around the generated tables in docs/experiment-format.md.
inline constexpr std::string_view kSchemaBegin = "<!-- schema:begin -->";
inline constexpr std::string_view kSchemaEnd = "<!-- schema:end -->";
// doc with the text between the markers replaced by schemaMarkdown(); throws
// std::invalid_argument when the markers are missing or out of order.
std::string withSchemaTables(const std::string& doc);

}  // namespace plab
