#include "editor/json_binder.h"

#include <QCheckBox>
#include <QLineEdit>
#include <stdexcept>

#include "editor/experiment_document.h"
#include "editor/schema_field.h"

namespace plab::ui {

QString jsonPointerOf(const std::string& schemaPath) {
  QString p = QString::fromStdString(schemaPath);
  p.replace(QLatin1Char('.'), QLatin1Char('/'));
  return QLatin1Char('/') + p;
}

JsonBinder::JsonBinder(ExperimentDocument* doc, QObject* parent) : QObject(parent), doc_(doc) {
  connect(doc_, &ExperimentDocument::changed, this, &JsonBinder::refresh);
}

void JsonBinder::write(const QString& pointer, const nlohmann::json& value) {
  const nlohmann::json::json_pointer ptr(pointer.toStdString());
  doc_->edit(tr("Set %1").arg(pointer.mid(1).replace(QLatin1Char('/'), QLatin1Char('.'))),
             [ptr, value](nlohmann::json& j) { j[ptr] = value; }, pointer);
}

QWidget* JsonBinder::field(const std::string& schemaPath, const QString& checkText) {
  const std::size_t dot = schemaPath.rfind('.');
  const std::string section = dot == std::string::npos ? std::string() : schemaPath.substr(0, dot);
  const std::string key = dot == std::string::npos ? schemaPath : schemaPath.substr(dot + 1);
  // Any entry of the path gives the widget kind: the entries of one path share their type.
  const KeyRule* rule = nullptr;
  for (const KeyRule& r : experimentSchema()) {
    if (r.path == schemaPath) {
      rule = &r;
      break;
    }
  }
  if (!rule) throw std::logic_error("JsonBinder: " + schemaPath + " is not in the experiment schema");
  QWidget* w = createSchemaWidget(*rule);
  if (auto* check = qobject_cast<QCheckBox*>(w)) check->setText(checkText);
  const QString pointer = jsonPointerOf(schemaPath);
  w->setObjectName(pointer);
  onWidgetEdited(w, this, [this, pointer](const nlohmann::json& v) { write(pointer, v); });
  bindings_.push_back({w, section, key, schemaPath});
  refreshOne(bindings_.back());
  return w;
}

QWidget* JsonBinder::widgetFor(const std::string& schemaPath) const {
  for (const Binding& b : bindings_) {
    if (b.path == schemaPath) return b.widget;
  }
  return nullptr;
}

void JsonBinder::refreshOne(const Binding& b) {
  const nlohmann::json& doc = doc_->json();
  const nlohmann::json::json_pointer sectionPtr(b.section.empty() ? std::string() : jsonPointerOf(b.section).toStdString());
  const nlohmann::json object = doc.contains(sectionPtr) ? doc.at(sectionPtr) : nlohmann::json::object();
  // The selector's value decides which entry applies; a missing selector has its default.
  std::string selected;
  if (const std::string_view sel = selectorKey(b.section); !sel.empty()) {
    if (const KeyRule* s = findKeyRule(b.section, sel, {})) {
      const nlohmann::json v = shownValue(*s, object);
      if (v.is_string()) selected = v.get<std::string>();
    }
  }
  const KeyRule* rule = findKeyRule(b.section, b.key, selected);
  b.widget->setEnabled(rule != nullptr);
  if (!rule) {
    b.widget->setProperty("schemaToolTip", tr("Not used with %1 \"%2\"")
                                                .arg(QString::fromStdString(std::string(selectorKey(b.section))),
                                                     QString::fromStdString(selected)));
    markInvalid(b.widget, b.widget->property("schemaError").toString());
    return;
  }
  applySchemaRule(b.widget, *rule);
  b.widget->setProperty("schemaToolTip", schemaToolTip(*rule, object));
  markInvalid(b.widget, b.widget->property("schemaError").toString());
  if (b.widget->hasFocus() && qobject_cast<QLineEdit*>(b.widget)) return;
  setWidgetValue(b.widget, shownValue(*rule, object));
}

void JsonBinder::refresh() {
  for (const Binding& b : bindings_) refreshOne(b);
  emit refreshed();
}

bool JsonBinder::showError(const std::string& keyPath, const QString& message) {
  const std::string path = schemaPathOf(keyPath);
  bool found = false;
  for (const Binding& b : bindings_) {
    const bool hit = !keyPath.empty() && b.path == path;
    markInvalid(b.widget, hit ? message : QString());
    found = found || hit;
  }
  return found;
}

}  // namespace plab::ui
