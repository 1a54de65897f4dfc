// The experiment schema against its consumers: for every key the schema lists, the
// parser's default is the schema's, values just outside its range (and of the wrong
// type) are rejected with the key's path, the writer writes it, engine/data's dataset
// reader has the same defaults and limits, and docs/experiment-format.md shows the
// generated tables. (The GUI's forms are checked in tests/gui/tst_gui_schema.cpp.)
#include <QtTest>

#include <QFile>

#include <cmath>
#include <functional>

#include "data/dataset.h"
#include "model/experiment.h"
#include "model/experiment_schema.h"

using namespace plab;
using nlohmann::json;

namespace {

const json kMinimal = json::parse(R"({
  "dataset": {"name": "spirals", "train_size": 16, "test_size": 16},
  "network": {"layers": [{"type": "linear", "out": 2}]}
})");

// A minimal valid file in which a key applies (its object's selector set to selected),
// with the key's JSON pointer and its key path as error messages spell it.
struct Placement {
  json file;
  json::json_pointer object;
  std::string keyPath;
  std::string key;
};

Placement place(const KeyRule& r, const std::string& selected) {
  Placement p{kMinimal, json::json_pointer(), r.key(), r.key()};
  const std::string section = r.section();
  const std::string sel(selectorKey(section));
  if (section == "network.layers[]") {
    json layer = {{"type", selected}};
    for (const KeyRule* k : keyRulesOf(section, selected)) {
      if (k->required && k->key() != "type") layer[k->key()] = k->suggested;
    }
    p.file["network"]["layers"] = json::array({layer});
    p.object = json::json_pointer("/network/layers/0");
    p.keyPath = "network.layers[0]." + r.key();
  } else if (!section.empty()) {
    if (section != "network") p.file[section] = sel.empty() ? json::object() : json{{sel, selected}};
    p.object = json::json_pointer("/" + section);
    p.keyPath = section + "." + r.key();
  }
  return p;
}

// The selector values a rule is tried with: those it lists, else the section's default.
std::vector<std::string> selections(const KeyRule& r) {
  if (!r.when.empty()) return r.when;
  const std::string_view sel = selectorKey(r.section());
  if (sel.empty()) return {""};
  if (r.section() == "network.layers[]") return {"linear"};
  const KeyRule& selector = keyRule(r.section(), sel);
  return {selector.defaultValue.is_string() ? selector.defaultValue.get<std::string>() : selector.choices.front()};
}

bool isValueKey(const KeyRule& r) { return r.type != KeyType::object && r.type != KeyType::array; }

// Every rule the experiment parser reads itself (engine/data reads the dataset's).
void forEachParsedRule(const std::function<void(const KeyRule&, const std::string&)>& f) {
  for (const KeyRule& r : experimentSchema()) {
    if (r.section() == "dataset") continue;
    for (const std::string& s : selections(r)) f(r, s);
  }
}

std::string errorPath(const json& file, std::string* message = nullptr) {
  try {
    parseExperiment(file);
  } catch (const ExperimentError& e) {
    if (message) *message = e.what();
    return e.keyPath();
  }
  return "(accepted)";
}

// Values just below min and just above max (none above an unbounded or uint64 max).
std::vector<json> justOutside(const KeyRule& r) {
  std::vector<json> out;
  if (r.type == KeyType::integer) {
    out.push_back(std::int64_t(r.min) - 1);
    if (r.max < 9.0e18) out.push_back(std::int64_t(r.max) + 1);
  } else {
    out.push_back(std::nextafter(r.min, -kUnbounded));
    if (!std::isinf(r.max)) out.push_back(std::nextafter(r.max, kUnbounded));
  }
  return out;
}

json wrongType(const KeyRule& r) {
  switch (r.type) {
    case KeyType::boolean: return 1;
    case KeyType::integer: return 2.5;
    case KeyType::number: return "1";
    case KeyType::string:
    case KeyType::choice: return 7;
    case KeyType::object: return 5;
    case KeyType::array: return json::object();
  }
  return nullptr;
}

std::string label(const KeyRule& r, const std::string& selected) {
  return r.path + (selected.empty() ? "" : " (" + selected + ")");
}

}  // namespace

class ExperimentSchema : public QObject {
  Q_OBJECT

