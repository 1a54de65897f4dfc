#pragma once
// The parameters of the selected layer: type, precision and every key its type takes,
// each widget built from the key's schema entry (engine/model/experiment_schema.h:
// range, choices, default, tooltip), so new keys appear without GUI changes.
// Each change is an undoable edit of the document.
#include <QWidget>
#include <nlohmann/json.hpp>

class QFormLayout;

namespace plab {
struct KeyRule;
}

namespace plab::ui {

class ExperimentDocument;

class LayerParamsForm : public QWidget {
  Q_OBJECT
 public:
  LayerParamsForm(ExperimentDocument* doc, QWidget* parent = nullptr);
  void setLayerIndex(int index);  // -1: nothing selected
  int layerIndex() const { return index_; }
  // Marks the field of an ExperimentError's key path ("network.layers[2].kernel") if
  // it is on the shown layer, and clears the others; returns whether one was marked.
  bool showError(const std::string& keyPath, const QString& message);

 private:
  void rebuild();
  void refreshValues();
  void addField(const KeyRule& rule);
  void setKey(const std::string& key, const nlohmann::json& value);

  ExperimentDocument* doc_;
  QFormLayout* form_;
  int index_ = -1;
  std::string builtType_;
  int builtIndex_ = -2;
  std::string errorPath_;  // the last showError's, kept across rebuilds
  QString errorMessage_;
};

// Every key of a layer type at its schema default (or suggestion, for "out"), besides
// type and precision ("linear" -> out, bias, init_gain).
nlohmann::json layerDefaults(const std::string& type);
// A new layer of type in precision, with every key written (sizes as the schema suggests).
nlohmann::json newLayer(const std::string& type, const QString& precision);
QStringList layerTypeNames();

}  // namespace plab::ui
