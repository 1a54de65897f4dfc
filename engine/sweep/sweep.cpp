#include "sweep/sweep.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_text.h"
#include "model/json_reader.h"
#include "sweep/key_path.h"

namespace plab {
namespace {

using detail::ObjectReader;
using detail::quoted;
using nlohmann::json;

// More variants than a person would compare; a grid typo (a list of 10,000 seeds)
// should be an error, not an afternoon of training.
constexpr std::size_t kMaxVariants = 1000;

// One axis of a grid: a key path and its values, in the file's order.
struct GridAxis {
  std::string path;
  std::vector<json> values;
};

// A variant before expansion: its name, where it came from, and its changes.
struct VariantDraft {
  std::string name;
  std::string origin;                                   // "variants[2]" or "grid"
  std::vector<std::pair<std::string, json>> changes;    // key path -> value, in order
  std::vector<std::string> gridLabels;                  // "seed=2", one per grid axis
  RunStatus expectedStatus = RunStatus::completed;
};

// "fp16, no scaling; batch_size=512, seed=2", or only the grid part without variants.
std::string fullName(const VariantDraft& d) {
  std::string grid;
  for (const std::string& label : d.gridLabels) grid += (grid.empty() ? "" : ", ") + label;
  if (d.name.empty()) return grid;
  return grid.empty() ? d.name : d.name + "; " + grid;
}

json parseJsonFile(const std::string& text, const std::string& sourceName) {
  try {
    return parseJsonText(text);  // bounded depth, nothing after the value (core/json_text.h)
  } catch (const JsonTextError& e) {
    throw SweepError("", e.inFile(sourceName));
  }
}

std::string readWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SweepError("", path + ": cannot open the " + what);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SweepError("", path + ": cannot read the " + what);
  return text.str();
}

// Linux's PATH_MAX: a longer base_file cannot name a file, and would fill the message.
constexpr std::size_t kMostPathChars = 4096;

json readBase(ObjectReader& r, const std::string& sourceName) {
  const json* inline_ = r.find("base");
  const json* file = r.find("base_file");
  if (inline_ && file) r.fail("base_file", "give either \"base\" (the experiment itself) or \"base_file\", not both");
  if (!inline_ && !file) r.fail("base", "a sweep needs its base experiment: \"base\" (an object) or \"base_file\" (a path)");
  if (inline_) {
    if (!inline_->is_object()) r.fail("base", "expected an experiment object, got " + detail::describeType(*inline_));
    return *inline_;
  }
  if (!file->is_string() || file->get<std::string>().empty()) {
    r.fail("base_file", "expected the path of an experiment file, got " + quoted(*file));
  }
  if (file->get_ref<const std::string&>().size() > kMostPathChars) {
    r.fail("base_file", "a path of " + std::to_string(file->get_ref<const std::string&>().size()) +
                            " characters; a file path holds at most " + std::to_string(kMostPathChars));
  }
  std::filesystem::path path = file->get<std::string>();
  if (path.is_relative()) path = std::filesystem::path(sourceName).parent_path() / path;
  std::string text;
  try {
    text = readWholeFile(path.string(), "base experiment file");
  } catch (const SweepError& e) {
    r.fail("base_file", e.what());  // the key that named the file
  }
  const json base = parseJsonFile(text, path.string());
  if (!base.is_object()) r.fail("base_file", path.string() + " does not hold a JSON object");
  return base;
}

std::vector<std::pair<std::string, json>> readChanges(const json& set, const std::string& where) {
  if (!set.is_object()) {
    throw SweepError(where, where + ": expected an object of key path -> value, got " + detail::describeType(set));
  }
  std::vector<std::pair<std::string, json>> changes;
  for (const auto& [path, value] : set.items()) {
    try {
      parseKeyPath(path);
    } catch (const KeyPathError& e) {
      throw SweepError(where + "." + path, where + "." + e.what());  // the message reads as the whole key path
    }
    changes.emplace_back(path, value);
  }
  return changes;
}

std::vector<VariantDraft> readVariants(ObjectReader& r) {
  std::vector<VariantDraft> drafts;
  const json* list = r.find("variants");
  if (!list) return drafts;
  if (!list->is_array() || list->empty()) r.fail("variants", "expected a non-empty array of {\"name\", \"set\"} objects");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string where = "variants[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) {
      throw SweepError(where, where + ": expected an object with \"name\" and \"set\", got " + detail::describeType((*list)[i]));
    }
    ObjectReader v((*list)[i], where);
    VariantDraft d;
    d.name = v.requiredString("name", "every variant needs a name (it labels the variant's run)");
    if (d.name.empty()) v.fail("name", "must not be empty");
    // A name labels the variant's run, its legend entry and its table row.
    if (d.name.size() > kMostVariantNameChars) {
      v.fail("name", "is " + std::to_string(d.name.size()) + " characters long (at most " +
                         std::to_string(kMostVariantNameChars) + ")");
    }
    d.origin = where;
    v.string("description", "");
    if (v.choice("expected_status", "completed", {"completed", "failed"}) == "failed") d.expectedStatus = RunStatus::failed;
    if (const json* set = v.find("set")) d.changes = readChanges(*set, where + ".set");
    v.finish();
    for (const VariantDraft& other : drafts) {
      if (other.name == d.name) v.fail("name", quoted(json(d.name)) + " is already the name of " + other.origin);
    }
    drafts.push_back(std::move(d));
  }
  return drafts;
}

