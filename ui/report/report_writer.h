#pragma once
// Reports of selected runs: the configuration table (what differs highlighted), a
// summary table (final loss and accuracy, overflows, skipped steps, speedup vs fp32)
// and the key charts. As PDF (QPdfWriter) or as HTML with the chart images beside it
// in "<name>_files/". Charts are drawn by the same plot widgets as the app, offscreen.
//
// The app writes a report in two halves so the GUI thread never blocks for long: the
// charts are widgets and must be drawn on the GUI thread, one chart per call of
// renderNextChart() (one turn of the event loop each); the document (HTML, PNG
// encoding, PDF layout and printing) is then written by writeRendered() on a worker
// thread. write() does both at once (the headless report command).
#include <QImage>
#include <QList>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "runs/run_data.h"
#include "sweep/comparison.h"

namespace plab::ui {

class PlotWidget;

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
  // A sweep's report (`precisionlab report --sweep`, the Sweep tab's Report…): its
  // comparison table, per-layer gradient underflow and claims open the document, on a
  // page of their own; the runs are its variants' latest runs, in variant colours.
  ReportWriter(QList<PlotRun> runs, SweepComparison comparison);
  ~ReportWriter();
  // Picks PDF or HTML from the suffix. False with *error set on failure.
  bool write(const QString& path, QString* error);
  bool writePdf(const QString& path, QString* error);
  bool writeHtml(const QString& path, QString* error);

  // GUI thread: does the next slice of drawing the charts (makes a chart's plot, or
  // draws part of its image); false when every chart is drawn.
  bool renderNextChart();
  int chartCount() const { return int(charts_.size()); }
  // Any thread, once every chart is drawn: writes PDF or HTML by the suffix.
  bool writeRendered(const QString& path, QString* error) const;

 private:
  struct Chart {
    QString name, caption;
    std::function<std::unique_ptr<PlotWidget>()> makePlot;
    std::unique_ptr<PlotWidget> plot;  // while being drawn
    QImage image;
  };
  void renderAllCharts();
  bool writeRenderedPdf(const QString& path, QString* error) const;
  bool writeRenderedHtml(const QString& path, QString* error) const;
  QString html(const QString& imagePrefix) const;
  QString comparisonHtml() const;
  QList<PlotRun> runs_;
  std::optional<SweepComparison> comparison_;
  std::vector<Chart> charts_;
  std::size_t current_ = 0;
};

// Loads runs from the store and writes the report: the `precisionlab report` command.
// Each run in its own colour (runColourOf). Returns 0 on success, else prints why and returns 1.
int writeReportFromStore(const QString& databasePath, const QList<qint64>& ids, const QString& output);
// The same for a stored sweep: its comparison and its variants' latest runs.
int writeSweepReportFromStore(const QString& databasePath, qint64 sweepId, const QString& output);
// The runs of a comparison's variants that ran, each in its variant's colour (the
// Sweep tab's), loaded from the store. Throws what loading throws.
QList<PlotRun> loadSweepRuns(const QString& databasePath, const SweepComparison& comparison);

}  // namespace plab::ui
