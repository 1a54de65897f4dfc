// The GUI's forms against the experiment schema, on the real widgets (offscreen): for
// every key the training settings and the layer form show, the widget shows the
// schema's default, has its limits or choices and a tooltip with its help and units,
// and is enabled exactly where the key applies. An ExperimentError marks the widget
// of its key path.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSpinBox>
#include <QtTest>

#include <climits>
#include <cmath>
#include <limits>

#include "editor/experiment_document.h"
#include "editor/json_binder.h"
#include "editor/layer_params_form.h"
#include "editor/network_editor.h"
#include "gui_test_support.h"
#include "model/experiment_schema.h"
#include "training/training_settings.h"

using namespace plab;
using namespace plab::ui;
using nlohmann::json;

namespace {

const json kMinimal = json::parse(R"({
  "dataset": {"name": "spirals"},
  "network": {"layers": [{"type": "linear", "out": 2}]}
})");

QString q(const std::string& s) { return QString::fromStdString(s); }

// What the form must show for a key: the file's value, else the schema's default, else
// its suggestion (a linear layer's "out"), else empty text (an "idx" set's path).
json expectedValue(const KeyRule& r, const json& object) {
  if (object.contains(r.key())) return object[r.key()];
  const json def = defaultFor(r, object);
  if (!def.is_null()) return def;
  return r.suggested.is_null() ? json("") : r.suggested;
}

// Compares one widget with its schema entry; returns "" or what differs.
QString differences(QWidget* w, const KeyRule& r, const json& object) {
  QStringList out;
  const json def = expectedValue(r, object);
  if (!w->toolTip().contains(q(r.help))) out << "tooltip lacks the help: " + w->toolTip();
  if (!r.units.empty() && !w->toolTip().contains(q(r.units))) out << "tooltip lacks the units: " + w->toolTip();
  if (auto* spin = qobject_cast<QSpinBox*>(w)) {
    if (spin->value() != int(def.get<double>())) out << QStringLiteral("value %1, default %2").arg(spin->value()).arg(q(def.dump()));
    if (spin->minimum() != int(std::max(r.min, double(INT_MIN)))) out << QStringLiteral("minimum %1").arg(spin->minimum());
    if (spin->maximum() != int(std::min(r.max, double(INT_MAX)))) out << QStringLiteral("maximum %1").arg(spin->maximum());
  } else if (auto* number = qobject_cast<QDoubleSpinBox*>(w)) {
    if (number->value() != def.get<double>()) out << QStringLiteral("value %1, default %2").arg(number->value()).arg(q(def.dump()));
    if (number->minimum() != r.min) out << QStringLiteral("minimum %1").arg(number->minimum());
    const double max = std::isinf(r.max) ? std::numeric_limits<double>::max() : r.max;
    if (number->maximum() != max) out << QStringLiteral("maximum %1").arg(number->maximum());
    // The widget's text reads back as its value: 1e-8 must not show as 0.000000.
    if (number->valueFromText(number->textFromValue(def.get<double>())) != def.get<double>()) out << "text loses the value";
  } else if (auto* check = qobject_cast<QCheckBox*>(w)) {
    if (check->isChecked() != def.get<bool>()) out << "checked state is not the default";
  } else if (auto* combo = qobject_cast<QComboBox*>(w)) {
    QStringList items, expected;
    for (int i = 0; i < combo->count(); ++i) items << combo->itemText(i);
    for (const auto& c : r.choices) expected << q(c);
    if (items != expected) out << "choices " + items.join(',');
    if (combo->currentText() != q(def.get<std::string>())) out << "shows " + combo->currentText();
  } else if (auto* line = qobject_cast<QLineEdit*>(w)) {
    if (line->text() != q(def.get<std::string>())) out << "shows " + line->text();
  } else {
    out << "not a form widget";
  }
  return out.join(QStringLiteral("; "));
}

// The object of a section in a document where its selector is `selected`.
json withSelector(const std::string& section, const std::string& selected) {
  json file = kMinimal;
  const std::string sel(selectorKey(section));
  if (!sel.empty()) file[section] = json{{sel, selected}};
  return file;
}

}  // namespace

class TestGuiSchema : public QObject {
  Q_OBJECT

 private slots:
  void trainingSettingsShowTheSchema() {
    ExperimentDocument doc;
    TrainingSettings settings(&doc);
    int checked = 0;
    for (const KeyRule& r : experimentSchema()) {
      const std::string section = r.section();
      // The network's keys are the network editor's (below); format_version is not a setting.
      if (section.rfind("network", 0) == 0 || r.type == KeyType::object || r.type == KeyType::array ||
          r.path == "format_version") {
        continue;
      }
      const std::string sel(selectorKey(section));
      std::vector<std::string> values = r.when;
      if (values.empty()) values = {sel.empty() ? std::string() : keyRule(section, sel).choices.front()};
      for (const std::string& v : values) {
        json file = withSelector(section, v);
        if (r.oneOf == "length" && r.key() == "steps") file["steps"] = r.suggested;
        doc.load(file, {});
        auto* w = settings.findChild<QWidget*>(jsonPointerOf(r.path));
        QVERIFY2(w, qPrintable(q(r.path) + " has no widget"));
        QVERIFY2(w->isEnabled(), qPrintable(q(r.path) + " disabled for " + q(v)));
        const json object = section.empty() ? file : file[section];
        const QString diff = differences(w, r, object);
        QVERIFY2(diff.isEmpty(), qPrintable(q(r.path) + " (" + q(v) + "): " + diff));
        ++checked;
      }
    }
    QVERIFY(checked > 40);
  }

