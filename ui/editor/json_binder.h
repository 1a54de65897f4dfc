#pragma once
// Binds editor widgets to keys of the ExperimentDocument by their schema path
// ("optimizer.lr", "dataset.classes"). The widget, its range or choices, its default
// and its tooltip come from the key's schema entry (engine/model/experiment_schema.h)
// for the current value of the object's selector ("type", "mode", "name"): a key that
// does not apply to it is disabled. A change is one undoable edit (typing merges into
// one); document changes update the widgets. Each widget's object name is the key's
// JSON pointer ("/optimizer/lr").
#include <QObject>
#include <QString>
#include <nlohmann/json.hpp>
#include <vector>

class QWidget;

namespace plab::ui {

class ExperimentDocument;

class JsonBinder : public QObject {
  Q_OBJECT
 public:
  JsonBinder(ExperimentDocument* doc, QObject* parent);
  // The widget for the key at schemaPath (a QCheckBox's text is checkText).
  QWidget* field(const std::string& schemaPath, const QString& checkText = {});
  // Re-reads every bound widget from the document (skips the one being typed in).
  void refresh();
  void write(const QString& pointer, const nlohmann::json& value);
  // Marks the widget of keyPath (an ExperimentError's) with message; "" clears all.
  // Returns whether a widget of this binder has that path.
  bool showError(const std::string& keyPath, const QString& message);
  QWidget* widgetFor(const std::string& schemaPath) const;

 signals:
  void refreshed();

 private:
  struct Binding {
    QWidget* widget;
    std::string section, key, path;
  };
  void refreshOne(const Binding& b);
  ExperimentDocument* doc_;
  std::vector<Binding> bindings_;
};

// "/optimizer/lr" for "optimizer.lr".
QString jsonPointerOf(const std::string& schemaPath);

}  // namespace plab::ui
