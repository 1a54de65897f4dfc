#pragma once
// Precision Explorer: type a number and see, for every format side by side, the value
// it becomes, its bits (sign | exponent | mantissa), its class and the rounding error.
// Below it, the error of every format against magnitude and a block of values quantised
// per tensor, in 1D blocks and in 2D tiles (format_error_views.h). Everything is computed
// by the numerics core (numerics/convert.h, numerics/block_format.h).
#include <QWidget>

class QLineEdit;
class QLabel;
class QTableWidget;

namespace plab::ui {

class BlockLayoutView;
class ErrorMagnitudePlot;

class PrecisionExplorer : public QWidget {
  Q_OBJECT
 public:
  explicit PrecisionExplorer(QWidget* parent = nullptr);
  // Shows value (also used to pick a number from a tensor's statistics).
  void showValue(double value);
  // A block of values from a run (the block view below the table), with their source.
  void showBlock(const std::vector<float>& values, const QString& source);
  QString inputText() const;
  QTableWidget* table() const { return table_; }
  ErrorMagnitudePlot* errorPlot() const { return errorPlot_; }
  BlockLayoutView* blockView() const { return blockView_; }

 private:
  void recompute();
  void fillRow(int row, int precisionIndex, double input);

  QLineEdit* input_;
  QLabel* message_;
  QTableWidget* table_;
  ErrorMagnitudePlot* errorPlot_;
  BlockLayoutView* blockView_;
};

}  // namespace plab::ui
