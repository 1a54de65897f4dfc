#pragma once
// Training settings: dataset (with a preview), optimizer, schedule, batch, length,
// seed, master weights, loss scaling with all its parameters, fp8 scaling, statistics
// interval and backend. Every field is bound to the experiment document by its schema
// path (editor/json_binder.h), which gives its range, default and tooltip.
#include <QWidget>
#include <functional>
#include <string>

class QLabel;
class QFormLayout;
class QComboBox;

namespace plab::ui {

class ExperimentDocument;
class JsonBinder;
class DatasetPreview;

class TrainingSettings : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingSettings(ExperimentDocument* doc, QWidget* parent = nullptr);
  // Shown beside the backend choice once a run reports its device.
  void setDeviceText(const QString& text);
  // Marks the field of an ExperimentError's key path; false if no field here has it.
  bool showError(const std::string& keyPath, const QString& message);

 private:
  QWidget* experimentGroup();
  QWidget* datasetGroup();
  QWidget* optimizerGroup();
  QWidget* lengthGroup();
  QWidget* lossScalingGroup();
  QWidget* fp8Group();
  QWidget* runtimeGroup();
  QComboBox* selectorField(const std::string& path, const std::function<void(const QString&)>& onPick);
  void updatePreview();
  void replaceObject(const char* key, const QString& type, const char* typeKey, const char* text);

  ExperimentDocument* doc_;
  JsonBinder* bind_;
  DatasetPreview* preview_;
  QLabel* device_;
};

}  // namespace plab::ui
