#include "editor/json_binder.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSpinBox>
#include <cmath>

#include "editor/experiment_document.h"

namespace plab::ui {

JsonBinder::JsonBinder(ExperimentDocument* doc, QObject* parent) : QObject(parent), doc_(doc) {
  connect(doc_, &ExperimentDocument::changed, this, &JsonBinder::refresh);
}

nlohmann::json JsonBinder::valueAt(const Binding& b) const {
  const auto& j = doc_->json();
  return j.contains(b.pointer) ? j.at(b.pointer) : b.fallback;
}

void JsonBinder::write(const QString& pointer, const nlohmann::json& value) {
  const nlohmann::json::json_pointer ptr(pointer.toStdString());
  doc_->edit(tr("Set %1").arg(pointer.mid(1).replace(QLatin1Char('/'), QLatin1Char('.'))),
             [ptr, value](nlohmann::json& j) { j[ptr] = value; }, pointer);
}

QSpinBox* JsonBinder::integer(const QString& pointer, long long fallback, long long min, long long max) {
  auto* w = new QSpinBox;
  w->setRange(int(std::max<long long>(min, INT_MIN)), int(std::min<long long>(max, INT_MAX)));
  w->setKeyboardTracking(false);
  bindings_.push_back({w, nlohmann::json::json_pointer(pointer.toStdString()), fallback});
  connect(w, &QSpinBox::valueChanged, this, [this, pointer](int v) { write(pointer, v); });
  w->setObjectName(pointer);
  refresh();
  return w;
}

QDoubleSpinBox* JsonBinder::number(const QString& pointer, double fallback, double min, double max, int decimals) {
  auto* w = new QDoubleSpinBox;
  w->setRange(min, max);
  w->setDecimals(decimals);
  w->setKeyboardTracking(false);
  w->setSingleStep(std::pow(10.0, -std::min(decimals, 3)));
  bindings_.push_back({w, nlohmann::json::json_pointer(pointer.toStdString()), fallback});
  connect(w, &QDoubleSpinBox::valueChanged, this, [this, pointer](double v) { write(pointer, v); });
  w->setObjectName(pointer);
  refresh();
  return w;
}

QCheckBox* JsonBinder::boolean(const QString& pointer, bool fallback, const QString& text) {
  auto* w = new QCheckBox(text);
  bindings_.push_back({w, nlohmann::json::json_pointer(pointer.toStdString()), fallback});
  connect(w, &QCheckBox::toggled, this, [this, pointer](bool v) { write(pointer, v); });
  w->setObjectName(pointer);
  refresh();
  return w;
}

QComboBox* JsonBinder::choice(const QString& pointer, const QString& fallback, const QStringList& options) {
  auto* w = new QComboBox;
  w->addItems(options);
  bindings_.push_back({w, nlohmann::json::json_pointer(pointer.toStdString()), fallback.toStdString()});
  connect(w, &QComboBox::textActivated, this, [this, pointer](const QString& v) { write(pointer, v.toStdString()); });
  w->setObjectName(pointer);
  refresh();
  return w;
}

QLineEdit* JsonBinder::text(const QString& pointer, const QString& fallback) {
  auto* w = new QLineEdit;
  bindings_.push_back({w, nlohmann::json::json_pointer(pointer.toStdString()), fallback.toStdString()});
  connect(w, &QLineEdit::editingFinished, this, [this, pointer, w] { write(pointer, w->text().toStdString()); });
  w->setObjectName(pointer);
  refresh();
  return w;
}

void JsonBinder::refresh() {
  for (const Binding& b : bindings_) {
    if (b.widget->hasFocus() && qobject_cast<QLineEdit*>(b.widget)) continue;
    const nlohmann::json v = valueAt(b);
    const QSignalBlocker block(b.widget);
    try {
      if (auto* spin = qobject_cast<QSpinBox*>(b.widget)) spin->setValue(v.get<int>());
      else if (auto* dspin = qobject_cast<QDoubleSpinBox*>(b.widget)) dspin->setValue(v.get<double>());
      else if (auto* check = qobject_cast<QCheckBox*>(b.widget)) check->setChecked(v.get<bool>());
      else if (auto* combo = qobject_cast<QComboBox*>(b.widget)) combo->setCurrentText(QString::fromStdString(v.get<std::string>()));
      else if (auto* line = qobject_cast<QLineEdit*>(b.widget)) line->setText(QString::fromStdString(v.get<std::string>()));
    } catch (const nlohmann::json::exception&) {
      // A hand-edited file with the wrong type: the strict parser reports it by field.
    }
  }
  emit refreshed();
}

}  // namespace plab::ui
