// Looking keys up in the schema table (experiment_schema.cpp) and writing it as the
// Markdown tables of docs/experiment-format.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "model/experiment_schema.h"

namespace plab {

using nlohmann::json;

std::string_view toString(KeyType t) {
  switch (t) {
    case KeyType::boolean: return "bool";
    case KeyType::integer: return "int";
    case KeyType::number: return "number";
    case KeyType::string: return "string";
    case KeyType::choice: return "enum";
    case KeyType::object: return "object";
    case KeyType::array: return "array";
  }
  return "?";
}

std::string KeyRule::section() const {
  const std::size_t dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string KeyRule::key() const {
  const std::size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool KeyRule::appliesTo(std::string_view selected) const {
  return when.empty() || std::find(when.begin(), when.end(), selected) != when.end();
}

std::string_view selectorKey(std::string_view section) {
  if (section == "dataset") return "name";
  if (section == "network.layers[]" || section == "optimizer" || section == "schedule") return "type";
  if (section == "loss_scaling" || section == "precision_policy") return "mode";
  if (section == "fp8") return "scaling";
  return {};
}

const KeyRule* findKeyRule(std::string_view section, std::string_view key, std::string_view selected) {
  for (const KeyRule& r : experimentSchema()) {
    if (r.section() == section && r.key() == key && r.appliesTo(selected)) return &r;
  }
  return nullptr;
}

const KeyRule& keyRule(std::string_view section, std::string_view key, std::string_view selected) {
  const KeyRule* r = findKeyRule(section, key, selected);
  if (!r) {
    throw std::logic_error("experiment schema: no key " + std::string(section) + "." + std::string(key) +
                           " for \"" + std::string(selected) + "\"");
  }
  return *r;
}

std::vector<const KeyRule*> keyRulesOf(std::string_view section, std::string_view selected) {
  std::vector<const KeyRule*> out;
  for (const KeyRule& r : experimentSchema()) {
    if (r.section() == section && r.appliesTo(selected)) out.push_back(&r);
  }
  return out;
}

namespace {

std::string selectedIn(const KeyRule& rule, const json& object) {
  const std::string_view sel = selectorKey(rule.section());
  if (sel.empty() || !object.is_object()) return {};
  const std::string key(sel);
  if (object.contains(key) && object[key].is_string()) return object[key].get<std::string>();
  const KeyRule* selRule = findKeyRule(rule.section(), key, {});
  return selRule && selRule->defaultValue.is_string() ? selRule->defaultValue.get<std::string>() : std::string();
}

}  // namespace

json defaultFor(const KeyRule& rule, const json& object) {
  if (!rule.defaultFrom.empty()) {
    if (object.is_object() && object.contains(rule.defaultFrom)) return object[rule.defaultFrom];
    const KeyRule* from = findKeyRule(rule.section(), rule.defaultFrom, selectedIn(rule, object));
    return from ? defaultFor(*from, object) : json();
  }
  if (!rule.defaultWhen.empty()) {
    const std::string selected = selectedIn(rule, object);
    for (const auto& [value, def] : rule.defaultWhen) {
      if (value == selected) return def;
    }
  }
  return rule.defaultValue;
}

std::string schemaPathOf(std::string_view keyPath) {
  std::string out;
  bool inIndex = false;
  for (char c : keyPath) {
    if (c == '[') {
      inIndex = true;
      out += '[';
    } else if (c == ']') {
      inIndex = false;
      out += ']';
    } else if (!inIndex) {
      out += c;
    }
  }
  return out;
}

// ---- Markdown ---------------------------------------------------------------------

namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "∞" : "-∞";
  // Whole numbers in full (2^40 is 1099511627776, not 1.099511628e+12); the largest
  // uint64 (the seed's limit) has no exact double, so it is named.
  if (v >= 1.8e19) return "2^64 - 1";
  char text[32];
  if (v == std::floor(v) && std::fabs(v) < 1e16) {
    std::snprintf(text, sizeof text, "%.0f", v);
  } else {
    std::snprintf(text, sizeof text, "%.10g", v);
  }
  return text;
}

std::string code(const std::string& s) { return "`" + s + "`"; }

std::string defaultText(const KeyRule& r) {
  if (r.required) return "required";
  if (!r.defaultFrom.empty()) return "= " + code(r.defaultFrom);
  std::string text;
  if (r.defaultValue.is_null()) {
    text = "none";
  } else if (r.defaultValue.is_string()) {
    const std::string s = r.defaultValue.get<std::string>();
    text = s.empty() ? "\"\"" : code(s);
  } else if (r.defaultValue.is_number()) {
    text = number(r.defaultValue.get<double>());
  } else if (r.type == KeyType::object) {
    text = "see below";
  } else {
    text = r.defaultValue.dump();
  }
  for (const auto& [value, def] : r.defaultWhen) {
    const std::string d = def.is_string() ? code(def.get<std::string>()) : number(def.get<double>());
    text += (r.defaultValue.is_null() ? "; " : ", ") + value + ": " + d;
    if (text.rfind("none; ", 0) == 0) text = text.substr(6);
  }
  return text;
}

std::string allowedText(const KeyRule& r) {
  if (r.type == KeyType::choice) {
    std::string out;
    for (const auto& c : r.choices) out += (out.empty() ? "" : ", ") + code(c);
    return out;
  }
  if (r.type != KeyType::integer && r.type != KeyType::number) return "";
  if (std::isinf(r.max)) return number(r.min) + " or more";
  return number(r.min) + " to " + number(r.max);
}

std::string forText(const KeyRule& r) {
  std::string out;
  for (const auto& w : r.when) out += (out.empty() ? "" : ", ") + w;
  return out;
}

const char* sectionTitle(const std::string& section) {
  if (section.empty()) return "Top level";
  if (section == "dataset") return "Dataset (`dataset`)";
  if (section == "network") return "Network (`network`)";
  if (section == "network.layers[]") return "Layers (`network.layers[]`)";
  if (section == "optimizer") return "Optimizer (`optimizer`)";
  if (section == "schedule") return "Schedule (`schedule`)";
  if (section == "loss_scaling") return "Loss scaling (`loss_scaling`)";
  if (section == "fp8") return "fp8 (`fp8`)";
  if (section == "precision_policy") return "Precision policy (`precision_policy`)";
  return "?";
}

}  // namespace

std::string schemaMarkdown() {
  std::string out;
  std::string section = "-";
  for (const KeyRule& r : experimentSchema()) {
    if (r.section() != section) {
      section = r.section();
      const std::string_view sel = selectorKey(section);
      out += std::string(out.empty() ? "" : "\n") + "#### " + sectionTitle(section) + "\n\n";
      out += std::string("| key | type | default | allowed | units | ") +
             (sel.empty() ? "for" : "for " + code(std::string(sel))) + " | meaning |\n";
      out += "| --- | --- | --- | --- | --- | --- | --- |\n";
    }
    out += "| " + code(r.key()) + " | " + std::string(toString(r.type)) + " | " + defaultText(r) + " | " +
           allowedText(r) + " | " + r.units + " | " + forText(r) + " | " + r.help + " |\n";
  }
  return out;
}

std::string withSchemaTables(const std::string& doc) {
  const std::size_t begin = doc.find(kSchemaBegin);
  const std::size_t end = doc.find(kSchemaEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    throw std::invalid_argument("no " + std::string(kSchemaBegin) + " ... " + std::string(kSchemaEnd) +
                                " markers (in this order)");
  }
  const std::size_t from = begin + kSchemaBegin.size();
  return doc.substr(0, from) + "\n" + schemaMarkdown() + doc.substr(end);
}

}  // namespace plab
