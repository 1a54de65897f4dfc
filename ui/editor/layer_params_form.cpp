#include "editor/layer_params_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>

#include "editor/experiment_document.h"
#include "model/experiment.h"
#include "common/precision_palette.h"

namespace plab::ui {

nlohmann::json layerDefaults(const std::string& type) {
  const auto parsed = parseLayerType(type);
  if (!parsed) return nlohmann::json::object();
  nlohmann::json j = toJson(defaultLayerSpec(*parsed));
  j.erase("type");
  j.erase("precision");
  return j;
}

nlohmann::json newLayer(const std::string& type, const QString& precision) {
  nlohmann::json layer = {{"type", type}};
  const nlohmann::json defaults = layerDefaults(type);
  for (auto it = defaults.begin(); it != defaults.end(); ++it) layer[it.key()] = it.value();
  // The engine's defaults leave sizes at 0 ("required"); a new layer should be usable.
  if (type == "linear") layer["out"] = 64;
  if (type == "conv2d") layer["out_channels"] = 16;
  layer["precision"] = precision.toStdString();
  return layer;
}

QStringList layerTypeNames() {
  QStringList names;
  for (LayerType t : allLayerTypes()) {
    const auto n = toString(t);
    names << QString::fromLatin1(n.data(), qsizetype(n.size()));
  }
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
    const QSignalBlocker block(w);
    const auto it = layer.find(key);
    if (it == layer.end()) continue;
    if (auto* spin = qobject_cast<QSpinBox*>(w)) spin->setValue(it->get<int>());
    else if (auto* dspin = qobject_cast<QDoubleSpinBox*>(w)) dspin->setValue(it->get<double>());
    else if (auto* check = qobject_cast<QCheckBox*>(w)) check->setChecked(it->get<bool>());
    else if (auto* combo = qobject_cast<QComboBox*>(w)) combo->setCurrentText(QString::fromStdString(it->get<std::string>()));
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
  form_->addRow(new QLabel(tr("<b>Layer %1</b>").arg(index_ + 1)));

  auto* type = new QComboBox;
  type->setObjectName(QStringLiteral("layerType"));
  type->addItems(layerTypeNames());
  type->setCurrentText(QString::fromStdString(builtType_));
  type->setProperty("layerKey", QStringLiteral("type"));
  connect(type, &QComboBox::textActivated, this, [this](const QString& t) {
    const int i = index_;
    const QString precision = QString::fromStdString(doc_->layers()[std::size_t(i)].value("precision", std::string("fp32")));
    doc_->edit(tr("Change layer %1 to %2").arg(i + 1).arg(t), [i, t, precision](nlohmann::json& j) {
      j["network"]["layers"][std::size_t(i)] = newLayer(t.toStdString(), precision);
    });
  });
  form_->addRow(tr("Type"), type);

  auto* precision = new QComboBox;
  precision->setObjectName(QStringLiteral("layerPrecision"));
  for (const QString& name : precisionNames()) {
    precision->addItem(name);
    precision->setItemData(precision->count() - 1, precisionColour(name), Qt::DecorationRole);
  }
  precision->setCurrentText(QString::fromStdString(layer.value("precision", std::string("fp32"))));
  precision->setProperty("layerKey", QStringLiteral("precision"));
  connect(precision, &QComboBox::textActivated, this,
          [this](const QString& p) { setKey("precision", p.toStdString()); });
  form_->addRow(tr("Precision"), precision);

  const nlohmann::json defaults = layerDefaults(builtType_);
  for (auto it = defaults.begin(); it != defaults.end(); ++it) addField(it.key(), it.value());
  refreshValues();
}

void LayerParamsForm::addField(const std::string& key, const nlohmann::json& defaultValue) {
  const auto& layer = doc_->layers()[std::size_t(index_)];
  const nlohmann::json value = layer.contains(key) ? layer[key] : defaultValue;
  QWidget* field = nullptr;
  if (defaultValue.is_boolean()) {
    auto* check = new QCheckBox;
    check->setChecked(value.get<bool>());
    connect(check, &QCheckBox::toggled, this, [this, key](bool on) { setKey(key, on); });
    field = check;
  } else if (defaultValue.is_number_integer()) {
    auto* spin = new QSpinBox;
    spin->setRange(0, 1 << 20);
    spin->setValue(value.get<int>());
    connect(spin, &QSpinBox::valueChanged, this, [this, key](int v) { setKey(key, v); });
    field = spin;
  } else if (defaultValue.is_number()) {
    auto* spin = new QDoubleSpinBox;
    spin->setDecimals(6);
    spin->setRange(0, 1e6);
    spin->setSingleStep(0.01);
    spin->setValue(value.get<double>());
    connect(spin, &QDoubleSpinBox::valueChanged, this, [this, key](double v) { setKey(key, v); });
    field = spin;
  } else {
    return;  // strings and objects are not layer parameters today
  }
  field->setObjectName(QStringLiteral("param_") + QString::fromStdString(key));
  field->setProperty("layerKey", QString::fromStdString(key));
  form_->addRow(QString::fromStdString(key), field);
}

void LayerParamsForm::setKey(const std::string& key, const nlohmann::json& value) {
  const int i = index_;
  if (i < 0) return;
  doc_->edit(tr("Set layer %1 %2").arg(i + 1).arg(QString::fromStdString(key)),
             [i, key, value](nlohmann::json& j) { j["network"]["layers"][std::size_t(i)][key] = value; },
             QStringLiteral("layer%1.%2").arg(i).arg(QString::fromStdString(key)));
}

}  // namespace plab::ui
