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

#include "data/dataset.h"
#include "training/dataset_preview.h"
#include "editor/experiment_document.h"
#include "editor/json_binder.h"

namespace plab::ui {
namespace {

QStringList datasetChoices() {
  QStringList names;
  for (const auto& n : datasetNames()) names << QString::fromStdString(n);
  return names;
}

bool isIdx(const std::string& name) { return name == "fashion-mnist" || name == "mnist" || name == "idx"; }

// Enables the widget and its form label together (labels are buddies).
void setFieldEnabled(QWidget* w, bool enabled) {
  if (!w) return;
  w->setEnabled(enabled);
  w->setToolTip(enabled ? QString() : QObject::tr("Not used with the current choice"));
}

}  // namespace

TrainingSettings::TrainingSettings(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), doc_(doc), bind_(new JsonBinder(doc, this)) {
  auto* outer = new QHBoxLayout(this);
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  auto* content = new QWidget;
  auto* column = new QVBoxLayout(content);
  column->addWidget(datasetGroup());
  column->addWidget(optimizerGroup());
  column->addWidget(lengthGroup());
  column->addWidget(lossScalingGroup());
  column->addWidget(runtimeGroup());
  column->addStretch(1);
  scroll->setWidget(content);
  outer->addWidget(scroll, 3);
  preview_ = new DatasetPreview;
  outer->addWidget(preview_, 2);
  connect(bind_, &JsonBinder::refreshed, this, &TrainingSettings::updateEnabledFields);
  updateEnabledFields();
}

QWidget* TrainingSettings::datasetGroup() {
  auto* box = new QGroupBox(tr("Dataset"));
  auto* form = new QFormLayout(box);
  auto* name = bind_->choice(QStringLiteral("/dataset/name"), QStringLiteral("spirals"), datasetChoices());
  disconnect(name, &QComboBox::textActivated, nullptr, nullptr);
  connect(name, &QComboBox::textActivated, this, [this](const QString& n) {
    // Each dataset takes its own keys, so switching starts from a clean object.
    doc_->edit(tr("Use dataset %1").arg(n), [n](nlohmann::json& j) { j["dataset"] = {{"name", n.toStdString()}}; });
  });
  form->addRow(tr("Name"), name);
  form->addRow(tr("Train examples"), bind_->integer(QStringLiteral("/dataset/train_size"), 2000, 1, 10'000'000));
  form->addRow(tr("Test examples"), bind_->integer(QStringLiteral("/dataset/test_size"), 500, 1, 10'000'000));
  form->addRow(tr("Noise"), bind_->number(QStringLiteral("/dataset/noise"), 0.1, 0, 10, 3));
  form->addRow(tr("Classes"), bind_->integer(QStringLiteral("/dataset/classes"), 2, 2, 100));
  form->addRow(tr("Image size"), bind_->integer(QStringLiteral("/dataset/image_size"), 16, 8, 64));
  form->addRow(tr("IDX folder"), bind_->text(QStringLiteral("/dataset/path"), QString()));
  form->addRow(tr("Use first N train (0: all)"), bind_->integer(QStringLiteral("/dataset/limit_train"), 0, 0, 10'000'000));
  form->addRow(tr("Use first N test (0: all)"), bind_->integer(QStringLiteral("/dataset/limit_test"), 0, 0, 10'000'000));
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
  auto* type = bind_->choice(QStringLiteral("/optimizer/type"), QStringLiteral("adam"),
                             {QStringLiteral("sgd"), QStringLiteral("adam"), QStringLiteral("adamw")});
  disconnect(type, &QComboBox::textActivated, nullptr, nullptr);
  connect(type, &QComboBox::textActivated, this,
          [this](const QString& t) { replaceObject("optimizer", t, "type", "Use optimizer %1"); });
  form->addRow(tr("Optimizer"), type);
  form->addRow(tr("Learning rate"), bind_->number(QStringLiteral("/optimizer/lr"), 0.001, 0, 10, 6));
  form->addRow(tr("Momentum"), bind_->number(QStringLiteral("/optimizer/momentum"), 0, 0, 1, 3));
  form->addRow(QString(), bind_->boolean(QStringLiteral("/optimizer/nesterov"), false, tr("Nesterov")));
  form->addRow(tr("Weight decay"), bind_->number(QStringLiteral("/optimizer/weight_decay"), 0, 0, 1, 5));
  form->addRow(tr("β1"), bind_->number(QStringLiteral("/optimizer/beta1"), 0.9, 0, 1, 4));
  form->addRow(tr("β2"), bind_->number(QStringLiteral("/optimizer/beta2"), 0.999, 0, 1, 5));
  form->addRow(tr("Gradient clip norm (0: off)"), bind_->number(QStringLiteral("/grad_clip_norm"), 0, 0, 1e6, 3));
  auto* schedule = bind_->choice(QStringLiteral("/schedule/type"), QStringLiteral("constant"),
                                 {QStringLiteral("constant"), QStringLiteral("step"), QStringLiteral("cosine")});
  disconnect(schedule, &QComboBox::textActivated, nullptr, nullptr);
  connect(schedule, &QComboBox::textActivated, this,
          [this](const QString& t) { replaceObject("schedule", t, "type", "Use schedule %1"); });
  form->addRow(tr("Schedule"), schedule);
  form->addRow(tr("Step size (steps)"), bind_->integer(QStringLiteral("/schedule/step_size"), 1000, 1, 1 << 30));
  form->addRow(tr("γ (step decay)"), bind_->number(QStringLiteral("/schedule/gamma"), 0.1, 0, 1, 4));
  form->addRow(tr("Minimum rate (cosine)"), bind_->number(QStringLiteral("/schedule/min_lr"), 0, 0, 10, 6));
  form->addRow(tr("Warm-up steps"), bind_->integer(QStringLiteral("/schedule/warmup_steps"), 0, 0, 1 << 30));
  return box;
}

QWidget* TrainingSettings::lengthGroup() {
  auto* box = new QGroupBox(tr("Batch and length"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Batch size"), bind_->integer(QStringLiteral("/batch_size"), 64, 1, 1 << 20));
  auto* unit = new QComboBox;
  unit->setObjectName(QStringLiteral("lengthUnit"));
  unit->addItems({tr("epochs"), tr("steps")});
  auto* epochs = bind_->integer(QStringLiteral("/epochs"), 1, 1, 1 << 20);
  auto* steps = bind_->integer(QStringLiteral("/steps"), 1000, 1, 1 << 30);
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
    // The file takes either epochs or steps, never both.
    doc_->edit(index == 1 ? tr("Train for a number of steps") : tr("Train for whole epochs"), [index](nlohmann::json& j) {
      if (index == 1) {
        j.erase("epochs");
        j["steps"] = 1000;
      } else {
        j.erase("steps");
        j["epochs"] = 1;
      }
    });
  });
  sync();
  form->addRow(tr("Seed"), bind_->integer(QStringLiteral("/seed"), 0, 0, INT_MAX));
  return box;
}

QWidget* TrainingSettings::lossScalingGroup() {
  auto* box = new QGroupBox(tr("Mixed precision"));
  auto* form = new QFormLayout(box);
  form->addRow(QString(), bind_->boolean(QStringLiteral("/master_weights"), true,
                                         tr("fp32 master weights (the optimizer updates an fp32 copy)")));
  auto* mode = bind_->choice(QStringLiteral("/loss_scaling/mode"), QStringLiteral("none"),
                             {QStringLiteral("none"), QStringLiteral("static"), QStringLiteral("dynamic")});
  disconnect(mode, &QComboBox::textActivated, nullptr, nullptr);
  connect(mode, &QComboBox::textActivated, this,
          [this](const QString& m) { replaceObject("loss_scaling", m, "mode", "Loss scaling %1"); });
  form->addRow(tr("Loss scaling"), mode);
  form->addRow(tr("Static scale"), bind_->number(QStringLiteral("/loss_scaling/scale"), 1024, 1e-30, 1e30, 1));
  form->addRow(tr("Initial scale"), bind_->number(QStringLiteral("/loss_scaling/init_scale"), 65536, 1e-30, 1e30, 1));
  form->addRow(tr("Growth factor"), bind_->number(QStringLiteral("/loss_scaling/growth_factor"), 2, 1, 100, 3));
  form->addRow(tr("Backoff factor"), bind_->number(QStringLiteral("/loss_scaling/backoff_factor"), 0.5, 0, 1, 3));
  form->addRow(tr("Growth interval"), bind_->integer(QStringLiteral("/loss_scaling/growth_interval"), 2000, 1, 1 << 30));
  form->addRow(tr("Hysteresis"), bind_->integer(QStringLiteral("/loss_scaling/hysteresis"), 1, 1, 1000));
  form->addRow(tr("Min scale (0: none)"), bind_->number(QStringLiteral("/loss_scaling/min_scale"), 0, 0, 1e30, 3));
  form->addRow(tr("Max scale (0: none)"), bind_->number(QStringLiteral("/loss_scaling/max_scale"), 0, 0, 1e30, 1));
  return box;
}

QWidget* TrainingSettings::runtimeGroup() {
  auto* box = new QGroupBox(tr("Statistics and backend"));
  auto* form = new QFormLayout(box);
  form->addRow(tr("Layer statistics every (steps, 0: never)"), bind_->integer(QStringLiteral("/stats_interval"), 50, 0, 1 << 30));
  form->addRow(tr("Log every (steps)"), bind_->integer(QStringLiteral("/log_interval"), 1, 1, 1 << 20));
  form->addRow(tr("Evaluate every (steps, 0: per epoch)"), bind_->integer(QStringLiteral("/eval_interval"), 0, 0, 1 << 30));
  form->addRow(tr("Backend"), bind_->choice(QStringLiteral("/backend"), QStringLiteral("auto"),
                                            {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")}));
  device_ = new QLabel(tr("Device: shown when a run starts"));
  device_->setObjectName(QStringLiteral("deviceLabel"));
  device_->setWordWrap(true);
  form->addRow(tr("Device"), device_);
  return box;
}

void TrainingSettings::setDeviceText(const QString& text) { device_->setText(text); }

void TrainingSettings::updateEnabledFields() {
  const auto& j = doc_->json();
  auto field = [this](const char* pointer) { return findChild<QWidget*>(QString::fromLatin1(pointer)); };
  const auto dataset = j.value("dataset", nlohmann::json::object());
  const std::string name = dataset.value("name", std::string());
  const bool idx = isIdx(name);
  for (const char* p : {"/dataset/train_size", "/dataset/test_size", "/dataset/noise"}) setFieldEnabled(field(p), !idx);
  setFieldEnabled(field("/dataset/classes"), name == "spirals" || name == "blobs" || name == "shapes");
  setFieldEnabled(field("/dataset/image_size"), name == "shapes");
  for (const char* p : {"/dataset/path", "/dataset/limit_train", "/dataset/limit_test"}) setFieldEnabled(field(p), idx);

  const std::string optimizer = j.value("optimizer", nlohmann::json::object()).value("type", std::string("adam"));
  setFieldEnabled(field("/optimizer/momentum"), optimizer == "sgd");
  setFieldEnabled(field("/optimizer/nesterov"), optimizer == "sgd");
  setFieldEnabled(field("/optimizer/beta1"), optimizer != "sgd");
  setFieldEnabled(field("/optimizer/beta2"), optimizer != "sgd");
  const std::string schedule = j.value("schedule", nlohmann::json::object()).value("type", std::string("constant"));
  setFieldEnabled(field("/schedule/step_size"), schedule == "step");
  setFieldEnabled(field("/schedule/gamma"), schedule == "step");
  setFieldEnabled(field("/schedule/min_lr"), schedule == "cosine");
  const std::string mode = j.value("loss_scaling", nlohmann::json::object()).value("mode", std::string("none"));
  setFieldEnabled(field("/loss_scaling/scale"), mode == "static");
  for (const char* p : {"/loss_scaling/init_scale", "/loss_scaling/growth_factor", "/loss_scaling/backoff_factor",
                        "/loss_scaling/growth_interval", "/loss_scaling/hysteresis", "/loss_scaling/min_scale",
                        "/loss_scaling/max_scale"}) {
    setFieldEnabled(field(p), mode == "dynamic");
  }
  preview_->setDatasetSpec(dataset, j.value("seed", 0));
}

}  // namespace plab::ui
