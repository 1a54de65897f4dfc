#pragma once
// Precision Explorer: type a number and see, for every format side by side, the value
// it becomes, its bits (sign | exponent | mantissa), its class and the rounding error.
// Everything is computed by the numerics core (numerics/convert.h).
#include <QWidget>

class QLineEdit;
class QLabel;
class QTableWidget;

namespace plab::ui {

class PrecisionExplorer : public QWidget {
  Q_OBJECT
 public:
  explicit PrecisionExplorer(QWidget* parent = nullptr);
  // Shows value (also used to pick a number from a tensor's statistics).
  void showValue(double value);
  QString inputText() const;
  QTableWidget* table() const { return table_; }

 private:
  void recompute();
  void fillRow(int row, int precisionIndex, double input);

  QLineEdit* input_;
  QLabel* message_;
  QTableWidget* table_;
};

}  // namespace plab::ui
