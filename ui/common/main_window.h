#pragma once
// The main window: wires the panels together, holds the menus, toolbar and shortcuts.
// Each panel is its own widget class; this file only arranges and connects them.
#include <QFont>
#include <QMainWindow>
#include <QTemporaryDir>

#include "sweep/comparison.h"
#include <memory>

#include "runs/run_data.h"

class QTabWidget;
class QShortcut;
class QLabel;

namespace plab::ui {

class ExperimentDocument;
class ExperimentLibrary;
class NetworkEditor;
class NetworkDiagram;
class TrainingSettings;
class PrecisionExplorer;
class RunControlBar;
class WorkerClient;
class WorkerLocation;
class LivePlotsPanel;
class RunBrowser;
class ConfigDiffTable;
class CliJob;

class RunFollower;
class ReportWriter;
class SweepPanel;

struct MainWindowOptions {
  QString databasePath;     // SQLite run store
  QString experimentsDir;   // the library's folder
  QString initialExperiment;  // opened at start ("" : the library's spirals.json)
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const MainWindowOptions& options, QWidget* parent = nullptr);
  ~MainWindow() override;

  ExperimentDocument* document() const { return doc_; }
  NetworkEditor* networkEditor() const { return editor_; }
  ExperimentLibrary* library() const { return library_; }
  PrecisionExplorer* explorer() const { return explorer_; }
  QTabWidget* tabs() const { return tabs_; }
  // Shows a tab by its object name ("networkTab", "trainingTab", "plotsTab", ...).
  void showTab(const QString& name);
  // The object name of the tab on show ("sweepTab", "plotsTab", ...).
  QString currentTabName() const;

  bool openExperiment(const QString& path);
  bool saveExperimentAs(const QString& path);

  RunControlBar* runControl() const { return runBar_; }
  WorkerClient* worker() const { return worker_; }
  LivePlotsPanel* plotsPanel() const { return plots_; }
  QString databasePath() const { return options_.databasePath; }
  RunBrowser* runBrowser() const { return browser_; }
  SweepPanel* sweepPanel() const { return sweeps_; }
  // Presenter mode (View, F11): full screen, every text larger by the setting
  // presenter/fontScalePercent (150 unless set), plot lines as much wider, Space starts
  // and pauses a run (runs a sweep in the Sweep tab), N watches a sweep's next variant.
  void setPresenterMode(bool on);
  bool presenterMode() const { return presenterMode_; }
  int presenterScalePercent() const;
  ConfigDiffTable* configDiff() const { return diff_; }
  // Loads the runs from the store (in the background) and shows them overlaid;
  // runsShown() when they are on the plots.
  void showRuns(const QList<qint64>& ids);
  // Makes a stored run's config the experiment and starts it.
  bool rerun(qint64 id);
  // Measures the experiment under fp32/tf32/fp16/bf16/its own assignment in
  // precisionlab-cli bench; the stored results are then shown (benchmarkFinished).
  bool startBenchmark(int measuredSteps = 30);
  // The precision advisor (precisionlab-cli advise): a stored fp32 probe of the
  // experiment, then its proposal opened as a new, unsaved experiment with the
  // advisor's table in its description; adviceFinished() when done.
  bool startAdvisor(int probeSteps = 300);
  // Writes a run's per-step metrics (in the background); csvExported() when done.
  void exportCsv(qint64 id, const QString& path);
  // Writes a PDF or HTML report of the runs; reportWritten() when done.
  void writeReport(const QList<qint64>& ids, const QString& path);
  // The report of a sweep: its comparison and claims, then its variants' runs
  // overlaid (the Sweep tab's Report…); reportWritten() when done.
  void writeSweepReport(const SweepComparison& comparison, const QString& path);
  // Starts a run of the current experiment; false (with a message) when it cannot.
  bool startRun();
  // Non-interactive (tests, screenshots, headless): no modal boxes; warnings go to
  // the status bar and lastWarning(), and closing during a run does not ask.
  void setInteractive(bool interactive) { interactive_ = interactive; }
  QString lastWarning() const { return lastWarning_; }

 signals:
  void runFinished(qint64 runId, const QString& status);
  void runsShown(int count);
  void benchmarkFinished(qint64 runId);
  void adviceFinished(bool ok);
  void csvExported(const QString& path, bool ok);
  void reportWritten(const QString& path, bool ok);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void changeEvent(QEvent* event) override;  // a font change fits the run browser again

 private:
  void buildMenus();
  QWidget* buildNetworkTab();
  void updateTitle();
  void newExperiment();
  void openExperimentDialog();
  void saveExperiment();
  void saveExperimentAsDialog();
  void connectWorker();
  void onRunEnded(const QString& status);
  void warn(const QString& title, const QString& text);
  // The report's charts, one per event-loop turn, then its file on a worker thread.
  void renderReportCharts(const std::shared_ptr<ReportWriter>& report, const QString& path);
  void finishReport(const QString& path, const QString& error);
  void connectBrowser();
  void exportCsvDialog(qint64 id);
  void reportDialog(const QList<qint64>& ids);

  MainWindowOptions options_;
  ExperimentDocument* doc_;
  QTabWidget* tabs_;
  ExperimentLibrary* library_;
  NetworkEditor* editor_;
  NetworkDiagram* diagram_;
  TrainingSettings* settings_ = nullptr;
  PrecisionExplorer* explorer_;
  RunControlBar* runBar_;
  WorkerClient* worker_;
  WorkerLocation* location_;
  LivePlotsPanel* plots_;
  RunBrowser* browser_;
  SweepPanel* sweeps_;
  QAction* presenterAction_ = nullptr;
  QShortcut* spaceShortcut_ = nullptr;
  QShortcut* nextVariantShortcut_ = nullptr;
  QFont normalFont_;
  bool presenterMode_ = false;
  QByteArray dockState_;
  void fitRunsDock();
  void repolishStyleSheet();  // the docks as they were before presenter mode hid them
  ConfigDiffTable* diff_;
  CliJob* bench_;
  CliJob* advisor_;
  std::unique_ptr<QTemporaryDir> adviceDir_;  // where the advisor writes its proposal
  RunFollower* follower_;
  bool interactive_ = true;
  QString lastWarning_;
  QString pendingRunName_;  // for the run being started, stored at runStarted
};

}  // namespace plab::ui
