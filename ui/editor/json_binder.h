#pragma once
// Binds plain editor widgets to fields of the ExperimentDocument by JSON pointer
// ("/optimizer/lr"): a missing field shows its documented default; a change is one
// undoable edit (typing merges into one); document changes update the widgets.
#include <QObject>
#include <QString>
#include <nlohmann/json.hpp>
#include <vector>

class QWidget;
class QSpinBox;
class QDoubleSpinBox;
class QCheckBox;
class QComboBox;
class QLineEdit;

namespace plab::ui {

class ExperimentDocument;

class JsonBinder : public QObject {
  Q_OBJECT
 public:
  JsonBinder(ExperimentDocument* doc, QObject* parent);
  QSpinBox* integer(const QString& pointer, long long fallback, long long min, long long max);
  QDoubleSpinBox* number(const QString& pointer, double fallback, double min, double max, int decimals);
  QCheckBox* boolean(const QString& pointer, bool fallback, const QString& text);
  QComboBox* choice(const QString& pointer, const QString& fallback, const QStringList& options);
  QLineEdit* text(const QString& pointer, const QString& fallback);
  // Re-reads every bound widget from the document (skips the one being typed in).
  void refresh();
  void write(const QString& pointer, const nlohmann::json& value);

 signals:
  void refreshed();

 private:
  struct Binding {
    QWidget* widget;
    nlohmann::json::json_pointer pointer;
    nlohmann::json fallback;
  };
  nlohmann::json valueAt(const Binding& b) const;
  ExperimentDocument* doc_;
  std::vector<Binding> bindings_;
};

}  // namespace plab::ui