// The grid's axes in the file's order (nlohmann::json sorts keys; ordered_json keeps them).
std::vector<GridAxis> readGrid(const std::string& text, ObjectReader& r) {
  std::vector<GridAxis> axes;
  if (!r.find("grid")) return axes;
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(text);
  const auto& grid = ordered.at("grid");
  if (!grid.is_object() || grid.empty()) r.fail("grid", "expected a non-empty object of key path -> array of values");
  for (const auto& [path, values] : grid.items()) {
    const std::string where = "grid." + path;
    try {
      parseKeyPath(path);
    } catch (const KeyPathError& e) {
      throw SweepError(where, "grid." + std::string(e.what()));
    }
    if (!values.is_array() || values.empty()) {
      throw SweepError(where, where + ": expected a non-empty array of the values to try");
    }
    GridAxis axis{path, {}};
    for (const auto& v : values) axis.values.push_back(json::parse(v.dump()));
    axes.push_back(std::move(axis));
  }
  return axes;
}

// "batch_size=512": how a grid value reads in a variant's name.
std::string gridLabel(const GridAxis& axis, const json& value) {
  const std::string shown = value.is_string() ? value.get<std::string>() : previewJson(value);
  return axis.path + "=" + shown;
}

std::vector<VariantDraft> expandGrid(std::vector<VariantDraft> drafts, const std::vector<GridAxis>& axes) {
  if (drafts.empty()) drafts.push_back({"", "grid", {}, {}, RunStatus::completed});
  for (const GridAxis& axis : axes) {
    std::vector<VariantDraft> next;
    for (const VariantDraft& d : drafts) {
      for (const auto& [path, _] : d.changes) {
        if (path == axis.path) {
          throw SweepError("grid." + axis.path, "grid." + axis.path + ": " + d.origin +
                                                    " sets the same key; a key is either varied by the grid or set by a variant");
        }
      }
      for (const json& value : axis.values) {
        VariantDraft v = d;
        v.gridLabels.push_back(gridLabel(axis, value));
        v.changes.emplace_back(axis.path, value);
        next.push_back(std::move(v));
        if (next.size() > kMaxVariants) {
          throw SweepError("grid", "grid: expands to more than " + std::to_string(kMaxVariants) + " variants");
        }
      }
    }
    drafts = std::move(next);
  }
  return drafts;
}

