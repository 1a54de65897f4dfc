#include "common/screenshot_script.h"

#include <QApplication>
#include <QDockWidget>
#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QLineEdit>
#include <QTabWidget>
#include <QTimer>
#include <iostream>

#include "editor/experiment_document.h"
#include "plots/gradient_histogram_plot.h"
#include "plots/live_plots_panel.h"
#include "common/main_window.h"
#include "editor/network_editor.h"
#include "plots/plot_draw_queue.h"
#include "runs/experiment_library.h"
#include "runs/run_browser.h"
#include "sweeps/sweep_panel.h"

namespace plab::ui {
namespace {

class ScreenshotScript : public QObject {
 public:
  ScreenshotScript(MainWindow& window, const QString& folder) : QObject(&window), w_(window), dir_(folder) {
    QDir().mkpath(folder);
  }

  void start() {
    // The guide shows the window as a projector shows it (docs/user-guide.md: every view
    // fits 1280x720 and 1366x768).
    w_.showNormal();
    w_.resize(1366, 768);
    QTimer::singleShot(1500, this, [this] { editorShots(); });
  }

 private:
  // The window, or one view of it (for pages about that view).
  void save(const QString& name, QWidget* view = nullptr) {
    QApplication::processEvents();
    PlotDrawQueue::instance().drawAllNow();
    const QString path = dir_.filePath(name + QStringLiteral(".png"));
    (view ? view->grab() : w_.grab()).save(path);
    std::cout << "screenshot " << path.toStdString() << "\n";
  }

  void editorShots() {
    w_.showTab(QStringLiteral("networkTab"));
    w_.networkEditor()->selectLayer(1);
    save(QStringLiteral("network-editor"));
    w_.showTab(QStringLiteral("trainingTab"));
    QTimer::singleShot(800, this, [this] {
      save(QStringLiteral("training-settings"));
      w_.showTab(QStringLiteral("explorerTab"));
      if (auto* input = w_.findChild<QLineEdit*>(QStringLiteral("explorerInput"))) input->setText(QStringLiteral("65520"));
      save(QStringLiteral("precision-explorer"));
      firstRun();
    });
  }

  void firstRun() {
    firstFile_ = w_.document()->filePath();
    connect(&w_, &MainWindow::runFinished, this, [this](qint64 id, const QString&) { runFinished(id); });
    if (!w_.startRun()) fail(w_.lastWarning());
  }

  void runFinished(qint64 id) {
    runIds_ << id;
    if (runIds_.size() == 1) {
      QTimer::singleShot(500, this, [this] {
        save(QStringLiteral("live-plots"));
        showDetail(0, QStringLiteral("gradients"));
        showDetail(1, QStringLiteral("heat-map"));
        presenterShot();
      });
      return;
    }
    QTimer::singleShot(500, this, [this] { benchmark(); });
  }

  // The speed view with the benchmark of the first experiment.
  void benchmark() {
    connect(&w_, &MainWindow::benchmarkFinished, this, [this](qint64 id) {
      if (id <= 0) return fail(w_.lastWarning());
      connect(&w_, &MainWindow::runsShown, this, [this] {
        QTimer::singleShot(800, this, [this] {
          w_.plotsPanel()->replotNow();
          w_.plotsPanel()->resetViews();
          showDetail(2, QStringLiteral("speed"));
          disconnect(&w_, &MainWindow::runsShown, this, nullptr);
          overlay();
        });
      });
    });
    w_.document()->loadFile(firstFile_);
    if (!w_.startBenchmark(20)) fail(w_.lastWarning());
  }

  // What the class sees: the same plots in presenter mode (full screen, no docks,
  // larger text and lines).
  void presenterShot() {
    w_.plotsPanel()->detailTabs()->setCurrentIndex(0);
    w_.setPresenterMode(true);
    QTimer::singleShot(800, this, [this] {
      w_.plotsPanel()->replotNow();
      save(QStringLiteral("presenter-mode"));
      w_.setPresenterMode(false);
      QTimer::singleShot(800, this, [this] { secondRun(); });
    });
  }

  void showDetail(int tab, const QString& name) {
    w_.plotsPanel()->detailTabs()->setCurrentIndex(tab);
    w_.plotsPanel()->replotNow();
    save(name);
  }

  // The same experiment in fp32 throughout, without loss scaling: the baseline.
  void secondRun() {
    w_.plotsPanel()->detailTabs()->setCurrentIndex(0);
    w_.showTab(QStringLiteral("networkTab"));
    w_.networkEditor()->setAllPrecisions(QStringLiteral("fp32"));
    w_.document()->edit(QStringLiteral("fp32 baseline"), [](nlohmann::json& j) {
      j["loss_scaling"] = {{"mode", "none"}};
      j["title"] = "Two spirals in fp32 (baseline)";
    });
    if (!w_.startRun()) fail(w_.lastWarning());
  }