  // A key that does not apply to the selected optimizer, schedule, mode or dataset is disabled.
  void keysOutsideTheirSelectionAreDisabled() {
    ExperimentDocument doc;
    TrainingSettings settings(&doc);
    for (const std::string section : {"dataset", "optimizer", "schedule", "loss_scaling", "fp8"}) {
      const std::string sel(selectorKey(section));
      for (const std::string& v : keyRule(section, sel).choices) {
        doc.load(withSelector(section, v), {});
        for (const KeyRule& r : experimentSchema()) {
          if (r.section() != section) continue;
          auto* w = settings.findChild<QWidget*>(jsonPointerOf(r.path));
          QVERIFY(w);
          QVERIFY2(w->isEnabled() == (findKeyRule(section, r.key(), v) != nullptr), qPrintable(q(r.path) + " for " + q(v)));
        }
      }
    }
  }

  void theLayerFormShowsTheSchema() {
    ExperimentDocument doc;
    LayerParamsForm form(&doc);
    for (const std::string& type : keyRule("network.layers[]", "type").choices) {
      json file = kMinimal;
      json layer = {{"type", type}};
      for (const KeyRule* r : keyRulesOf("network.layers[]", type)) {
        if (r->required && r->key() != "type") layer[r->key()] = r->suggested;
      }
      file["network"]["layers"] = json::array({layer});
      doc.load(file, {});
      form.setLayerIndex(0);
      for (const KeyRule* r : keyRulesOf("network.layers[]", type)) {
        const QString name = r->key() == "type" ? QStringLiteral("layerType")
                             : r->key() == "precision" ? QStringLiteral("layerPrecision")
                                                       : QStringLiteral("param_") + q(r->key());
        auto* w = form.findChild<QWidget*>(name);
        QVERIFY2(w, qPrintable(q(type) + ": no widget " + name));
        const QString diff = differences(w, *r, layer);
        QVERIFY2(diff.isEmpty(), qPrintable(q(type) + "." + q(r->key()) + ": " + diff));
      }
    }
  }

  void theLossComboShowsTheSchema() {
    ExperimentDocument doc;
    doc.load(kMinimal, {});
    NetworkEditor editor(&doc);
    auto* combo = editor.findChild<QComboBox*>(QStringLiteral("lossCombo"));
    QVERIFY(combo);
    const QString diff = differences(combo, keyRule("network", "loss"), kMinimal["network"]);
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
  }

  // The issue's example: AdamW's decoupled decay is 0.01 in the engine, so in the form.
  void adamwShowsItsWeightDecay() {
    ExperimentDocument doc;
    TrainingSettings settings(&doc);
    doc.load(withSelector("optimizer", "adamw"), {});
    QCOMPARE(settings.findChild<QDoubleSpinBox*>(QStringLiteral("/optimizer/weight_decay"))->value(), 0.01);
    doc.load(withSelector("optimizer", "adam"), {});
    QCOMPARE(settings.findChild<QDoubleSpinBox*>(QStringLiteral("/optimizer/weight_decay"))->value(), 0.0);
  }

  // The parser's error names a key path; the main window marks that field (and only it).
  void theRejectedFieldIsMarked() {
    QTemporaryDir dir;
    auto window = test::makeWindow(dir);
    json file = defaultExperimentJson();
    file["optimizer"]["lr"] = -1;
    window->document()->load(file, {});
    window->networkEditor()->checkNow();
    QCOMPARE(window->networkEditor()->lastCheck().errorKeyPath, std::string("optimizer.lr"));
    auto* lr = window->findChild<QWidget*>(QStringLiteral("/optimizer/lr"));
    QVERIFY(lr);
    QVERIFY2(lr->property("schemaError").toString().contains(QStringLiteral("out of range")), qPrintable(lr->toolTip()));
    QVERIFY(lr->toolTip().startsWith(QStringLiteral("⚠")));
    QVERIFY(window->findChild<QWidget*>(QStringLiteral("/batch_size"))->property("schemaError").toString().isEmpty());

    // On a layer: the field of the selected layer's key.
    file["optimizer"]["lr"] = 0.01;
    file["network"]["layers"][1]["precision"] = "fp61";
    window->document()->load(file, {});
    window->networkEditor()->selectLayer(1);
    window->networkEditor()->checkNow();
    QCOMPARE(window->networkEditor()->lastCheck().errorKeyPath, std::string("network.layers[1].precision"));
    auto* precision = window->findChild<QWidget*>(QStringLiteral("layerPrecision"));
    QVERIFY(precision);
    QVERIFY(precision->property("schemaError").toString().contains(QStringLiteral("fp61")));
    QVERIFY(lr->property("schemaError").toString().isEmpty());  // fixed, so cleared
  }
};

QTEST_MAIN(TestGuiSchema)
#include "tst_gui_schema.moc"