 private slots:
  void entriesAreWellFormed() {
    for (const KeyRule& r : experimentSchema()) {
      const QByteArray what = QByteArray::fromStdString(r.path);
      QVERIFY2(!r.help.empty(), what);
      QVERIFY2(r.help.find('|') == std::string::npos, what);  // it goes into a Markdown table
      if (r.required) QVERIFY2(!r.ifMissing.empty() && r.defaultValue.is_null(), what);
      if (r.type == KeyType::integer || r.type == KeyType::number) QVERIFY2(r.min <= r.max, what);
      if (r.type == KeyType::choice) QVERIFY2(!r.choices.empty(), what);
      const std::string_view sel = selectorKey(r.section());
      for (const std::string& w : r.when) {
        QVERIFY2(!sel.empty(), what);
        const auto& choices = keyRule(r.section(), sel).choices;
        QVERIFY2(std::find(choices.begin(), choices.end(), w) != choices.end(), what + " when " + w.c_str());
        // No two entries of one path apply to the same selector value.
        QCOMPARE(findKeyRule(r.section(), r.key(), w), &r);
      }
      for (const std::string& s : selections(r)) {
        const json def = defaultFor(r, json{{std::string(sel), s}});
        if (def.is_number() && r.type != KeyType::object) {
          QVERIFY2(def.get<double>() >= r.min && def.get<double>() <= r.max, what);
        }
        if (def.is_string() && r.type == KeyType::choice) {
          QVERIFY2(std::find(r.choices.begin(), r.choices.end(), def.get<std::string>()) != r.choices.end(), what);
        }
      }
    }
    QCOMPARE(keyRule("network.layers[]", "type").choices.size(), allLayerTypes().size());
    QVERIFY(keyRule("dataset", "name").choices == datasetNames());
  }

  void theParsersDefaultIsTheSchemas() {
    int checked = 0;
    forEachParsedRule([&](const KeyRule& r, const std::string& selected) {
      if (!isValueKey(r) || r.required) return;
      Placement p = place(r, selected);
      p.file.at(p.object).erase(r.key());  // a selector key ("type") falls back to its default
      const json def = defaultFor(r, p.file.contains(p.object) ? p.file.at(p.object) : json::object());
      if (def.is_null()) return;  // steps: a file without it trains for epochs
      const json written = toJson(parseExperiment(p.file)).at(p.object / p.key);
      if (def.is_number()) {
        QVERIFY2(float(written.get<double>()) == float(def.get<double>()), label(r, selected).c_str());
      } else {
        QVERIFY2(written == def, (label(r, selected) + ": " + written.dump() + " vs " + def.dump()).c_str());
      }
      ++checked;
    });
    QVERIFY(checked > 50);
    // The defaults the issue found wrong in the GUI: the schema says them once.
    QVERIFY(defaultFor(keyRule("optimizer", "weight_decay", "adamw"), json{{"type", "adamw"}}) == json(0.01));
    QVERIFY(defaultFor(keyRule("network.layers[]", "stride", "maxpool2d"), json{{"type", "maxpool2d"}, {"kernel", 3}}) ==
            json(3));
  }

  void aMissingRequiredKeyIsNamed() {
    forEachParsedRule([&](const KeyRule& r, const std::string& selected) {
      if (!r.required) return;
      Placement p = place(r, selected);
      p.file.at(p.object).erase(r.key());
      std::string message;
      QCOMPARE(errorPath(p.file, &message), p.keyPath);
      QVERIFY2(message.find(r.ifMissing) != std::string::npos, message.c_str());
    });
  }

  void valuesJustOutsideTheRangeAreRejectedWithTheKeyPath() {
    int checked = 0;
    forEachParsedRule([&](const KeyRule& r, const std::string& selected) {
      if (r.type != KeyType::integer && r.type != KeyType::number) return;
      for (const json& bad : justOutside(r)) {
        Placement p = place(r, selected);
        if (r.oneOf == "length") p.file.erase("epochs");
        p.file[p.object / p.key] = bad;
        std::string message;
        QVERIFY2(errorPath(p.file, &message) == p.keyPath, (label(r, selected) + " = " + bad.dump() + ": " + message).c_str());
        QVERIFY2(message.find("out of range (allowed: ") != std::string::npos, message.c_str());
        ++checked;
      }
    });
    QVERIFY(checked > 50);
  }

  void wrongTypesAndUnknownChoicesAreRejectedWithTheKeyPath() {
    forEachParsedRule([&](const KeyRule& r, const std::string& selected) {
      std::vector<json> bad = {wrongType(r)};
      if (r.type == KeyType::choice) bad.push_back("no-such-choice");
      for (const json& value : bad) {
        Placement p = place(r, selected);
        p.file[p.object / p.key] = value;
        std::string message;
        QVERIFY2(errorPath(p.file, &message) == p.keyPath, (label(r, selected) + " = " + value.dump() + ": " + message).c_str());
      }
    });
  }

