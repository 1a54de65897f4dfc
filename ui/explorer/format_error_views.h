#pragma once
// Two views under the Precision Explorer's table (docs/user-guide.md, "Precision
// Explorer"):
// - ErrorMagnitudePlot: the relative rounding error of every format against the
//   magnitude of the value. For a per-value format the x-axis is the value itself; for a
//   block-scaled one it is the value relative to the largest value of its block, which
//   is what sets the scale.
// - BlockLayoutView: a list of values quantised in a block-scaled format three ways: one
//   scale for all of them (per tensor), blocks of the format's size (1D), and 16 x 16
//   tiles of the values laid out in rows of 16 (2D), each with its relative error.
// Everything is computed by the numerics core (numerics/convert.h, block_format.h).
#include <QWidget>

class QCPGraph;
class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace plab::ui {

class ErrorMagnitudePlot : public QWidget {
  Q_OBJECT
 public:
  explicit ErrorMagnitudePlot(QWidget* parent = nullptr);
  QCustomPlot* plot() const { return plot_; }

 private:
  QCustomPlot* plot_;
};

class BlockLayoutView : public QWidget {
  Q_OBJECT
 public:
  explicit BlockLayoutView(QWidget* parent = nullptr);
  QTableWidget* table() const { return table_; }
  QLineEdit* input() const { return input_; }
  QComboBox* format() const { return format_; }
  // Values taken from a run (a statistics record's sample), with where they came from
  // ("layers[0] linear gradients, step 200 ..."), shown above the table until the values
  // are edited.
  void showValues(const std::vector<float>& values, const QString& source);
  QString sourceText() const;

 private:
  void recompute();

  QLineEdit* input_;
  QComboBox* format_;
  QLabel* source_;
  QLabel* message_;
  QTableWidget* table_;
};

}  // namespace plab::ui
