#pragma once
// Reports of selected runs: the configuration table (what differs highlighted), a
// summary table (final loss and accuracy, overflows, skipped steps, speedup vs fp32)
// and the key charts. As PDF (QPdfWriter) or as HTML with the chart images beside it
// in "<name>_files/". Charts are drawn by the same plot widgets as the app, offscreen.
#include <QImage>
#include <QList>
#include <QString>

#include "run_data.h"

namespace plab::ui {

struct ReportSummaryRow {
  QString run, status, device;
  std::int64_t steps = 0, overflows = 0, skipped = 0;
  double finalLoss = 0, testLoss = 0, testAccuracy = -1;
  double speedupVsFp32 = 0;  // 0: no benchmark
};
ReportSummaryRow summarize(const RunData& run);

class ReportWriter {
 public:
  explicit ReportWriter(QList<PlotRun> runs);
  // Picks PDF or HTML from the suffix. False with *error set on failure.
  bool write(const QString& path, QString* error);
  bool writePdf(const QString& path, QString* error);
  bool writeHtml(const QString& path, QString* error);

 private:
  struct Chart {
    QString name, caption;
    QImage image;
  };
  QList<Chart> renderCharts();
  QString html(const QList<Chart>& charts, const QString& imagePrefix) const;
  QList<PlotRun> runs_;
};

// Loads runs from the store and writes the report: the `precisionlab report` command.
// Colours follow the order of ids. Returns 0 on success, else prints why and returns 1.
int writeReportFromStore(const QString& databasePath, const QList<qint64>& ids, const QString& output);

}  // namespace plab::ui
