// The main window's exports: a run as CSV, runs or a sweep as a PDF/HTML report. Loading
// and writing happen off the GUI thread; the charts, being widgets, are drawn on it.
#include "common/main_window.h"

#include <QFileDialog>
#include <QFutureWatcher>
#include <QStatusBar>
#include <QTimer>
#include <QtConcurrent>

#include "common/app_paths.h"
#include "report/csv_export.h"
#include "report/report_writer.h"
#include "runs/run_data.h"
#include "runs/run_loader.h"

namespace plab::ui {

void MainWindow::exportCsvDialog(qint64 id) {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export run #%1 as CSV").arg(id),
                                                    exportDialogStart(QStringLiteral("run-%1.csv").arg(id)), tr("CSV (*.csv)"));
  rememberExportFolder(path);
  if (!path.isEmpty()) exportCsv(id, path);
}

void MainWindow::exportCsv(qint64 id, const QString& path) {
  const QString db = options_.databasePath;
  auto* watcher = new QFutureWatcher<QString>(this);
  connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, path] {
    watcher->deleteLater();
    const QString error = watcher->result();
    if (!error.isEmpty()) warn(tr("CSV export failed"), error);
    else statusBar()->showMessage(tr("Wrote %1").arg(path), 6000);
    emit csvExported(path, error.isEmpty());
  });
  // Reading a long run and writing its rows takes longer than a frame: off the GUI thread.
  watcher->setFuture(QtConcurrent::run([db, id, path]() -> QString {
    try {
      QString error;
      return writeRunCsv(*loadRunData(db, id), path, &error) ? QString() : error;
    } catch (const std::exception& e) {
      return QString::fromUtf8(e.what());
    }
  }));
}

void MainWindow::reportDialog(const QList<qint64>& ids) {
  if (ids.isEmpty()) {
    warn(tr("Report"), tr("Select one or more runs in the run browser first."));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(this, tr("Report of %1 run(s)").arg(ids.size()), exportDialogStart(QStringLiteral("report.pdf")),
                                                    tr("PDF (*.pdf);;HTML with images (*.html)"));
  rememberExportFolder(path);
  if (!path.isEmpty()) writeReport(ids, path);
}

void MainWindow::writeReport(const QList<qint64>& ids, const QString& path) {
  const QString db = options_.databasePath;
  auto* watcher = new QFutureWatcher<QList<RunDataPtr>>(this);
  connect(watcher, &QFutureWatcher<QList<RunDataPtr>>::finished, this, [this, watcher, path] {
    watcher->deleteLater();
    QList<PlotRun> runs;
    try {
      runs = withRunColours(watcher->result());
    } catch (const std::exception& e) {
      finishReport(path, QString::fromUtf8(e.what()));
      return;
    }
    renderReportCharts(std::make_shared<ReportWriter>(runs), path);
  });
  watcher->setFuture(QtConcurrent::run([db, ids] {
    QList<RunDataPtr> runs;
    for (qint64 id : ids) runs << loadRunData(db, id);
    return runs;
  }));
}

void MainWindow::writeSweepReport(const SweepComparison& comparison, const QString& path) {
  const QString db = options_.databasePath;
  auto* watcher = new QFutureWatcher<QList<PlotRun>>(this);
  connect(watcher, &QFutureWatcher<QList<PlotRun>>::finished, this, [this, watcher, comparison, path] {
    watcher->deleteLater();
    QList<PlotRun> runs;
    try {
      runs = watcher->result();
    } catch (const std::exception& e) {
      finishReport(path, QString::fromUtf8(e.what()));
      return;
    }
    if (runs.isEmpty()) {
      finishReport(path, tr("sweep %1 has no run yet: run it first").arg(comparison.sweepId));
      return;
    }
    renderReportCharts(std::make_shared<ReportWriter>(runs, comparison), path);
  });
  watcher->setFuture(QtConcurrent::run([db, comparison] { return loadSweepRuns(db, comparison); }));
}

void MainWindow::renderReportCharts(const std::shared_ptr<ReportWriter>& report, const QString& path) {
  // The charts are widgets, so they are drawn here, one chart per turn of the event loop.
  if (report->renderNextChart()) {
    // A zero timer fires once the events waiting (input, the worker, other timers) are
    // served: a queued call could run two slices back to back.
    auto* next = new QTimer(this);
    next->setSingleShot(true);
    connect(next, &QTimer::timeout, this, [this, next, report, path] {
      next->deleteLater();
      renderReportCharts(report, path);
    });
    next->start(0);
    return;
  }
  // The document itself (PDF layout and printing, PNG encoding) is written off the GUI thread.
  auto* watcher = new QFutureWatcher<QString>(this);
  connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, path] {
    watcher->deleteLater();
    finishReport(path, watcher->result());
  });
  watcher->setFuture(QtConcurrent::run([report, path] {
    QString error;
    return report->writeRendered(path, &error) ? QString() : (error.isEmpty() ? QObject::tr("%1: not written").arg(path) : error);
  }));
}

void MainWindow::finishReport(const QString& path, const QString& error) {
  if (!error.isEmpty()) warn(tr("Report failed"), error);
  else statusBar()->showMessage(tr("Wrote %1").arg(path), 6000);
  emit reportWritten(path, error.isEmpty());
}

}  // namespace plab::ui
