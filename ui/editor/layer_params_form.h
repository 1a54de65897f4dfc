#pragma once
// The parameters of the selected layer: type, precision and every key its type takes
// (from the engine's defaultLayerSpec, so new keys appear without GUI changes).
// Each change is an undoable edit of the document.
#include <QWidget>
#include <nlohmann/json.hpp>

class QFormLayout;

namespace plab::ui {

class ExperimentDocument;

class LayerParamsForm : public QWidget {
  Q_OBJECT
 public:
  LayerParamsForm(ExperimentDocument* doc, QWidget* parent = nullptr);
  void setLayerIndex(int index);  // -1: nothing selected
  int layerIndex() const { return index_; }

 private:
  void rebuild();
  void refreshValues();
  void addField(const std::string& key, const nlohmann::json& defaultValue);
  void setKey(const std::string& key, const nlohmann::json& value);

  ExperimentDocument* doc_;
  QFormLayout* form_;
  int index_ = -1;
  std::string builtType_;
  int builtIndex_ = -2;
};

// Defaults of every key of a layer type, as the engine writes them ("linear" -> out, bias, ...).
nlohmann::json layerDefaults(const std::string& type);
// A new layer of type in precision, with usable sizes (linear 64, conv2d 16 channels).
nlohmann::json newLayer(const std::string& type, const QString& precision);
QStringList layerTypeNames();

}  // namespace plab::ui
