// Stored runs: two real runs through the worker (fp16 with dynamic loss scaling and
// an fp32 baseline), then the run browser (filter, notes and tags written to the
// store), overlay with the configuration diff, and every export checked as a file:
// PNG/PDF/SVG of a plot, CSV of a run, PDF and HTML reports, the headless report.
#include <QDir>
#include <QAbstractItemModel>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QFile>
#include <QSignalSpy>
#include <QTableWidget>
#include <QtTest>

#include "plots/benchmark_plot.h"
#include "runs/config_diff_table.h"
#include "gui_test_support.h"
#include "runs/run_loader.h"
#include "report/report_writer.h"
#include "plots/layer_heat_map.h"
#include "plots/live_plots_panel.h"
#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "editor/network_editor.h"
#include "plots/plot_widget.h"
#include "runs/experiment_library.h"
#include "runs/run_browser.h"
#include "runs/run_table_model.h"
#include "runs/worker_client.h"
#include "store/run_export.h"

using namespace plab::ui;

class TestGuiRuns : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;
  QList<qint64> runIds_;

  qint64 runOnce(const nlohmann::json& experiment) {
    window_->document()->load(experiment, {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    if (!window_->startRun()) {
      qWarning("startRun refused: %s", qPrintable(window_->lastWarning()));
      return -1;
    }
    if (!ended.wait(120000)) {
      qWarning("no runFinished; worker messages: %s", qPrintable(window_->worker()->lastMessages().join(QStringLiteral(" / "))));
      return -1;
    }
    if (ended.first().at(1).toString() != QLatin1String("completed")) qWarning("run ended %s", qPrintable(ended.first().at(1).toString()));
    return ended.first().at(0).toLongLong();
  }
  QString path(const QString& name) const { return dir_.filePath(name); }

 private slots:
  void initTestCase() {
    window_ = test::makeWindow(dir_);
    window_->show();
    nlohmann::json fp16 = test::shortExperiment(*window_, 300);
    for (auto& layer : fp16["network"]["layers"]) layer["precision"] = "fp16";
    fp16["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 50}};
    fp16["title"] = "spirals fp16";
    nlohmann::json fp32 = fp16;
    for (auto& layer : fp32["network"]["layers"]) layer["precision"] = "fp32";
    fp32["loss_scaling"] = {{"mode", "none"}};
    fp32["title"] = "spirals fp32";
    for (const auto& e : {fp16, fp32}) {
      const qint64 id = runOnce(e);
      QVERIFY2(id > 0, qPrintable(window_->lastWarning() + QStringLiteral(" | ") +
                                  (window_->worker()->run() ? window_->worker()->run()->error : QString())));
      runIds_ << id;
    }
    QTRY_VERIFY_WITH_TIMEOUT(window_->runBrowser()->model()->rowCount() == 2, 10000);
  }
  void cleanupTestCase() { window_.reset(); }

  void browserFiltersRuns() {
    RunBrowser* browser = window_->runBrowser();
    browser->setFilterText(QStringLiteral("fp16"));
    QCOMPARE(browser->visibleRowCount(), 1);
    browser->setFilterText(QStringLiteral("spirals"));
    QCOMPARE(browser->visibleRowCount(), 2);
    // Any setting of the run's experiment is searchable too: only the fp16 run used
    // dynamic loss scaling, and no column shows it.
    browser->setFilterText(QStringLiteral("dynamic"));
    QCOMPARE(browser->visibleRowCount(), 1);
    QCOMPARE(browser->view()->model()->index(0, RunTableModel::Id).data(Qt::UserRole).toLongLong(), runIds_[0]);
    browser->setFilterText(QStringLiteral("no such run"));
    QCOMPARE(browser->visibleRowCount(), 0);
    browser->setFilterText(QString());
  }

  void notesAndTagsAreStored() {
    RunTableModel* model = window_->runBrowser()->model();
    const int row = model->rowOfRun(runIds_[0]);
    QVERIFY(model->setData(model->index(row, RunTableModel::Notes), QStringLiteral("overflows early on"), Qt::EditRole));
    QVERIFY(model->setData(model->index(row, RunTableModel::Tags), QStringLiteral("demo, fp16"), Qt::EditRole));
    plab::RunReader reader(window_->databasePath().toStdString());
    const auto info = reader.getRun(runIds_[0]);
    QVERIFY(info);
    QCOMPARE(QString::fromStdString(info->notes), QStringLiteral("overflows early on"));
    QCOMPARE(int(info->tags.size()), 2);
    QCOMPARE(QString::fromStdString(info->tags[1]), QStringLiteral("fp16"));
  }

  // One "final train loss" everywhere: the run browser, the report's summary row and
  // the run's stored summary (what `run --summary-json` writes) give the same number.
  void finalTrainLossIsOneFigureEverywhere() {
    RunTableModel* model = window_->runBrowser()->model();
    for (const qint64 id : runIds_) {
      plab::RunReader reader(window_->databasePath().toStdString());
      const auto info = reader.getRun(id);
      QVERIFY(info);
      const double stored = info->summary["final_train_loss"].get<double>();
      const auto shownLoss = [&] { return model->data(model->index(model->rowOfRun(id), RunTableModel::FinalLoss), Qt::EditRole); };
      window_->runBrowser()->refresh();  // the browser reads the store in the background
      QTRY_VERIFY_WITH_TIMEOUT(shownLoss().isValid(), 10000);
      const QVariant shown = shownLoss();
      QCOMPARE(shown.toDouble(), stored);
      const ReportSummaryRow row = summarize(*loadRunData(window_->databasePath(), id));
      QCOMPARE(row.finalLoss, stored);
    }
    QCOMPARE(model->headerData(RunTableModel::FinalLoss, Qt::Horizontal, Qt::DisplayRole).toString(),
             QStringLiteral("Final train loss"));
  }

  // The Compare tab follows the run browser's selection without "Show / overlay".
  void compareTabFollowsTheSelection() {
    ConfigDiffTable* diff = window_->configDiff();
    window_->runBrowser()->selectRuns(runIds_);
    QCOMPARE(diff->table()->columnCount(), 3);  // setting, run, run
    QVERIFY(diff->differingRowCount() >= 3);
    window_->runBrowser()->selectRuns({runIds_[1]});
    QCOMPARE(diff->table()->columnCount(), 2);
    QVERIFY2(diff->table()->horizontalHeaderItem(1)->text().contains(QStringLiteral("#%1").arg(runIds_[1])),
             qPrintable(diff->table()->horizontalHeaderItem(1)->text()));
  }

  void overlaysTwoRunsWithConfigDiff() {
    QSignalSpy shown(window_.get(), &MainWindow::runsShown);
    window_->showRuns(runIds_);
    QVERIFY(shown.wait(20000));
    QCOMPARE(shown.first().at(0).toInt(), 2);
    LossPlot* loss = window_->plotsPanel()->lossPlot();
    QCOMPARE(loss->runs().size(), 2);
    QVERIFY(loss->pointCount(0) > 0);
    QVERIFY(loss->pointCount(1) > 0);
    QVERIFY(loss->runs()[0].colour != loss->runs()[1].colour);
    // The fp16 run with dynamic scaling has overflow markers; the fp32 run none.
    QVERIFY(window_->plotsPanel()->lossScalePlot()->overflowMarkerCount() > 0);
    ConfigDiffTable* diff = window_->configDiff();
    QCOMPARE(diff->table()->columnCount(), 3);
    QVERIFY2(diff->differingRowCount() >= 3, qPrintable(QString::number(diff->differingRowCount())));
    bool precisionDiffers = false;
    for (const ConfigDiffRow& row : diffConfigs({loss->runs()[0].data, loss->runs()[1].data})) {
      if (row.key == QStringLiteral("network.layers[0].precision")) precisionDiffers = row.differs;
    }
    QVERIFY(precisionDiffers);
    // The layer heat map shows both runs, each band in its run's colour.
    auto* heat = qobject_cast<LayerHeatMap*>(window_->plotsPanel()->plotByName(QStringLiteral("layerHeatMap")));
    QVERIFY(heat);
    heat->refresh();
    QCOMPARE(heat->bandCount(), 2);
    QVERIFY(heat->layerCount(0) > 0);
    QCOMPARE(heat->layerCount(1), heat->layerCount(0));
    QVERIFY(heat->stepCount(1) > 0);
    QCOMPARE(heat->bandColour(1), loss->runs()[1].colour);
    QVERIFY(heat->rowLabel(0, 1).startsWith(QStringLiteral("#%1 ").arg(runIds_[1])));
  }

  // A run keeps its colour whichever runs it is overlaid with and wherever it stands.
  void runColoursDoNotDependOnTheOverlay() {
    QSignalSpy shown(window_.get(), &MainWindow::runsShown);
    LossPlot* loss = window_->plotsPanel()->lossPlot();
    const auto colourOf = [&](qint64 id) {
      for (const PlotRun& r : loss->runs()) {
        if (r.data->runId == id) return r.colour;
      }
      return QColor();
    };
    window_->showRuns(runIds_);
    QVERIFY(shown.wait(20000));
    const QColor first = colourOf(runIds_[0]), second = colourOf(runIds_[1]);
    QVERIFY(first.isValid() && second.isValid() && first != second);
    window_->showRuns({runIds_[1], runIds_[0]});
    QVERIFY(shown.wait(20000));
    QCOMPARE(loss->runs()[0].data->runId, runIds_[1]);
    QCOMPARE(colourOf(runIds_[0]), first);
    QCOMPARE(colourOf(runIds_[1]), second);
    window_->showRuns({runIds_[1]});
    QVERIFY(shown.wait(20000));
    QCOMPARE(colourOf(runIds_[1]), second);
    QCOMPARE(second, runColourOf(runIds_[1]));
    window_->showRuns(runIds_);  // as the tests after this one expect
    QVERIFY(shown.wait(20000));
  }

  void exportsPlotAsPngPdfSvg_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("magic");
    QTest::newRow("png") << "loss.png" << QByteArray("\x89PNG\r\n\x1a\n");
    QTest::newRow("pdf") << "loss.pdf" << QByteArray("%PDF");
    QTest::newRow("svg") << "loss.svg" << QByteArray("<svg");
  }
  void exportsPlotAsPngPdfSvg() {
    QFETCH(QString, file);
    QFETCH(QByteArray, magic);
    PlotWidget* plot = window_->plotsPanel()->lossPlot();
    PlotWidget::ExportFormat format;
    QVERIFY(PlotWidget::formatFromSuffix(file, &format));
    QString error;
    QVERIFY2(plot->exportTo(path(file), format, 1600, 1000, &error), qPrintable(error));
    QCOMPARE(window_->statusBar()->currentMessage(), QStringLiteral("Wrote %1").arg(path(file)));  // feedback
    const QByteArray head = test::head(path(file), 4096);
    QVERIFY2(head.size() > 100, qPrintable(QString::number(head.size())));
    QVERIFY2(head.contains(magic), head.left(80).constData());
    if (file.endsWith(QLatin1String(".png"))) {
      QImage image(path(file));
      QCOMPARE(image.size(), QSize(1600, 1000));
      QCOMPARE(image.pixelColor(2, 2), QColor(Qt::white));  // report style: white background
    }
  }

  // Save dialogs start where the last export went, also in the next session.
  void exportDialogsStartInTheLastFolder() {
    QStandardPaths::setTestModeEnabled(true);  // the settings of ~/.qttest, not the user's
    const QString folder = path(QStringLiteral("exports"));
    QVERIFY(QDir().mkpath(folder));
    rememberExportFolder(folder + QStringLiteral("/report.pdf"));
    QCOMPARE(exportDialogStart(QStringLiteral("run-3.csv")), folder + QStringLiteral("/run-3.csv"));
    QSettings().remove(QStringLiteral("dialogs/lastExportFolder"));
    QCOMPARE(exportDialogStart(QStringLiteral("run-3.csv")), QStringLiteral("run-3.csv"));
  }

  void exportsCsvOfARun() {
    QSignalSpy done(window_.get(), &MainWindow::csvExported);
    window_->exportCsv(runIds_[0], path(QStringLiteral("run.csv")));
    QVERIFY(done.wait(20000));
    QVERIFY(done.first().at(1).toBool());
    QFile csv(path(QStringLiteral("run.csv")));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().split('\n');
    QCOMPARE(lines[0], QByteArray(plab::kStepsCsvHeader));  // the columns of `precisionlab-cli export`
    QCOMPARE(lines.size() - 2, 300);  // header + 300 steps + the empty piece after the last newline
    QVERIFY(lines[1].startsWith("1,"));
    // The epoch evaluations go beside it, as the CLI's export writes them.
    QFile epochs(path(QStringLiteral("run.epochs.csv")));
    QVERIFY(epochs.open(QIODevice::ReadOnly));
    QCOMPARE(epochs.readLine().trimmed(), QByteArray(plab::kEpochsCsvHeader));
  }

  void writesReports_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("magic");
    QTest::newRow("pdf") << "report.pdf" << QByteArray("%PDF");
    QTest::newRow("html") << "report.html" << QByteArray("<html");
  }
  void writesReports() {
    QFETCH(QString, file);
    QFETCH(QByteArray, magic);
    QSignalSpy done(window_.get(), &MainWindow::reportWritten);
    window_->writeReport(runIds_, path(file));
    QVERIFY(done.wait(60000));
    QVERIFY2(done.first().at(1).toBool(), qPrintable(window_->lastWarning()));
    const QByteArray head = test::head(path(file), 1 << 20);
    QVERIFY2(head.startsWith(magic), head.left(40).constData());
    QVERIFY(QFileInfo(path(file)).size() > 10000 || file.endsWith(QLatin1String(".html")));
    if (file.endsWith(QLatin1String(".html"))) {
      // The report's final train loss is the run browser's, figure for figure.
      // The summary has a row per figure and a column per run, in the order given.
      RunTableModel* model = window_->runBrowser()->model();
      const QString page = QString::fromUtf8(head);
      const qsizetype from = page.indexOf(QStringLiteral("Final train loss</th>"));
      QVERIFY(from > 0);
      const QString row = page.mid(from, page.indexOf(QStringLiteral("</tr>"), from) - from);
      QStringList cells;
      for (const qint64 id : runIds_) {
        const QString shown = model->data(model->index(model->rowOfRun(id), RunTableModel::FinalLoss), Qt::DisplayRole).toString();
        QVERIFY(!shown.isEmpty());
        cells << QStringLiteral("<td class='v'>%1</td>").arg(shown);
      }
      QVERIFY2(row.endsWith(cells.join(QString())), qPrintable(row + QStringLiteral(" | ") + cells.join(QString())));
      QVERIFY(head.contains("Speedup vs fp32"));
      QVERIFY(head.contains("spirals fp16"));
      const QImage loss(path(QStringLiteral("report_files/loss.png")));
      QVERIFY(!loss.isNull());
      QVERIFY(loss.width() >= 1000);
    }
  }

  void benchmarkShowsSpeedupsOverFp32() {
    QSignalSpy done(window_.get(), &MainWindow::benchmarkFinished);
    const QStringList before = QDir::current().entryList({QStringLiteral("precisionlab-*.json")}, QDir::Files);
    QVERIFY2(window_->startBenchmark(5), qPrintable(window_->lastWarning()));
    // The experiment handed to the CLI is written to the temporary folder, never into
    // the working directory (a checkout, the user's folder).
    QCOMPARE(QDir::current().entryList({QStringLiteral("precisionlab-*.json")}, QDir::Files), before);
    QVERIFY(done.wait(180000));
    const qint64 id = done.first().at(0).toLongLong();
    QVERIFY2(id > 0, qPrintable(window_->lastWarning()));
    QSignalSpy shown(window_.get(), &MainWindow::runsShown);
    QVERIFY(shown.count() == 1 || shown.wait(20000));
    auto* bench = qobject_cast<BenchmarkPlot*>(window_->plotsPanel()->plotByName(QStringLiteral("benchmarkPlot")));
    QVERIFY(bench);
    bench->refresh();
    const QStringList labels = bench->speedupLabels();
    QVERIFY2(labels.contains(QStringLiteral("fp32: ×1.00")), qPrintable(labels.join(QStringLiteral("; "))));
    QVERIFY2(labels.size() == 5, qPrintable(labels.join(QStringLiteral("; "))));
  }

  void followsARunThatAHeadlessCliIsWriting() {
    nlohmann::json long_ = test::shortExperiment(*window_, 400000);
    long_["title"] = "headless long run";
    QFile file(path(QStringLiteral("long.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(long_.dump()));
    file.close();
    QProcess cli;
    cli.start(test::cliPath(), {QStringLiteral("run"), file.fileName(), QStringLiteral("--db"), window_->databasePath()});
    QVERIFY2(cli.waitForStarted(), qPrintable(test::cliPath() + QStringLiteral(": ") + cli.errorString()));
    RunBrowser* browser = window_->runBrowser();
    qint64 id = 0;
    auto findRun = [&] {
      browser->refresh();
      for (int r = 0; r < browser->model()->rowCount(); ++r) {
        if (browser->model()->runAt(r)->title == "headless long run") id = browser->model()->runAt(r)->id;
      }
      return id > 0;
    };
    QTRY_VERIFY_WITH_TIMEOUT(findRun(), 30000);
    QSignalSpy shown(window_.get(), &MainWindow::runsShown);
    window_->showRuns({id});
    QVERIFY(shown.wait(20000));
    LossPlot* loss = window_->plotsPanel()->lossPlot();
    const int before = loss->pointCount(0);
    QTRY_VERIFY_WITH_TIMEOUT(loss->pointCount(0) > before + 10, 20000);
    cli.terminate();  // SIGTERM: the CLI ends the run as cancelled
    QVERIFY(cli.waitForFinished(20000));
    QTRY_COMPARE_WITH_TIMEOUT(loss->runs()[0].data->status, QStringLiteral("cancelled"), 20000);
  }

  void headlessReportCommand() {
    const QString app = test::guiAppPath();
    QProcess report;
    report.start(app, {QStringLiteral("report"), QStringLiteral("--db"), window_->databasePath(), QStringLiteral("--runs"),
                       QStringLiteral("%1,%2").arg(runIds_[0]).arg(runIds_[1]), QStringLiteral("-o"), path(QStringLiteral("cli.pdf"))});
    QVERIFY2(report.waitForStarted(), qPrintable(app + QStringLiteral(": ") + report.errorString()));
    QVERIFY(report.waitForFinished(120000));
    QVERIFY2(report.exitCode() == 0, report.readAllStandardError().constData());
    QVERIFY(test::head(path(QStringLiteral("cli.pdf")), 8).startsWith("%PDF"));
    // A wrong id is an error with a message, not a crash.
    report.start(app, {QStringLiteral("report"), QStringLiteral("--db"), window_->databasePath(), QStringLiteral("--runs"),
                       QStringLiteral("999"), QStringLiteral("-o"), path(QStringLiteral("none.pdf"))});
    QVERIFY(report.waitForFinished(60000));
    QCOMPARE(report.exitCode(), 1);
    QVERIFY(report.readAllStandardError().contains("999"));
  }

  // Opening another experiment puts its title and description on the Plots tab, and
  // not the previous experiment's run.
  void plotsTabFollowsTheExperimentOpened() {
    QVERIFY(!window_->plotsPanel()->lossPlot()->runs().isEmpty());
    const QString path = window_->library()->pathOf(QStringLiteral("fp16-no-loss-scaling.json"));
    QVERIFY(!path.isEmpty());
    QVERIFY(window_->openExperiment(path));
    QCOMPARE(window_->plotsPanel()->titleText(), window_->document()->title());
    QCOMPARE(window_->plotsPanel()->descriptionText(), window_->document()->description());
    QVERIFY(window_->document()->title() != QStringLiteral("spirals fp32"));
    QVERIFY(window_->plotsPanel()->lossPlot()->runs().isEmpty());
  }

  // A run whose layers mix formats says so in the runs table, with each layer's format
  // in the cell's tooltip (it said "fp16" before, or "fp16×2, fp32×1" sorted by name).
  void runsTableShowsAMixOfFormats() {
    nlohmann::json mixed = test::shortExperiment(*window_, 20);
    auto& layers = mixed["network"]["layers"];
    QVERIFY(layers.size() >= 3);
    for (auto& layer : layers) layer["precision"] = "fp16";
    layers[layers.size() - 1]["precision"] = "fp32";
    mixed["title"] = "spirals mixed";
    const qint64 id = runOnce(mixed);
    QVERIFY2(id > 0, qPrintable(window_->lastWarning()));
    RunTableModel* model = window_->runBrowser()->model();
    QTRY_VERIFY_WITH_TIMEOUT(model->rowOfRun(id) >= 0, 10000);
    const QModelIndex cell = model->index(model->rowOfRun(id), RunTableModel::Precision);
    QCOMPARE(cell.data().toString(), QStringLiteral("fp16 \u00d7%1, fp32 \u00d71").arg(layers.size() - 1));
    const QStringList tip = cell.data(Qt::ToolTipRole).toString().split(QLatin1Char('\n'));
    QCOMPARE(tip.size(), int(layers.size()));
    QVERIFY2(tip.front().startsWith(QStringLiteral("layers[0] ")) && tip.front().endsWith(QStringLiteral(": fp16")), qPrintable(tip.front()));
    QVERIFY2(tip.back().endsWith(QStringLiteral(": fp32")), qPrintable(tip.back()));
    // A run in one format names it alone.
    QCOMPARE(model->index(model->rowOfRun(runIds_[0]), RunTableModel::Precision).data().toString(), QStringLiteral("fp16"));
  }
};

QTEST_MAIN(TestGuiRuns)
#include "tst_gui_runs.moc"
