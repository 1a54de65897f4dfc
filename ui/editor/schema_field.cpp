#include "editor/schema_field.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QLocale>
#include <QRegularExpression>
#include <QSpinBox>
#include <climits>
#include <cmath>
#include <limits>

namespace plab::ui {

NumberSpinBox::NumberSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
  // Enough decimals that Qt's rounding keeps values such as 1e-30; the text is ours.
  setDecimals(323);
  setKeyboardTracking(false);
}

QString NumberSpinBox::textFromValue(double value) const { return QString::number(value, 'g', 7); }

double NumberSpinBox::valueFromText(const QString& text) const { return QLocale::c().toDouble(text.trimmed()); }

QValidator::State NumberSpinBox::validate(QString& text, int&) const {
  const QString t = text.trimmed();
  bool ok = false;
  const double v = QLocale::c().toDouble(t, &ok);
  if (ok) return v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
  // A number being typed: "", "-", "1e", "1e-", "1.".
  static const QRegularExpression partial(QStringLiteral("^-?[0-9]*\\.?[0-9]*([eE][-+]?[0-9]*)?$"));
  return partial.match(t).hasMatch() ? QValidator::Intermediate : QValidator::Invalid;
}

int spinMinimum(const KeyRule& rule) { return int(std::clamp(rule.min, double(INT_MIN), double(INT_MAX))); }
int spinMaximum(const KeyRule& rule) { return int(std::clamp(rule.max, double(INT_MIN), double(INT_MAX))); }
double numberMaximum(const KeyRule& rule) {
  return std::isinf(rule.max) ? std::numeric_limits<double>::max() : rule.max;
}

QWidget* createSchemaWidget(const KeyRule& rule) {
  QWidget* w = nullptr;
  switch (rule.type) {
    case KeyType::boolean: w = new QCheckBox; break;
    case KeyType::integer: {
      auto* spin = new QSpinBox;
      spin->setKeyboardTracking(false);
      w = spin;
      break;
    }
    case KeyType::number: w = new NumberSpinBox; break;
    case KeyType::choice: w = new QComboBox; break;
    case KeyType::string: w = new QLineEdit; break;
    case KeyType::object:
    case KeyType::array: return nullptr;  // sections, not fields
  }
  applySchemaRule(w, rule);
  w->setProperty("schemaToolTip", schemaToolTip(rule, nlohmann::json::object()));
  w->setToolTip(w->property("schemaToolTip").toString());
  return w;
}

void applySchemaRule(QWidget* w, const KeyRule& rule) {
  if (auto* spin = qobject_cast<QSpinBox*>(w)) {
    spin->setRange(spinMinimum(rule), spinMaximum(rule));
  } else if (auto* number = qobject_cast<NumberSpinBox*>(w)) {
    number->setRange(rule.min, numberMaximum(rule));
  } else if (auto* combo = qobject_cast<QComboBox*>(w)) {
    QStringList items;
    for (const auto& c : rule.choices) items << QString::fromStdString(c);
    QStringList current;
    for (int i = 0; i < combo->count(); ++i) current << combo->itemText(i);
    if (current != items) {
      const QSignalBlocker block(combo);
      combo->clear();
      combo->addItems(items);
    }
  }
}

namespace {

QString jsonText(const nlohmann::json& v) {
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  if (v.is_number()) return QString::number(v.get<double>(), 'g', 10);
  return QString::fromStdString(v.dump());
}

}  // namespace

QString schemaToolTip(const KeyRule& rule, const nlohmann::json& object) {
  QStringList facts;
  if (!rule.units.empty()) facts << QObject::tr("units: %1").arg(QString::fromStdString(rule.units));
  if (rule.type == KeyType::integer || rule.type == KeyType::number) {
    facts << (std::isinf(rule.max) ? QObject::tr("allowed: %1 or more").arg(rule.min)
                                   : QObject::tr("allowed: %1 to %2").arg(rule.min).arg(rule.max));
  }
  const nlohmann::json def = defaultFor(rule, object);
  if (rule.required) facts << QObject::tr("required");
  else if (!def.is_null()) facts << QObject::tr("default: %1").arg(jsonText(def));
  QString tip = QStringLiteral("%1: %2").arg(QString::fromStdString(rule.key()), QString::fromStdString(rule.help));
  if (!facts.isEmpty()) tip += QStringLiteral(" (") + facts.join(QStringLiteral("; ")) + QLatin1Char(')');
  return tip;
}

nlohmann::json shownValue(const KeyRule& rule, const nlohmann::json& object) {
  if (object.is_object() && object.contains(rule.key())) return object[rule.key()];
  const nlohmann::json def = defaultFor(rule, object);
  if (!def.is_null()) return def;
  if (!rule.suggested.is_null()) return rule.suggested;
  switch (rule.type) {
    case KeyType::boolean: return false;
    case KeyType::integer:
    case KeyType::number: return rule.min;
    case KeyType::choice: return rule.choices.empty() ? std::string() : rule.choices.front();
    case KeyType::string:
    case KeyType::object:
    case KeyType::array: return std::string();
  }
  return std::string();
}

void setWidgetValue(QWidget* w, const nlohmann::json& v) {
  const QSignalBlocker block(w);
  try {
    if (auto* spin = qobject_cast<QSpinBox*>(w)) spin->setValue(int(v.get<double>()));
    else if (auto* number = qobject_cast<QDoubleSpinBox*>(w)) number->setValue(v.get<double>());
    else if (auto* check = qobject_cast<QCheckBox*>(w)) check->setChecked(v.get<bool>());
    else if (auto* combo = qobject_cast<QComboBox*>(w)) combo->setCurrentText(QString::fromStdString(v.get<std::string>()));
    else if (auto* line = qobject_cast<QLineEdit*>(w)) line->setText(QString::fromStdString(v.get<std::string>()));
  } catch (const nlohmann::json::exception&) {
    // A hand-edited file with the wrong type: the strict parser reports it by field.
  }
}

void onWidgetEdited(QWidget* w, QObject* context, const std::function<void(nlohmann::json)>& onChange) {
  if (auto* spin = qobject_cast<QSpinBox*>(w)) {
    QObject::connect(spin, &QSpinBox::valueChanged, context, [onChange](int v) { onChange(v); });
  } else if (auto* number = qobject_cast<QDoubleSpinBox*>(w)) {
    QObject::connect(number, &QDoubleSpinBox::valueChanged, context, [onChange](double v) { onChange(v); });
  } else if (auto* check = qobject_cast<QCheckBox*>(w)) {
    QObject::connect(check, &QCheckBox::toggled, context, [onChange](bool v) { onChange(v); });
  } else if (auto* combo = qobject_cast<QComboBox*>(w)) {
    QObject::connect(combo, &QComboBox::textActivated, context,
                     [onChange](const QString& v) { onChange(v.toStdString()); });
  } else if (auto* line = qobject_cast<QLineEdit*>(w)) {
    QObject::connect(line, &QLineEdit::editingFinished, context,
                     [onChange, line] { onChange(line->text().toStdString()); });
  }
}

void markInvalid(QWidget* w, const QString& message) {
  const bool invalid = !message.isEmpty();
  w->setProperty("schemaError", message);
  const QString base = w->property("schemaToolTip").toString();
  w->setToolTip(invalid ? QStringLiteral("⚠ ") + message + QStringLiteral("\n\n") + base : base);
  const QString style = invalid ? QStringLiteral("border: 2px solid #c62828;") : QString();
  if (w->styleSheet() != style) w->setStyleSheet(style);
}

}  // namespace plab::ui
