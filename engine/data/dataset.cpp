// loadDataset: reads the experiment's "dataset" object, checks every key, and hands
// over to the synthetic generators or the IDX reader.
#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "data/idx.h"
#include "data/synthetic.h"

namespace plab {
namespace {

using nlohmann::json;

const char* kFashionMnistFolder = "/usr/share/datasets/fashion-mnist";
const char* kMnistFolder = "/usr/share/datasets/mnist";
constexpr std::int64_t kMaxSyntheticSize = 10'000'000;
// noise's limit: a standard deviation a million times the sets' unit-sized shapes
// already hides them completely, and its draws stay far inside float's range.
constexpr double kMaxNoise = 1e6;
// input_scale's limits: far beyond every format's range either way, and float's.
constexpr double kMinInputScale = 1e-12;
constexpr double kMaxInputScale = 1e12;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool isIdxName(const std::string& name) { return name == "fashion-mnist" || name == "mnist" || name == "idx"; }

// Reads the fields of the "dataset" object one by one; every error names the field.
class SpecReader {
 public:
  explicit SpecReader(const json& spec) : spec_(spec) {}

  bool has(const std::string& key) const { return spec_.contains(key); }

  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
    if (!has(key)) return fallback;
    const json& v = spec_.at(key);
    if (!v.is_number_integer()) {
      const bool wholeFloat = v.is_number_float() && std::floor(v.get<double>()) == v.get<double>();
      if (!wholeFloat) fail(key, "must be an integer (got " + previewJson(v) + ")");
    }
    const double asDouble = v.get<double>();
    if (asDouble < double(min)) fail(key, "must be >= " + std::to_string(min) + " (got " + previewJson(v) + ")");
    if (asDouble > double(max)) fail(key, "must be <= " + std::to_string(max) + " (got " + previewJson(v) + ")");
    return v.get<std::int64_t>();
  }

  bool flag(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    const auto& v = spec_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false (got " + previewJson(v) + ")");
    return v.get<bool>();
  }

  double number(const std::string& key, double fallback, double min) {
    if (!has(key)) return fallback;
    const json& v = spec_.at(key);
    if (!v.is_number()) fail(key, "must be a number (got " + previewJson(v) + ")");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < min) fail(key, "must be >= " + shortNumber(min) + " (got " + previewJson(v) + ")");
    return d;
  }
  double number(const std::string& key, double fallback, double min, double max) {
    const double d = number(key, fallback, min);
    if (d > max) fail(key, "must be <= " + shortNumber(max) + " (got " + previewJson(spec_.at(key)) + ")");
    return d;
  }

  std::string text(const std::string& key, const std::string& fallback) {
    if (!has(key)) return fallback;
    const json& v = spec_.at(key);
    if (!v.is_string()) fail(key, "must be a string (got " + previewJson(v) + ")");
    return v.get<std::string>();
  }

  // Keys that the named set does not use are errors: a misspelt key would otherwise
  // be ignored without a word.
  void rejectOthers(const std::string& name, const std::set<std::string>& allowed) const {
    for (const auto& [key, value] : spec_.items()) {
      if (allowed.count(key)) continue;
      std::vector<std::string> names(allowed.begin(), allowed.end());
      fail(key, "unknown key for dataset \"" + name + "\" (allowed: " + joined(names) + ")");
    }
  }

  [[noreturn]] static void fail(const std::string& key, const std::string& what) {
    throw DatasetError("dataset." + key + ": " + what);
  }

 private:
  const json& spec_;
};

Dataset loadSynthetic(SpecReader& reader, const std::string& name, std::uint64_t seed) {
  std::set<std::string> allowed = {"name", "train_size", "test_size", "noise", "input_scale"};
  const data::ClassRange range = data::classRange(name);
  if (range.min != range.max) allowed.insert("classes");
  if (name == "shapes") allowed.insert("image_size");
  reader.rejectOthers(name, allowed);

  data::SyntheticParams p;
  p.trainSize = reader.integer("train_size", 2000, 1, kMaxSyntheticSize);
  p.testSize = reader.integer("test_size", 500, 1, kMaxSyntheticSize);
  p.noise = reader.number("noise", 0.1, 0.0, kMaxNoise);
  p.classes = std::int32_t(reader.integer("classes", range.defaultCount, range.min, range.max));
  p.imageSize = std::int32_t(reader.integer("image_size", 16, 8, 64));
  return data::makeSynthetic(name, p, seed);
}

