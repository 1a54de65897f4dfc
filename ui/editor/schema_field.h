#pragma once
// Form widgets built from the experiment schema (engine/model/experiment_schema.h):
// the widget kind follows the key's type, and its range, choices, default and tooltip
// (help, units, allowed values) come from the key's entry, never from the form. The
// training settings (via JsonBinder) and the layer parameters use these.
#include <QDoubleSpinBox>
#include <QString>
#include <functional>
#include <nlohmann/json.hpp>

#include "model/experiment_schema.h"

class QWidget;

namespace plab::ui {

// A spin box for any double the schema allows (1e-30 to 3e38): shows and reads
// numbers in the shortest 'g' form instead of a fixed number of decimals.
class NumberSpinBox : public QDoubleSpinBox {
  Q_OBJECT
 public:
  explicit NumberSpinBox(QWidget* parent = nullptr);
  QString textFromValue(double value) const override;
  double valueFromText(const QString& text) const override;
  QValidator::State validate(QString& text, int& pos) const override;
};

// A widget for a key of this type: QCheckBox, QSpinBox, NumberSpinBox, QComboBox or QLineEdit.
QWidget* createSchemaWidget(const KeyRule& rule);
// Sets the widget's range or choices and tooltip from rule.
void applySchemaRule(QWidget* widget, const KeyRule& rule);
// "base learning rate ... (units: steps; allowed: 0 to 1000; default: 0.001)".
QString schemaToolTip(const KeyRule& rule, const nlohmann::json& object);
// What the widget shows for the key in object: its value, else its default (or the
// schema's suggestion for keys without one).
nlohmann::json shownValue(const KeyRule& rule, const nlohmann::json& object);
// Shows value in the widget without emitting its change signal.
void setWidgetValue(QWidget* widget, const nlohmann::json& value);
// Calls onChange with the new value whenever the user changes the widget.
void onWidgetEdited(QWidget* widget, QObject* context, const std::function<void(nlohmann::json)>& onChange);
// Marks the widget as the field an error is about (a red frame; the message heads its
// tooltip, before the schema's text kept in its "schemaToolTip" property), or clears it.
void markInvalid(QWidget* widget, const QString& message);

// Integer widgets are QSpinBox: the schema's limits clamped to int.
int spinMinimum(const KeyRule& rule);
int spinMaximum(const KeyRule& rule);
double numberMaximum(const KeyRule& rule);  // kUnbounded as the largest double

}  // namespace plab::ui
