#include "editor/layer_params_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>

#include "editor/experiment_document.h"
#include "editor/schema_field.h"
#include "model/experiment_schema.h"
#include "common/precision_palette.h"

namespace plab::ui {

namespace {

const char* kLayers = "network.layers[]";

// The keys of a layer type besides "type" and "precision", in the schema's order.
std::vector<const KeyRule*> parameterRules(const std::string& type) {
  std::vector<const KeyRule*> out;
  for (const KeyRule* r : keyRulesOf(kLayers, type)) {
    if (r->key() != "type" && r->key() != "precision") out.push_back(r);
  }
  return out;
}

}  // namespace

nlohmann::json layerDefaults(const std::string& type) {
  nlohmann::json j = nlohmann::json::object();
  j["type"] = type;
  for (const KeyRule* r : parameterRules(type)) j[r->key()] = shownValue(*r, j);
  j.erase("type");
  return j;
}

nlohmann::json newLayer(const std::string& type, const QString& precision) {
  nlohmann::json layer = {{"type", type}};
  // Keys without a default (a linear layer's "out") start at the schema's suggestion.
  const nlohmann::json defaults = layerDefaults(type);
  for (auto it = defaults.begin(); it != defaults.end(); ++it) layer[it.key()] = it.value();
  layer["precision"] = precision.toStdString();
  return layer;
}

QStringList layerTypeNames() {
  QStringList names;
  for (const auto& n : keyRule(kLayers, "type").choices) names << QString::fromStdString(n);
  return names;
}

LayerParamsForm::LayerParamsForm(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), doc_(doc), form_(new QFormLayout(this)) {
  connect(doc_, &ExperimentDocument::changed, this, &LayerParamsForm::refreshValues);
  rebuild();
}

void LayerParamsForm::setLayerIndex(int index) {
  index_ = index;
  rebuild();
}

void LayerParamsForm::refreshValues() {
  const auto& layers = doc_->layers();
  const bool valid = index_ >= 0 && index_ < int(layers.size());
  const std::string type = valid ? layers[std::size_t(index_)].value("type", std::string()) : std::string();
  if (!valid) index_ = -1;
  // Rebuilding takes focus away from the field being typed in, so only rebuild when
  // the layer's type (and so its set of fields) changed; otherwise update in place.
  if (index_ != builtIndex_ || type != builtType_) {
    rebuild();
    return;
  }
  const auto& layer = layers[std::size_t(index_)];
  for (QWidget* w : findChildren<QWidget*>()) {
    const std::string key = w->property("layerKey").toString().toStdString();
    if (key.empty() || w->hasFocus()) continue;
    const KeyRule* rule = findKeyRule(kLayers, key, type);
    if (!rule) continue;
    w->setProperty("schemaToolTip", schemaToolTip(*rule, layer));
    markInvalid(w, w->property("schemaError").toString());
    setWidgetValue(w, shownValue(*rule, layer));
  }
}

void LayerParamsForm::rebuild() {
  while (form_->rowCount() > 0) form_->removeRow(0);
  const auto& layers = doc_->layers();
  builtIndex_ = index_;
  builtType_.clear();
  if (index_ < 0 || index_ >= int(layers.size())) {
    form_->addRow(new QLabel(tr("Select a layer to edit its parameters.")));
    return;
  }
  const auto& layer = layers[std::size_t(index_)];
  builtType_ = layer.value("type", std::string());
  form_->addRow(new QLabel(tr("<b>layers[%1]</b>").arg(index_)));

  auto* type = qobject_cast<QComboBox*>(createSchemaWidget(keyRule(kLayers, "type")));
  type->setObjectName(QStringLiteral("layerType"));
  type->setCurrentText(QString::fromStdString(builtType_));
  type->setProperty("layerKey", QStringLiteral("type"));
  connect(type, &QComboBox::textActivated, this, [this](const QString& t) {
    const int i = index_;
    const auto& old = doc_->layers()[std::size_t(i)];
    const QString precision = QString::fromStdString(shownValue(keyRule(kLayers, "precision"), old).get<std::string>());
    doc_->edit(tr("Change layers[%1] to %2").arg(i).arg(t), [i, t, precision](nlohmann::json& j) {
      j["network"]["layers"][std::size_t(i)] = newLayer(t.toStdString(), precision);
    });
  });
  form_->addRow(tr("Type"), type);

  const KeyRule& precisionRule = keyRule(kLayers, "precision", builtType_);
  auto* precision = qobject_cast<QComboBox*>(createSchemaWidget(precisionRule));
  precision->setObjectName(QStringLiteral("layerPrecision"));
  for (int i = 0; i < precision->count(); ++i) {
    precision->setItemData(i, precisionColour(precision->itemText(i)), Qt::DecorationRole);
  }
  precision->setProperty("layerKey", QStringLiteral("precision"));
  connect(precision, &QComboBox::textActivated, this,
          [this](const QString& p) { setKey("precision", p.toStdString()); });
  form_->addRow(tr("Precision"), precision);

  for (const KeyRule* rule : parameterRules(builtType_)) addField(*rule);
  refreshValues();
  showError(errorPath_, errorMessage_);  // the last check's mark, on the new widgets
}

void LayerParamsForm::addField(const KeyRule& rule) {
  QWidget* field = createSchemaWidget(rule);
  if (!field) return;
  const std::string key = rule.key();
  onWidgetEdited(field, this, [this, key](const nlohmann::json& v) { setKey(key, v); });
  field->setObjectName(QStringLiteral("param_") + QString::fromStdString(key));
  field->setProperty("layerKey", QString::fromStdString(key));
  form_->addRow(QString::fromStdString(key), field);
}

bool LayerParamsForm::showError(const std::string& keyPath, const QString& message) {
  // "network.layers[2].kernel": the field of layer 2's key "kernel", when it is shown.
  errorPath_ = keyPath;
  errorMessage_ = message;
  const std::string prefix = "network.layers[" + std::to_string(index_) + "].";
  const std::string key = keyPath.rfind(prefix, 0) == 0 ? keyPath.substr(prefix.size()) : std::string();
  bool found = false;
  for (QWidget* w : findChildren<QWidget*>()) {
    const std::string k = w->property("layerKey").toString().toStdString();
    if (k.empty()) continue;
    const bool hit = index_ >= 0 && !key.empty() && k == key;
    markInvalid(w, hit ? message : QString());
    found = found || hit;
  }
  return found;
}

void LayerParamsForm::setKey(const std::string& key, const nlohmann::json& value) {
  const int i = index_;
  if (i < 0) return;
  doc_->edit(tr("Set layers[%1] %2").arg(i).arg(QString::fromStdString(key)),
             [i, key, value](nlohmann::json& j) { j["network"]["layers"][std::size_t(i)][key] = value; },
             QStringLiteral("layer%1.%2").arg(i).arg(QString::fromStdString(key)));
}

}  // namespace plab::ui
