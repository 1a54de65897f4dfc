#pragma once
// The comparison table of a sweep and its lesson's claims (engine/sweep/comparison.h):
// one row per variant (loss, accuracy, skipped steps, overflows, step time and
// speed-up, memory by kind, the worst layer's gradient underflow), and each claim with
// a tick or a cross and what was measured. Exports the same table as
// `precisionlab-cli compare` does, as CSV or Markdown.
#include <QWidget>

#include "sweep/comparison.h"

class QLabel;
class QTableWidget;
class QTreeWidget;
class QPushButton;

namespace plab::ui {

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
  // "3 of 3 claims hold", or "" when the sweep is not a lesson.
  QString claimsHeadline() const;

 signals:
  void exported(const QString& path);
  void exportFailed(const QString& message);

 private:
  void fillTable();
  void fillClaims();
  void exportDialog(bool markdown);
  SweepComparison comparison_;
  QTableWidget* table_;
  QTreeWidget* claims_;
  QLabel* claimsLabel_;
  QPushButton* csvButton_;
  QPushButton* markdownButton_;
};

}  // namespace plab::ui
