#pragma once
// The comparison table of a sweep and its lesson's claims (engine/sweep/comparison.h):
// one row per variant (loss, accuracy, skipped steps, overflows, step time and
// speed-up, memory by kind, the worst layer's gradient underflow), and each claim with
// a tick or a cross and what was measured. Exports the same table as
// `precisionlab-cli compare` does, as CSV or Markdown.
#include <QColor>
#include <QWidget>

#include "sweep/comparison.h"

class QLabel;
class QTableWidget;
class QTreeWidget;
class QPushButton;

namespace plab::ui {

// How a claim's result is shown, here and in the report: a mark and its colour.
struct ClaimMark {
  QString mark;
  QColor colour;
};
ClaimMark claimMark(ClaimStatus status);
// A metric of the table with `decimals` decimals, "–" when the run has none.
QString metricText(const RunMetrics& m, const char* key, int decimals);
// Bytes in readable units (engine/model/memory_estimate.h's bytesText).
QString bytesLabel(std::int64_t bytes);
// The layer whose gradients lose the most to underflow: the one figure a row has room for.
QString worstUnderflow(const std::vector<LayerUnderflow>& layers);

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  explicit ComparisonView(QWidget* parent = nullptr);
  void setComparison(const SweepComparison& comparison);
  void clear();
  const SweepComparison& comparison() const { return comparison_; }
  bool hasComparison() const { return comparison_.sweepId != 0; }
  // Writes the table; false (with *error) when the file cannot be written.
  bool exportTo(const QString& path, bool markdown, QString* error) const;

  QTableWidget* table() const { return table_; }
  QTreeWidget* claims() const { return claims_; }
  // The claims' headline and list, a widget that the owner places in its own layout
  // (it is not in this view's).
  QWidget* claimsPanel() const { return claimsPanel_; }
  // "3 of 3 claims hold", or "" when the sweep is not a lesson.
  QString claimsHeadline() const;

 signals:
  void exported(const QString& path);
  void exportFailed(const QString& message);
  // "Report…": the owner writes the PDF or HTML report of the sweep.
  void reportRequested();

 private:
  void fillTable();
  void fillClaims();
  void exportDialog(bool markdown);
  SweepComparison comparison_;
  QTableWidget* table_;
  QTreeWidget* claims_;
  QWidget* claimsPanel_;
  QLabel* claimsLabel_;
  QPushButton* csvButton_;
  QPushButton* markdownButton_;
  QPushButton* reportButton_;
};

}  // namespace plab::ui
