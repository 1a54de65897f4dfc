#include "training/training_settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include "training/dataset_preview.h"
#include "editor/experiment_document.h"
#include "editor/json_binder.h"
#include "model/experiment_schema.h"

namespace plab::ui {

TrainingSettings::TrainingSettings(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), doc_(doc), bind_(new JsonBinder(doc, this)) {
  auto* outer = new QHBoxLayout(this);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  auto* content = new QWidget;
  auto* column = new QVBoxLayout(content);
  column->addWidget(experimentGroup());
  column->addWidget(datasetGroup());
  column->addWidget(optimizerGroup());
  column->addWidget(lengthGroup());
  column->addWidget(lossScalingGroup());
  column->addWidget(fp8Group());
  column->addWidget(runtimeGroup());
  column->addStretch(1);
  scroll->setWidget(content);
  outer->addWidget(scroll, 3);
  preview_ = new DatasetPreview;
  outer->addWidget(preview_, 2);
  connect(bind_, &JsonBinder::refreshed, this, &TrainingSettings::updatePreview);
  updatePreview();
}

// A selector combo box ("dataset.name", "optimizer.type", ...) whose change replaces
// its whole object: each value takes its own keys.
QComboBox* TrainingSettings::selectorField(const std::string& path, const std::function<void(const QString&)>& onPick) {
  auto* combo = qobject_cast<QComboBox*>(bind_->field(path));
  disconnect(combo, &QComboBox::textActivated, nullptr, nullptr);
  connect(combo, &QComboBox::textActivated, this, onPick);
  return combo;
}

QWidget* TrainingSettings::experimentGroup() {
  auto* box = new QGroupBox(tr("Experiment"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Title"), bind_->field("title"));
  form->addRow(tr("Description"), bind_->field("description"));
  return box;
}

QWidget* TrainingSettings::datasetGroup() {
  auto* box = new QGroupBox(tr("Dataset"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Name"), selectorField("dataset.name", [this](const QString& n) {
    doc_->edit(tr("Use dataset %1").arg(n), [n](nlohmann::json& j) { j["dataset"] = {{"name", n.toStdString()}}; });
  }));
  form->addRow(tr("Train examples"), bind_->field("dataset.train_size"));
  form->addRow(tr("Test examples"), bind_->field("dataset.test_size"));
  form->addRow(tr("Noise"), bind_->field("dataset.noise"));
  form->addRow(tr("Classes"), bind_->field("dataset.classes"));
  form->addRow(tr("Image size"), bind_->field("dataset.image_size"));
  form->addRow(tr("IDX folder"), bind_->field("dataset.path"));
  form->addRow(tr("Use first N train (0: all)"), bind_->field("dataset.limit_train"));
  form->addRow(tr("Use first N test (0: all)"), bind_->field("dataset.limit_test"));
  form->addRow(QString(), bind_->field("dataset.normalize", tr("Standardise pixels")));
  form->addRow(tr("Input scale (raw units)"), bind_->field("dataset.input_scale"));
  return box;
}

void TrainingSettings::replaceObject(const char* key, const QString& type, const char* typeKey, const char* text) {
  const std::string k = key, tk = typeKey;
  doc_->edit(tr(text).arg(type), [k, tk, type](nlohmann::json& j) {
    nlohmann::json fresh = {{tk, type.toStdString()}};
    // The learning rate survives a change of optimizer; the rest is type-specific.
    if (k == "optimizer" && j.contains("optimizer") && j["optimizer"].contains("lr")) fresh["lr"] = j["optimizer"]["lr"];
    j[k] = fresh;
  });
}

QWidget* TrainingSettings::optimizerGroup() {
  auto* box = new QGroupBox(tr("Optimizer and schedule"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Optimizer"), selectorField("optimizer.type", [this](const QString& t) {
    replaceObject("optimizer", t, "type", "Use optimizer %1");
  }));
  form->addRow(tr("Learning rate"), bind_->field("optimizer.lr"));
  form->addRow(tr("Momentum"), bind_->field("optimizer.momentum"));
  form->addRow(QString(), bind_->field("optimizer.nesterov", tr("Nesterov")));
  form->addRow(tr("Weight decay"), bind_->field("optimizer.weight_decay"));
  form->addRow(tr("β1"), bind_->field("optimizer.beta1"));
  form->addRow(tr("β2"), bind_->field("optimizer.beta2"));
  form->addRow(tr("ε"), bind_->field("optimizer.eps"));
  form->addRow(tr("Gradient clip norm (0: off)"), bind_->field("grad_clip_norm"));
  form->addRow(tr("Schedule"), selectorField("schedule.type", [this](const QString& t) {
    replaceObject("schedule", t, "type", "Use schedule %1");
  }));
  form->addRow(tr("Step size (steps)"), bind_->field("schedule.step_size"));
  form->addRow(tr("γ (step decay)"), bind_->field("schedule.gamma"));
  form->addRow(tr("Minimum rate (cosine)"), bind_->field("schedule.min_lr"));
  form->addRow(tr("Warm-up steps"), bind_->field("schedule.warmup_steps"));
  return box;
}

QWidget* TrainingSettings::lengthGroup() {
  auto* box = new QGroupBox(tr("Batch and length"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Batch size"), bind_->field("batch_size"));
  auto* unit = new QComboBox;
  unit->setObjectName(QStringLiteral("lengthUnit"));
  unit->addItems({tr("epochs"), tr("steps")});
  QWidget* epochs = bind_->field("epochs");
  QWidget* steps = bind_->field("steps");
  auto* row = new QHBoxLayout;
  row->addWidget(unit);
  row->addWidget(epochs);
  row->addWidget(steps);
  form->addRow(tr("Train for"), row);
  auto sync = [this, unit, epochs, steps] {
    const bool bySteps = doc_->json().contains("steps");
    const QSignalBlocker block(unit);
    unit->setCurrentIndex(bySteps ? 1 : 0);
    epochs->setVisible(!bySteps);
    steps->setVisible(bySteps);
  };
  connect(bind_, &JsonBinder::refreshed, unit, sync);
  connect(unit, &QComboBox::currentIndexChanged, this, [this](int index) {
    // The file takes either epochs or steps, never both; each starts at the schema's value.
    doc_->edit(index == 1 ? tr("Train for a number of steps") : tr("Train for whole epochs"), [index](nlohmann::json& j) {
      if (index == 1) {
        j.erase("epochs");
        j["steps"] = keyRule("", "steps").suggested;
      } else {
        j.erase("steps");
        j["epochs"] = keyRule("", "epochs").defaultValue;
      }
    });
  });
  sync();
  form->addRow(tr("Seed"), bind_->field("seed"));
  return box;
}

QWidget* TrainingSettings::lossScalingGroup() {
  auto* box = new QGroupBox(tr("Mixed precision"));
  auto* form = new QFormLayout(box);
  form->addRow(QString(), bind_->field("master_weights", tr("fp32 master weights (the optimizer updates an fp32 copy)")));
  form->addRow(tr("Loss scaling"), selectorField("loss_scaling.mode", [this](const QString& m) {
    replaceObject("loss_scaling", m, "mode", "Loss scaling %1");
  }));
  form->addRow(tr("Static scale"), bind_->field("loss_scaling.scale"));
  form->addRow(tr("Initial scale"), bind_->field("loss_scaling.init_scale"));
  form->addRow(tr("Growth factor"), bind_->field("loss_scaling.growth_factor"));
  form->addRow(tr("Backoff factor"), bind_->field("loss_scaling.backoff_factor"));
  form->addRow(tr("Growth interval"), bind_->field("loss_scaling.growth_interval"));
  form->addRow(tr("Hysteresis"), bind_->field("loss_scaling.hysteresis"));
  form->addRow(tr("Min scale (0: none)"), bind_->field("loss_scaling.min_scale"));
  form->addRow(tr("Max scale (0: none)"), bind_->field("loss_scaling.max_scale"));
  // Adaptive precision (docs/architecture.md): layers that keep losing values move up.
  form->addRow(tr("Precision policy"), selectorField("precision_policy.mode", [this](const QString& m) {
    replaceObject("precision_policy", m, "mode", "Precision policy %1");
  }));
  form->addRow(tr("Underflow limit (share)"), bind_->field("precision_policy.underflow_limit"));
  form->addRow(tr("Overflow limit (share)"), bind_->field("precision_policy.overflow_limit"));
  form->addRow(tr("Patience (statistics steps)"), bind_->field("precision_policy.patience"));
  return box;
}

QWidget* TrainingSettings::fp8Group() {
  auto* box = new QGroupBox(tr("fp8 scaling"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Per-tensor scaling"), selectorField("fp8.scaling", [this](const QString& mode) {
    // The formats survive; history and margin belong to delayed scaling only.
    doc_->edit(tr("fp8 scaling %1").arg(mode), [mode](nlohmann::json& j) {
      nlohmann::json& fp8 = j["fp8"];
      if (!fp8.is_object()) fp8 = nlohmann::json::object();
      fp8["scaling"] = mode.toStdString();
      if (mode != QLatin1String("delayed")) {
        fp8.erase("history");
        fp8.erase("margin");
      }
    });
  }));
  form->addRow(tr("Amax history (steps)"), bind_->field("fp8.history"));
  form->addRow(tr("Margin (powers of two)"), bind_->field("fp8.margin"));
  form->addRow(tr("Forward format"), bind_->field("fp8.forward"));
  form->addRow(tr("Backward format"), bind_->field("fp8.backward"));
  return box;
}

QWidget* TrainingSettings::runtimeGroup() {
  auto* box = new QGroupBox(tr("Statistics and backend"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Layer statistics every (steps, 0: never)"), bind_->field("stats_interval"));
  form->addRow(QString(), bind_->field("shadow_stats", tr("Shadow stats: on statistics steps also run the step in fp32 "
                                                          "and show what each layer's format would do to it")));
  form->addRow(tr("Log every (steps)"), bind_->field("log_interval"));
  form->addRow(tr("Evaluate every (steps, 0: per epoch)"), bind_->field("eval_interval"));
  form->addRow(tr("Backend"), bind_->field("backend"));
  device_ = new QLabel(tr("Device: shown when a run starts"));
  device_->setObjectName(QStringLiteral("deviceLabel"));
  device_->setWordWrap(true);
  form->addRow(tr("Device"), device_);
  return box;
}

void TrainingSettings::setDeviceText(const QString& text) { device_->setText(text); }

bool TrainingSettings::showError(const std::string& keyPath, const QString& message) {
  return bind_->showError(keyPath, message);
}

void TrainingSettings::updatePreview() {
  const auto& j = doc_->json();
  preview_->setDatasetSpec(j.value("dataset", nlohmann::json::object()), j.value("seed", 0));
}

}  // namespace plab::ui