  void overlay() {
    connect(&w_, &MainWindow::runsShown, this, [this] {
      disconnect(&w_, &MainWindow::runsShown, this, nullptr);
      QTimer::singleShot(800, this, [this] {
        w_.runBrowser()->selectRuns(runIds_);
        save(QStringLiteral("overlay"));
        showDetail(1, QStringLiteral("heat-map-overlay"));
        w_.showTab(QStringLiteral("compareTab"));
        if (auto* only = w_.findChild<QCheckBox*>(QStringLiteral("onlyDifferences"))) only->setChecked(true);
        save(QStringLiteral("compare"));
        lesson();
      });
    });
    w_.showRuns(runIds_);
  }

  // Lesson 1 in the Sweep tab, run to the end: the overlay, the table, the claims.
  void lesson() {
    const QString path = w_.library()->pathOf(QStringLiteral("lessons/01-fp16-underflow.json"));
    if (path.isEmpty() || !w_.openExperiment(path)) return fail(QStringLiteral("cannot open lesson 1: ") + w_.lastWarning());
    SweepPanel* panel = w_.sweepPanel();
    connect(panel, &SweepPanel::comparisonReady, this, [this, panel] {
      disconnect(panel, &SweepPanel::comparisonReady, this, nullptr);
      QTimer::singleShot(1500, this, [this, panel] {  // the follower's last read, then the plot
        save(QStringLiteral("sweep-lesson"));
        // The fp16 run without scaling, its first layer's gradients against the fp32 shadow.
        const QList<PlotRun> runs = panel->shownRuns();
        if (runs.size() < 2) return fail(QStringLiteral("lesson 1 did not show its variants"));
        connect(&w_, &MainWindow::runsShown, this, [this] {
          QTimer::singleShot(800, this, [this] {
            if (auto* h = qobject_cast<GradientHistogramPlot*>(w_.plotsPanel()->plotByName(QStringLiteral("gradientHistogram"))))
              h->setLayer(QStringLiteral("layers[0] linear"));
            showDetail(0, QStringLiteral("shadow-gradients"));
            disconnect(&w_, &MainWindow::runsShown, this, nullptr);
            everyLesson();
          });
        });
        w_.showRuns({runs[1].data->runId});
      });
    });
    QString error;
    if (!panel->run(&error)) fail(error);
  }

  // Every lesson in the Sweep tab, run to the end: docs/lessons.md shows each
  // (images/lesson-<file>.png, scripts/lessons-doc.py links them).
  void everyLesson() {
    const QString first = w_.library()->pathOf(QStringLiteral("lessons/01-fp16-underflow.json"));
    const QDir folder = QFileInfo(first).dir();
    // The lesson pages show the Sweep tab itself: the docks would take its room.
    for (const char* dock : {"libraryDock", "runsDock"}) {
      if (auto* d = w_.findChild<QDockWidget*>(QLatin1String(dock))) d->hide();
    }
    for (const QString& name : folder.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
      lessons_ << folder.filePath(name);
    nextLesson();
  }

  void nextLesson() {
    if (lessons_.isEmpty()) {
      QApplication::quit();
      return;
    }
    const QString path = lessons_.takeFirst();
    if (!w_.openExperiment(path)) return fail(QStringLiteral("cannot open ") + path + QStringLiteral(": ") + w_.lastWarning());
    SweepPanel* panel = w_.sweepPanel();
    const QString shot = QStringLiteral("lesson-") + QFileInfo(path).completeBaseName();
    connect(panel, &SweepPanel::comparisonReady, this, [this, panel, shot] {
      disconnect(panel, &SweepPanel::comparisonReady, this, nullptr);
      QTimer::singleShot(1500, this, [this, shot] {
        save(shot, w_.sweepPanel());
        nextLesson();
      });
    });
    QString error;
    if (!panel->run(&error)) fail(error);
  }

  void fail(const QString& why) {
    std::cerr << "screenshots: " << why.toStdString() << "\n";
    QApplication::exit(1);
  }

  MainWindow& w_;
  QDir dir_;
  QList<qint64> runIds_;
  QStringList lessons_;
  QString firstFile_;
};

}  // namespace

void startScreenshotScript(MainWindow& window, const QString& folder) {
  auto* script = new ScreenshotScript(window, folder);
  script->start();
}

}  // namespace plab::ui
