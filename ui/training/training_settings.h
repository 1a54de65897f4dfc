#pragma once
// Training settings: dataset (with a preview), optimizer, schedule, batch, length,
// seed, master weights, loss scaling with all its parameters, statistics interval and
// backend. Every field is bound to the experiment document.
#include <QWidget>

class QLabel;
class QFormLayout;

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

 private:
  QWidget* datasetGroup();
  QWidget* optimizerGroup();
  QWidget* lengthGroup();
  QWidget* lossScalingGroup();
  QWidget* runtimeGroup();
  void updateEnabledFields();
  void replaceObject(const char* key, const QString& type, const char* typeKey, const char* text);

  ExperimentDocument* doc_;
  JsonBinder* bind_;
  DatasetPreview* preview_;
  QLabel* device_;
};

}  // namespace plab::ui