  void theWriterWritesEveryKey() {
    forEachParsedRule([&](const KeyRule& r, const std::string& selected) {
      Placement p = place(r, selected);
      if (r.oneOf == "length") {
        p.file.erase("epochs");
        p.file[r.key()] = r.suggested.is_null() ? json(r.defaultValue) : r.suggested;
      }
      const Experiment e = parseExperiment(p.file);
      const json written = toJson(e);
      QVERIFY2(written.contains(p.object / p.key), label(r, selected).c_str());
      QVERIFY(parseExperiment(written) == e);
    });
  }

  void theErrorCarriesTheKeyPath() {
    json file = kMinimal;
    file["network"]["layers"] = json::array({{{"type", "relu"}}, {{"type", "relu"}}, {{"type", "linear"}, {"out", 2}, {"precision", "fp61"}}});
    QCOMPARE(errorPath(file), std::string("network.layers[2].precision"));
    try {
      parseExperimentText(file.dump(), "lesson.json");
      QFAIL("no ExperimentError");
    } catch (const ExperimentError& e) {
      QCOMPARE(e.keyPath(), std::string("network.layers[2].precision"));
      QVERIFY(QString::fromUtf8(e.what()).startsWith("lesson.json: network.layers[2].precision: "));
    }
    QCOMPARE(schemaPathOf("network.layers[12].kernel"), std::string("network.layers[].kernel"));
  }

  // engine/data reads the dataset object (engine/data/dataset.cpp): its defaults,
  // limits and keys per set must be the schema's.
  void theDatasetReaderAgreesWithTheSchema() {
    const auto& names = keyRule("dataset", "name").choices;
    auto rejects = [](const json& spec, const std::string& key) {
      try {
        loadDataset(spec, 1);
      } catch (const DatasetError& e) {
        return std::string(e.what()).rfind("dataset." + key + ":", 0) == 0;
      }
      return false;
    };
    for (const KeyRule& r : experimentSchema()) {
      if (r.section() != "dataset" || r.key() == "name") continue;
      const QByteArray what = QByteArray::fromStdString(r.path);
      for (const std::string& name : names) {
        const bool applies = r.appliesTo(name);
        if (!applies && !findKeyRule("dataset", r.key(), name)) {
          QVERIFY2(rejects(json{{"name", name}, {r.key(), json(r.defaultValue.is_null() ? json(1) : r.defaultValue)}}, r.key()),
                   what + " on " + name.c_str());
        }
        if (!applies) continue;
        if (r.type == KeyType::integer || r.type == KeyType::number) {
          for (const json& bad : justOutside(r)) {
            json spec = {{"name", name}, {r.key(), bad}};
            if (findKeyRule("dataset", "path", name)) spec["path"] = "/nonexistent";  // "idx" requires one
            QVERIFY2(rejects(spec, r.key()), what + " = " + bad.dump().c_str());
          }
        }
        const bool synthetic = std::find(r.when.begin(), r.when.end(), "spirals") != r.when.end() ||
                               r.key() == "classes" || r.key() == "image_size";
        if (!synthetic || r.defaultValue.is_null()) continue;
        // The default: a set made without the key equals one made with the schema's default.
        const json small = {{"name", name}, {"train_size", 8}, {"test_size", 8}};
        json explicitDefault = small;
        explicitDefault[r.key()] = r.defaultValue;
        const Dataset a = loadDataset(r.key() == "train_size" || r.key() == "test_size" ? json{{"name", name}} : small, 3);
        const Dataset b = loadDataset(r.key() == "train_size" || r.key() == "test_size"
                                          ? json{{"name", name}, {r.key(), r.defaultValue}} : explicitDefault, 3);
        QVERIFY2(a.trainX == b.trainX && a.testX == b.testX && a.trainY == b.trainY &&
                     a.numClasses == b.numClasses && a.trainCount == b.trainCount,
                 what + " on " + name.c_str());
      }
    }
  }

  void theDocsShowTheGeneratedTables() {
    QFile f(QStringLiteral(PLAB_SOURCE_DIR "/docs/experiment-format.md"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const std::string doc = f.readAll().toStdString();
    QVERIFY2(withSchemaTables(doc) == doc,
             "docs/experiment-format.md is stale; regenerate its key tables with: "
             "build/app/cli/precisionlab-cli schema --write docs/experiment-format.md");
    for (const KeyRule& r : experimentSchema()) {
      QVERIFY2(doc.find("| `" + r.key() + "` |") != std::string::npos, r.path.c_str());
    }
  }
};

QTEST_GUILESS_MAIN(ExperimentSchema)
#include "tst_schema.moc"
