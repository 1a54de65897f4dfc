#include "common/main_window.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QUndoStack>
#include <QFutureWatcher>

#include "common/app_paths.h"
#include "editor/experiment_document.h"
#include "runs/experiment_library.h"
#include "editor/network_diagram.h"
#include "editor/network_editor.h"
#include "explorer/precision_explorer.h"
#include "training/training_settings.h"
#include "plots/live_plots_panel.h"
#include "plots/plot_widget.h"
#include "runs/run_control_bar.h"
#include "runs/worker_client.h"
#include "runs/worker_location.h"
#include <QCloseEvent>
#include <QtConcurrent>
#include "runs/config_diff_table.h"
#include "runs/run_browser.h"
#include "runs/run_loader.h"
#include "runs/cli_job.h"
#include "core/json_text.h"
#include "runs/run_follower.h"
#include "sweep/sweep.h"
#include "sweeps/comparison_view.h"
#include "sweeps/sweep_panel.h"

namespace plab::ui {
namespace {

// A sweep or lesson file (it has "variants" or "grid") opens in the Sweep tab; anything
// else, valid or not, goes to the experiment editor, which names what is wrong.
bool isSweepFile(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return false;
  const auto j = nlohmann::json::parse(file.readAll().toStdString(), nullptr, false);
  return !j.is_discarded() && looksLikeSweep(j);
}

// A tab's page in a scroll area that takes the page's name: no page can make the
// window larger than a projector's 1280x720 or grow it when shown (docs/user-guide.md,
// "The window"); a page that needs more room than it gets scrolls instead.
QScrollArea* scrollablePage(QWidget* page) {
  auto* area = new QScrollArea;
  area->setObjectName(page->objectName());
  area->setWidgetResizable(true);
  area->setFrameShape(QFrame::NoFrame);
  area->setWidget(page);
  return area;
}

}  // namespace

MainWindow::MainWindow(const MainWindowOptions& options, QWidget* parent)
    : QMainWindow(parent), options_(options), doc_(new ExperimentDocument(this)) {
  setObjectName(QStringLiteral("mainWindow"));
  tabs_ = new QTabWidget;
  tabs_->setDocumentMode(true);
  tabs_->addTab(scrollablePage(buildNetworkTab()), QIcon(QStringLiteral(":/icons/precision.svg")), tr("&Network"));
  settings_ = new TrainingSettings(doc_);
  settings_->setObjectName(QStringLiteral("trainingTab"));
  tabs_->addTab(scrollablePage(settings_), QIcon(QStringLiteral(":/icons/experiment.svg")), tr("&Training"));
  plots_ = new LivePlotsPanel;
  tabs_->addTab(scrollablePage(plots_), QIcon(QStringLiteral(":/icons/overlay.svg")), tr("&Plots"));
  diff_ = new ConfigDiffTable;
  diff_->setObjectName(QStringLiteral("compareTab"));
  tabs_->addTab(scrollablePage(diff_), QIcon(QStringLiteral(":/icons/overlay.svg")), tr("&Compare"));
  sweeps_ = new SweepPanel(options_.databasePath);
  sweeps_->setObjectName(QStringLiteral("sweepTab"));
  tabs_->addTab(scrollablePage(sweeps_), QIcon(QStringLiteral(":/icons/overlay.svg")), tr("S&weep"));
  connect(sweeps_, &SweepPanel::message, this, [this](const QString& text) { statusBar()->showMessage(text, 10000); });
  connect(sweeps_, &SweepPanel::sweepFinished, this, [this] { browser_->refresh(); });
  connect(sweeps_->comparisonView(), &ComparisonView::reportRequested, this, [this] {
    const SweepComparison& c = sweeps_->comparisonView()->comparison();
    const QString path = QFileDialog::getSaveFileName(this, tr("Report of sweep %1").arg(c.sweepId),
                                                      exportDialogStart(QStringLiteral("sweep-%1.pdf").arg(c.sweepId)),
                                                      tr("PDF (*.pdf);;HTML with images (*.html)"));
    rememberExportFolder(path);
    if (!path.isEmpty()) writeSweepReport(c, path);
  });
  explorer_ = new PrecisionExplorer;
  explorer_->setObjectName(QStringLiteral("explorerTab"));
  tabs_->addTab(scrollablePage(explorer_), QIcon(QStringLiteral(":/icons/explorer.svg")), tr("Precision &Explorer"));
  setCentralWidget(tabs_);
  // Every plot's export (right-click ▸ Export PNG/PDF/SVG) says where it went.
  for (PlotWidget* plot : tabs_->findChildren<PlotWidget*>()) {
    connect(plot, &PlotWidget::exported, this, [this](const QString& path) { statusBar()->showMessage(tr("Wrote %1").arg(path), 8000); });
  }

  library_ = new ExperimentLibrary(options_.experimentsDir);
  auto* libraryDock = new QDockWidget(tr("Experiment library"));
  libraryDock->setObjectName(QStringLiteral("libraryDock"));
  libraryDock->setWidget(library_);
  addDockWidget(Qt::LeftDockWidgetArea, libraryDock);
  connect(library_, &ExperimentLibrary::experimentActivated, this, &MainWindow::openExperiment);
  browser_ = new RunBrowser(options_.databasePath);
  auto* browserDock = new QDockWidget(tr("Runs"));
  browserDock->setObjectName(QStringLiteral("runsDock"));
  browserDock->setWidget(browser_);
  addDockWidget(Qt::BottomDockWidgetArea, browserDock);

  runBar_ = new RunControlBar;
  addToolBar(Qt::TopToolBarArea, runBar_);
  worker_ = new WorkerClient(this);
  location_ = new WorkerLocation(this);  // where runs and sweeps train (docs/remote.md)
  location_->follow([this](const QString& a) { worker_->setRemote(a); sweeps_->setWorkerAddress(a); });
  statusBar()->addPermanentWidget(location_->statusLabel());
  follower_ = new RunFollower(options_.databasePath, this);
  connect(follower_, &RunFollower::runsUpdated, plots_, &LivePlotsPanel::scheduleReplot);
  bench_ = new CliJob(this);
  connect(bench_, &CliJob::finished, this, [this](bool ok, const QByteArray& output, const QString& error) {
    const auto j = nlohmann::json::parse(output.toStdString(), nullptr, false);
    const qint64 id = ok && j.is_object() ? j.value("run_id", qint64(0)) : 0;
    const QString message = id ? tr("benchmark stored as run #%1").arg(id)
                               : (ok ? tr("benchmark gave no run id") : error);
    statusBar()->showMessage(message, 10000);
    plots_->appendLog(message);
    browser_->refresh();
    if (id > 0) {
      showRuns({id});
      plots_->detailTabs()->setCurrentIndex(2);  // the speed view
    } else {
      warn(tr("Benchmark"), message);
    }
    emit benchmarkFinished(id);
  });
  advisor_ = new CliJob(this);
  connect(advisor_, &CliJob::finished, this, [this](bool ok, const QByteArray& output, const QString& error) {
    browser_->refresh();  // the probe is a stored run
    const QString proposal = adviceDir_ ? adviceDir_->filePath(QStringLiteral("advised.json")) : QString();
    if (ok) {
      try {
        QFile file(proposal);
        if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error(proposal.toStdString() + ": " + file.errorString().toStdString());
        doc_->load(parseJsonText(file.readAll().toStdString()), QString());  // new: the original stays as it was
      } catch (const std::exception& e) {
        ok = false;
        warn(tr("Precision advisor"), QString::fromUtf8(e.what()));
      }
    } else {
      warn(tr("Precision advisor"), error);
    }
    if (ok) {
      plots_->appendLog(QString::fromUtf8(output).trimmed());
      showTab(QStringLiteral("networkTab"));
      statusBar()->showMessage(tr("The advisor's proposal is open as a new experiment; its description gives the "
                                  "reason for each layer"),
                               10000);
    }
    adviceDir_.reset();
    emit adviceFinished(ok);
  });
  connectWorker();
  connectBrowser();

  buildMenus();
  connect(doc_, &ExperimentDocument::changed, this, &MainWindow::updateTitle);
  connect(doc_, &ExperimentDocument::changed, this, [this] {
    const QString name = editedRunName(doc_->loadedJson(), doc_->json());
    runBar_->runNameEdit()->setPlaceholderText(name.isEmpty() ? tr("run name (optional)") : name);
  });
  // The Plots tab follows the experiment opened, unless a run is going: that run is
  // what it shows until it ends.
  connect(doc_, &ExperimentDocument::loaded, this, [this] {
    if (!worker_->isBusy()) plots_->showExperiment(doc_->title(), doc_->description());
  });
  connect(doc_->undoStack(), &QUndoStack::cleanChanged, this, &MainWindow::updateTitle);

  QString initial = options_.initialExperiment;
  if (initial.isEmpty()) initial = library_->pathOf(QStringLiteral("spirals.json"));
  if (!initial.isEmpty()) openExperiment(initial);
  updateTitle();
  statusBar()->showMessage(tr("Run store: %1").arg(options_.databasePath));
  resize(1400, 900);
  fitRunsDock();
}

void MainWindow::repolishStyleSheet() {
  // A widget polished by the application's style sheet keeps the font it had then;
  // setting the sheet again polishes every widget anew, with the font it has now.
  if (!qApp->styleSheet().isEmpty()) qApp->setStyleSheet(qApp->styleSheet());
}

void MainWindow::fitRunsDock() {
  // The run browser three rows tall (its filter bar, header and rows) at the current
  // font: its dock keeps this height while the window shrinks, and the tabs above
  // (which scroll) give up their room first. Every pixel more here is one less for the
  // plots at 1366x768.
  auto* dock = findChild<QDockWidget*>(QStringLiteral("runsDock"));
  const int titleBar = dock->sizeHint().height() - browser_->sizeHint().height();
  resizeDocks({dock}, {browser_->heightForRows(3) + std::max(0, titleBar)}, Qt::Vertical);
}

void MainWindow::changeEvent(QEvent* event) {
  QMainWindow::changeEvent(event);
  if (event->type() == QEvent::FontChange) fitRunsDock();
}

MainWindow::~MainWindow() {
  // Stop a run while every panel still exists, then hear nothing more from the worker.
  worker_->stopAndWait(5000);
  worker_->disconnect();
  // Children are destroyed after this object stops being a MainWindow; the document's
  // undo stack must not signal (cleanChanged) into half-destroyed panels.
  doc_->undoStack()->blockSignals(true);
  doc_->blockSignals(true);
}

QWidget* MainWindow::buildNetworkTab() {
  auto* split = new QSplitter(Qt::Horizontal);
  split->setObjectName(QStringLiteral("networkTab"));
  editor_ = new NetworkEditor(doc_);
  split->addWidget(editor_);
  diagram_ = new NetworkDiagram;
  auto* scroll = new QScrollArea;
  scroll->setWidgetResizable(true);
  scroll->setWidget(diagram_);
  split->addWidget(scroll);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  connect(editor_, &NetworkEditor::checked, this,
          [this](const ShapeCheck& check) { diagram_->setNetwork(doc_->layers(), check); });
  connect(editor_, &NetworkEditor::checked, this,
          [this](const ShapeCheck& check) { if (settings_) settings_->showError(check.errorKeyPath, check.keyError); });
  return split;
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(QIcon(QStringLiteral(":/icons/new.svg")), tr("&New experiment"), QKeySequence::New, this,
                  &MainWindow::newExperiment);
  file->addAction(QIcon(QStringLiteral(":/icons/open.svg")), tr("&Open experiment…"), QKeySequence::Open, this,
                  &MainWindow::openExperimentDialog);
  file->addAction(QIcon(QStringLiteral(":/icons/save.svg")), tr("&Save"), QKeySequence::Save, this,
                  &MainWindow::saveExperiment);
  file->addAction(tr("Save &As…"), QKeySequence::SaveAs, this, &MainWindow::saveExperimentAsDialog);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  QAction* undo = doc_->undoStack()->createUndoAction(this, tr("&Undo"));
  undo->setShortcut(QKeySequence::Undo);
  undo->setIcon(QIcon(QStringLiteral(":/icons/undo.svg")));
  QAction* redo = doc_->undoStack()->createRedoAction(this, tr("&Redo"));
  redo->setShortcut(QKeySequence::Redo);
  redo->setIcon(QIcon(QStringLiteral(":/icons/redo.svg")));
  edit->addAction(undo);
  edit->addAction(redo);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(runBar_->startAction());
  run->addAction(runBar_->pauseAction());
  run->addAction(runBar_->stopAction());
  run->addAction(location_->chooseAction());
  run->addSeparator();
  run->addAction(QIcon(QStringLiteral(":/icons/report.svg")), tr("&Benchmark speed"), QKeySequence(Qt::CTRL | Qt::Key_B), this,
                 [this] { startBenchmark(); });
  QAction* advise = run->addAction(tr("&Advise precision…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A), this,
                                   [this] { startAdvisor(); });
  advise->setToolTip(tr("Train a short fp32 probe and open, as a new experiment, the cheapest healthy format for "
                        "each layer with the reason"));

  QMenu* view = menuBar()->addMenu(tr("&View"));
  presenterAction_ = view->addAction(tr("&Presenter mode"), this, &MainWindow::setPresenterMode);
  presenterAction_->setObjectName(QStringLiteral("presenterAction"));
  presenterAction_->setCheckable(true);
  presenterAction_->setShortcut(QKeySequence(Qt::Key_F11));
  presenterAction_->setToolTip(tr("Full screen, every text %1% larger, Space starts and pauses, N watches a sweep's next variant (F11)").arg(presenterScalePercent()));
  view->addSeparator();
  for (int i = 0; i < tabs_->count(); ++i) {
    QAction* a = view->addAction(tabs_->tabText(i).remove(QLatin1Char('&')), this, [this, i] { tabs_->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
  }
}

int MainWindow::presenterScalePercent() const {
  return QSettings().value(QStringLiteral("presenter/fontScalePercent"), 150).toInt();
}

void MainWindow::setPresenterMode(bool on) {
  if (on == presenterMode()) return;
  if (on) {
    normalFont_ = QApplication::font();
    QFont large = normalFont_;
    large.setPointSizeF(normalFont_.pointSizeF() * presenterScalePercent() / 100.0);
    QApplication::setFont(large);
    // Set on the window too: the application's font reaches existing widgets only
    // while the event loop runs, and not those a style sheet polished (below).
    setFont(large);
    repolishStyleSheet();
    PlotWidget::setPresentationScale(presenterScalePercent() / 100.0);
    // The class sees the view being shown, not the library and the run list: their
    // room goes to the plots. Leaving the mode brings back the docks that were open.
    dockState_ = saveState();
    for (QDockWidget* dock : findChildren<QDockWidget*>()) dock->hide();
    showFullScreen();
  } else {
    QApplication::setFont(normalFont_);
    setFont(QFont());  // inherits the application's font again
    repolishStyleSheet();
    PlotWidget::setPresentationScale(1.0);
    showNormal();
    restoreState(dockState_);
  }
  presenterMode_ = on;
  presenterAction_->setChecked(on);
  spaceShortcut_->setEnabled(on);
  nextVariantShortcut_->setEnabled(on);
  statusBar()->showMessage(on ? tr("Presenter mode: F11 leaves it, Space starts and pauses, N watches the next variant")
                              : QString(), 6000);
}

void MainWindow::connectWorker() {
  connect(runBar_->startAction(), &QAction::triggered, this, &MainWindow::startRun);
  connect(runBar_->pauseAction(), &QAction::triggered, this, [this](bool pause) {
    if (pause) worker_->pause();
    else worker_->resume();
  });
  connect(runBar_->stopAction(), &QAction::triggered, worker_, &WorkerClient::stop);
  connect(runBar_->paceBox(), &QSpinBox::valueChanged, worker_, &WorkerClient::setPace);
  // Presenter mode: Space starts a run, or pauses and resumes the one going.
  spaceShortcut_ = new QShortcut(QKeySequence(Qt::Key_Space), this);
  spaceShortcut_->setEnabled(false);
  connect(spaceShortcut_, &QShortcut::activated, this, [this] {
    if (currentTabName() == sweeps_->objectName()) {
      // The Sweep tab: Space runs the lesson (a sweep has no pause: its pace slows it).
      QString error;
      if (!sweeps_->isRunning() && !sweeps_->run(&error)) statusBar()->showMessage(error, 10000);
      return;
    }
    if (worker_->isBusy()) runBar_->pauseAction()->trigger();
    else startRun();
  });
  // Presenter mode: N watches the next variant of the sweep on show.
  nextVariantShortcut_ = new QShortcut(QKeySequence(Qt::Key_N), this);
  nextVariantShortcut_->setEnabled(false);
  connect(nextVariantShortcut_, &QShortcut::activated, this, [this] {
    showTab(QStringLiteral("sweepTab"));
    sweeps_->focusNextVariant();
  });
  connect(worker_, &WorkerClient::dataAppended, plots_, &LivePlotsPanel::scheduleReplot);
  connect(worker_, &WorkerClient::progressChanged, this, [this] {
    runBar_->showProgress(*worker_->run());
    runBar_->setRunning(true, worker_->isPaused());
  });
  connect(worker_, &WorkerClient::runStarted, this, [this](qint64 id) {
    const auto run = worker_->run();
    plots_->setRuns({PlotRun{run, runColourOf(id)}});  // its own colour, now that it has a number
    if (!pendingRunName_.isEmpty()) {
      try {
        RunReader(options_.databasePath.toStdString()).renameRun(id, pendingRunName_.toStdString());
        run->name = pendingRunName_;
      } catch (const std::exception& e) {
        warn(tr("Cannot name run #%1").arg(id), QString::fromUtf8(e.what()));
      }
    }
    settings_->setDeviceText(QStringLiteral("%1: %2").arg(run->backend, run->device));
    statusBar()->showMessage(tr("Run #%1 started on %2 (%3)").arg(id).arg(run->backend, run->device));
  });
  connect(worker_, &WorkerClient::message, plots_, &LivePlotsPanel::appendLog);
  connect(plots_, &LivePlotsPanel::valuePicked, this, [this](double value) {
    explorer_->showValue(value);
    showTab(QStringLiteral("explorerTab"));
  });
  connect(plots_, &LivePlotsPanel::blockPicked, this, [this](const std::vector<float>& values, const QString& source) {
    explorer_->showBlock(values, source);
    showTab(QStringLiteral("explorerTab"));
  });
  connect(worker_, &WorkerClient::runEnded, this, &MainWindow::onRunEnded);
}

bool MainWindow::startRun() {
  if (worker_->isBusy()) {
    warn(tr("A run is going"), tr("Stop the current run before starting another."));
    return false;
  }
  editor_->checkNow();
  if (!editor_->lastCheck().ok) {
    showTab(QStringLiteral("networkTab"));
    warn(tr("The experiment has errors"),
                         tr("Fix these before starting a run:\n\n%1").arg(editor_->lastCheck().allErrors()));
    return false;
  }
  // Named by the user, else after what was edited (docs/user-guide.md, "Runs"); written
  // to the store once the worker has given the run its number.
  pendingRunName_ = runBar_->runNameEdit()->text().trimmed();
  if (pendingRunName_.isEmpty()) pendingRunName_ = editedRunName(doc_->loadedJson(), doc_->json());
  if (!worker_->start(doc_->json(), options_.databasePath)) {
    warn(tr("Cannot start the run"), worker_->error());
    return false;
  }
  plots_->setRuns({PlotRun{worker_->run(), runColourOf(0)}});
  plots_->appendLog(tr("--- run of %1 with %2").arg(doc_->title(), worker_->workerPath()));
  runBar_->setRunning(true, false);
  runBar_->showProgress(*worker_->run());
  runBar_->runNameEdit()->clear();
  showTab(QStringLiteral("plotsTab"));
  return true;
}

void MainWindow::onRunEnded(const QString& status) {
  const auto run = worker_->run();
  plots_->replotNow();
  plots_->resetViews();  // live plots followed the run; show all of it now
  runBar_->setRunning(false, false);
  runBar_->showProgress(*run);
  const bool failed = status == QLatin1String("failed");
  QString text = tr("Run #%1 %2 after %3 steps.").arg(run->runId).arg(status).arg(run->lastStep());
  if (!run->error.isEmpty()) text += QLatin1Char(' ') + run->error;
  plots_->setBanner(text, failed);
  statusBar()->showMessage(text, 10000);
  emit runFinished(run->runId, status);
}

void MainWindow::connectBrowser() {
  connect(browser_, &RunBrowser::showRunsRequested, this, &MainWindow::showRuns);
  // The Compare tab follows the selection at once; the configurations are in the listing.
  connect(browser_, &RunBrowser::selectedRunsChanged, this, [this](const QList<qint64>& ids) {
    if (!ids.isEmpty()) diff_->setRuns(withRunColours(browser_->selectedRunHeaders()));
  });
  connect(browser_, &RunBrowser::rerunRequested, this, &MainWindow::rerun);
  connect(browser_, &RunBrowser::exportCsvRequested, this, &MainWindow::exportCsvDialog);
  connect(browser_, &RunBrowser::reportRequested, this, &MainWindow::reportDialog);
  connect(browser_, &RunBrowser::message, this, [this](const QString& m) { statusBar()->showMessage(m, 10000); });
  connect(worker_, &WorkerClient::runStarted, browser_, &RunBrowser::refresh);
  connect(this, &MainWindow::runFinished, browser_, &RunBrowser::refresh);
}

void MainWindow::showRuns(const QList<qint64>& ids) {
  if (ids.isEmpty()) return;
  const QString db = options_.databasePath;
  const RunDataPtr live = worker_->run();
  auto* watcher = new QFutureWatcher<QList<RunDataPtr>>(this);
  connect(watcher, &QFutureWatcher<QList<RunDataPtr>>::finished, this, [this, watcher, live] {
    watcher->deleteLater();
    QList<RunDataPtr> loaded;
    try {
      loaded = watcher->result();
    } catch (const std::exception& e) {
      warn(tr("Cannot read runs"), QString::fromUtf8(e.what()));
      return;
    }
    QList<RunDataPtr> data;
    for (const RunDataPtr& r : loaded) {
      // The run going on now is shown from the live events, not a snapshot.
      data << (live && live->isLive() && live->runId == r->runId ? live : r);
    }
    const QList<PlotRun> runs = withRunColours(data);  // each run its own colour, wherever it stands
    plots_->setRuns(runs);
    diff_->setRuns(runs);
    // Runs still being written by another process (headless runs) keep growing.
    QList<RunDataPtr> others;
    for (const PlotRun& r : runs) {
      if (r.data != live) others << r.data;
    }
    follower_->follow(others);
    showTab(QStringLiteral("plotsTab"));
    emit runsShown(int(runs.size()));
  });
  watcher->setFuture(QtConcurrent::run([db, ids] {
    QList<RunDataPtr> runs;
    for (qint64 id : ids) runs << loadRunData(db, id);
    return runs;
  }));
}

bool MainWindow::rerun(qint64 id) {
  try {
    RunReader reader(options_.databasePath.toStdString());
    const auto info = reader.getRun(id);
    if (!info) throw std::runtime_error("no run #" + std::to_string(id));
    doc_->load(info->config, QString());
  } catch (const std::exception& e) {
    warn(tr("Cannot re-run"), QString::fromUtf8(e.what()));
    return false;
  }
  return startRun();
}

bool MainWindow::startBenchmark(int measuredSteps) {
  editor_->checkNow();
  QString error;
  if (!editor_->lastCheck().ok) error = editor_->lastCheck().allErrors();
  else
    bench_->start(QStringLiteral("bench"), doc_->json(),
                  {QStringLiteral("--json"), QStringLiteral("--db"), options_.databasePath, QStringLiteral("--steps"),
                   QString::number(measuredSteps), QStringLiteral("--warmup"), QStringLiteral("5")},
                  &error);  // sets error on failure
  if (!error.isEmpty()) {
    warn(tr("Cannot benchmark"), error);
    return false;
  }
  statusBar()->showMessage(tr("Benchmarking fp32, tf32, fp16-mixed, bf16-mixed and this assignment…"));
  return true;
}

bool MainWindow::startAdvisor(int probeSteps) {
  editor_->checkNow();
  QString error;
  adviceDir_ = std::make_unique<QTemporaryDir>();
  if (!editor_->lastCheck().ok) error = editor_->lastCheck().allErrors();
  else if (!adviceDir_->isValid()) error = tr("cannot make a temporary folder: %1").arg(adviceDir_->errorString());
  else
    advisor_->start(QStringLiteral("advise"), doc_->json(),
                    {QStringLiteral("--db"), options_.databasePath, QStringLiteral("--steps"), QString::number(probeSteps),
                     QStringLiteral("--write"), adviceDir_->filePath(QStringLiteral("advised.json"))},
                    &error);  // sets error on failure
  if (!error.isEmpty()) {
    adviceDir_.reset();
    warn(tr("Cannot run the precision advisor"), error);
    return false;
  }
  statusBar()->showMessage(tr("Precision advisor: training a %1-step fp32 probe…").arg(probeSteps));
  return true;
}

void MainWindow::warn(const QString& title, const QString& text) {
  lastWarning_ = title + QStringLiteral(": ") + text;
  if (interactive_) QMessageBox::warning(this, title, text);
  else statusBar()->showMessage(lastWarning_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (worker_->isBusy()) {
    if (interactive_ &&
        QMessageBox::question(this, tr("A run is going"),
                              tr("Stop the run and quit? What it recorded so far stays in the run store.")) != QMessageBox::Yes) {
      event->ignore();
      return;
    }
    worker_->stopAndWait(10000);
  }
  event->accept();
}

void MainWindow::showTab(const QString& name) {
  for (int i = 0; i < tabs_->count(); ++i) {
    if (tabs_->widget(i)->objectName() == name) tabs_->setCurrentIndex(i);
  }
}

QString MainWindow::currentTabName() const { return tabs_->currentWidget()->objectName(); }

void MainWindow::updateTitle() {
  const QString file = doc_->filePath().isEmpty() ? tr("untitled") : QFileInfo(doc_->filePath()).fileName();
  setWindowTitle(QStringLiteral("%1%2 — %3 — Precision Lab")
                     .arg(file, doc_->isModified() ? QStringLiteral("*") : QString(), doc_->title()));
}

bool MainWindow::openExperiment(const QString& path) {
  if (isSweepFile(path)) {
    QString error;
    if (!sweeps_->open(path, &error)) {
      warn(tr("Cannot open sweep"), error);
      return false;
    }
    showTab(QStringLiteral("sweepTab"));
    statusBar()->showMessage(tr("Opened %1: press Run sweep to run its variants").arg(path), 6000);
    return true;
  }
  try {
    doc_->loadFile(path);
    statusBar()->showMessage(tr("Opened %1").arg(path), 4000);
    return true;
  } catch (const std::exception& e) {
    warn(tr("Cannot open experiment"), QString::fromUtf8(e.what()));
    return false;
  }
}

void MainWindow::newExperiment() { doc_->load(defaultExperimentJson(), QString()); }

void MainWindow::openExperimentDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open experiment"), options_.experimentsDir,
                                                    tr("Experiments (*.json)"));
  if (!path.isEmpty()) openExperiment(path);
}

void MainWindow::saveExperiment() {
  if (doc_->filePath().isEmpty()) {
    saveExperimentAsDialog();
    return;
  }
  saveExperimentAs(doc_->filePath());
}

void MainWindow::saveExperimentAsDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment as"), options_.experimentsDir,
                                                    tr("Experiments (*.json)"));
  if (!path.isEmpty()) saveExperimentAs(path.endsWith(QLatin1String(".json")) ? path : path + QStringLiteral(".json"));
}

bool MainWindow::saveExperimentAs(const QString& path) {
  try {
    doc_->saveFile(path);
    library_->refresh();
    statusBar()->showMessage(tr("Saved %1").arg(path), 4000);
    return true;
  } catch (const std::exception& e) {
    warn(tr("Cannot save experiment"), QString::fromUtf8(e.what()));
    return false;
  }
}

}  // namespace plab::ui