SweepVariant buildVariant(const json& base, const VariantDraft& d, const SweepOverrides& o) {
  SweepVariant v;
  v.name = fullName(d);
  v.expectedStatus = d.expectedStatus;
  v.set = json::object();
  v.experimentJson = base;
  const std::string label = "variant \"" + v.name + "\" (" + d.origin + ")";
  for (const auto& [path, value] : d.changes) {
    v.set[path] = value;
    try {
      setAtKeyPath(v.experimentJson, path, value);
    } catch (const KeyPathError& e) {
      const std::string where = d.origin == "grid" ? "grid." + path : d.origin + ".set." + path;
      throw SweepError(where, label + ": " + e.what() + " (in " + where + ")");
    }
  }
  if (o.seed) v.experimentJson["seed"] = *o.seed;
  if (o.steps) {
    v.experimentJson.erase("epochs");
    v.experimentJson["steps"] = *o.steps;
  }
  try {
    v.experiment = parseExperiment(v.experimentJson);
  } catch (const ExperimentError& e) {
    throw SweepError(d.origin, label + ": " + e.what());
  }
  return v;
}

Lesson readLesson(const json& j, const std::vector<SweepVariant>& variants) {
  if (!j.is_object()) throw SweepError("lesson", "lesson: expected an object with \"watch\" and \"claims\"");
  ObjectReader r(j, "lesson");
  Lesson lesson;
  lesson.watch = r.string("watch", "");
  std::vector<std::string> names;
  for (const SweepVariant& v : variants) names.push_back(v.name);
  if (const json* claims = r.find("claims")) {
    if (!claims->is_array()) r.fail("claims", "expected an array of claims");
    for (std::size_t i = 0; i < claims->size(); ++i) {
      lesson.claims.push_back(parseClaim((*claims)[i], "lesson.claims[" + std::to_string(i) + "]", names));
    }
  }
  r.finish();
  return lesson;
}

Sweep parseSweepJson(const json& file, const std::string& text, const std::string& sourceName,
                     const SweepOverrides& overrides) {
  if (!file.is_object()) throw SweepError("", "expected a sweep object, got " + detail::describeType(file));
  ObjectReader r(file, "");
  const std::int64_t version = r.integer("format_version", kSweepFormatVersion, 1, 1000);
  if (version != kSweepFormatVersion) {
    r.fail("format_version", std::to_string(version) + " is not a sweep format this program reads (it reads " +
                                 std::to_string(kSweepFormatVersion) + ")");
  }
  Sweep s;
  s.title = r.string("title", "");
  s.description = r.string("description", "");
  s.base = readBase(r, sourceName);
  std::vector<VariantDraft> drafts = readVariants(r);
  const std::vector<GridAxis> axes = readGrid(text, r);
  if (drafts.empty() && axes.empty()) r.fail("variants", "a sweep needs \"variants\", a \"grid\", or both");
  const json* lesson = r.find("lesson");
  r.finish();
  for (const VariantDraft& d : expandGrid(std::move(drafts), axes)) {
    s.variants.push_back(buildVariant(s.base, d, overrides));
  }
  if (lesson) s.lesson = readLesson(*lesson, s.variants);
  return s;
}

}  // namespace

Sweep parseSweepText(const std::string& text, const std::string& sourceName, const SweepOverrides& overrides) {
  const json file = parseJsonFile(text, sourceName);
  try {
    return parseSweepJson(file, text, sourceName, overrides);
  } catch (const SweepError& e) {
    throw SweepError(e.keyPath(), sourceName + ": " + e.what());
  } catch (const ExperimentError& e) {  // ObjectReader's errors on the sweep's own keys
    throw SweepError(e.keyPath(), sourceName + ": " + e.what());
  }
}

Sweep loadSweepFile(const std::string& path, const SweepOverrides& overrides) {
  return parseSweepText(readWholeFile(path, "sweep file"), path, overrides);
}

bool looksLikeSweep(const json& file) {
  return file.is_object() && (file.contains("variants") || file.contains("grid"));
}

}  // namespace plab