// Standardises every pixel with the mean and standard deviation of all training
// pixels (one scalar each, as torchvision's Normalize((mean,), (std,)) does for
// grey images), so inputs are centred: it speeds up early training of an MLP.
void standardizePixels(Dataset& d) {
  double sum = 0, sumSq = 0;
  for (float v : d.trainX) {
    sum += v;
    sumSq += double(v) * v;
  }
  const double n = double(d.trainX.size());
  if (n == 0) return;
  const double mean = sum / n;
  const double var = sumSq / n - mean * mean;
  const double invStd = var > 0 ? 1.0 / std::sqrt(var) : 1.0;
  for (auto* xs : {&d.trainX, &d.testX})
    for (float& v : *xs) v = float((v - mean) * invStd);
}

// input_scale: every input value times the factor, after normalize, as data that
// arrives in raw units (counts, prices, millimetres) rather than near 1.
void scaleInputs(Dataset& d, double factor) {
  for (auto* xs : {&d.trainX, &d.testX})
    for (float& v : *xs) v = float(double(v) * factor);
}

Dataset loadIdx(SpecReader& reader, const std::string& name) {
  reader.rejectOthers(name, {"name", "path", "limit_train", "limit_test", "normalize", "input_scale"});
  data::IdxSetOptions o;
  o.name = name;
  const std::string defaultFolder = name == "fashion-mnist" ? kFashionMnistFolder : name == "mnist" ? kMnistFolder : "";
  if (name == "idx" && !reader.has("path")) SpecReader::fail("path", "required for dataset \"idx\" (a folder with train-images-idx3-ubyte[.gz] etc.)");
  o.folder = reader.text("path", defaultFolder);
  if (o.folder.empty()) SpecReader::fail("path", "must not be empty");
  o.limitTrain = reader.integer("limit_train", 0, 0, std::int64_t(1) << 40);
  o.limitTest = reader.integer("limit_test", 0, 0, std::int64_t(1) << 40);
  if (name == "fashion-mnist") {
    o.classNames = data::fashionMnistClassNames();
    o.numClasses = 10;
  } else if (name == "mnist") {
    o.numClasses = 10;
  }
  const bool normalize = reader.flag("normalize", false);
  try {
    Dataset d = data::loadIdxSet(o);
    if (normalize) standardizePixels(d);
    return d;
  } catch (const DatasetError& e) {
    // The default location is where Debian's package puts the files: say so.
    if (name == "fashion-mnist" && o.folder == kFashionMnistFolder && std::string(e.what()).find("not found") != std::string::npos)
      throw DatasetError(std::string(e.what()) + " (install Debian's dataset-fashion-mnist package, or set dataset.path)");
    throw;
  }
}

}  // namespace

std::vector<std::string> datasetNames() {
  std::vector<std::string> names = data::syntheticNames();
  names.insert(names.end(), {"fashion-mnist", "mnist", "idx"});
  return names;
}

Dataset loadDataset(const nlohmann::json& spec, std::uint64_t seed) {
  if (!spec.is_object()) throw DatasetError("dataset: must be an object such as {\"name\": \"spirals\"} (got " + previewJson(spec) + ")");
  SpecReader reader(spec);
  if (!reader.has("name")) SpecReader::fail("name", "missing (one of " + joined(datasetNames()) + ")");
  const std::string name = reader.text("name", "");
  if (!data::isSyntheticName(name) && !isIdxName(name))
    SpecReader::fail("name", "\"" + name + "\" is not one of " + joined(datasetNames()));
  const double inputScale = reader.number("input_scale", 1.0, kMinInputScale, kMaxInputScale);
  Dataset d = data::isSyntheticName(name) ? loadSynthetic(reader, name, seed) : loadIdx(reader, name);
  if (inputScale != 1.0) scaleInputs(d, inputScale);
  return d;
}

}  // namespace plab
