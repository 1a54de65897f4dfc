#pragma once
// The plots of the shown runs (one live run, or several overlaid), with the
// experiment's title and description beside them. Data arrives in bursts; a 40 ms
// single-shot timer coalesces them so each plot redraws once per tick.
#include <QElapsedTimer>
#include <QList>
#include <QWidget>

#include "runs/run_data.h"

class QLabel;
class QTimer;
class QTabWidget;
class QPlainTextEdit;

namespace plab::ui {

class RunPlot;
class LossPlot;
class LossScalePlot;

class LivePlotsPanel : public QWidget {
  Q_OBJECT
 public:
  explicit LivePlotsPanel(QWidget* parent = nullptr);

  void setRuns(const QList<PlotRun>& runs);
  // Another experiment was opened and no run is going: its title and description,
  // and no plots until it runs or stored runs are shown (the previous run's would
  // read as this experiment's).
  void showExperiment(const QString& title, const QString& description);
  QString titleText() const;
  QString descriptionText() const;
  const QList<PlotRun>& runs() const { return runs_; }
  // Starts the coalescing timer unless a replot is already pending.
  void scheduleReplot();
  // Pulls new data into every plot now and queues their draws, one plot per turn of
  // the event loop (the timer's slot; also for export and tests).
  void replotNow();
  // Fits every plot to its data.
  void resetViews();
  void setBanner(const QString& text, bool isError);
  void appendLog(const QString& text);

  QTabWidget* detailTabs() const { return detailTabs_; }
  LossPlot* lossPlot() const { return loss_; }
  LossScalePlot* lossScalePlot() const { return lossScale_; }
  QList<RunPlot*> plots() const { return plots_; }
  RunPlot* plotByName(const QString& objectName) const;
  int replotCount() const { return replots_; }
  // Longest time one replotNow() took pulling data, in ms (for the benchmark; the
  // draws are timed by PlotDrawQueue).
  double slowestReplotMs() const { return slowestReplotMs_; }

 signals:
  void replotted();
  // A value picked from a tensor's statistics, for the Precision Explorer.
  void valuePicked(double value);
  void blockPicked(const std::vector<float>& values, const QString& source);

 private:
  void addPlot(RunPlot* plot, QWidget* area, const QString& tabName = {});
  void fitDescription();
  void resizeEvent(QResizeEvent* event) override;
  QLabel* title_;
  QLabel* description_;
  QWidget* descriptionArea_;
  QLabel* banner_;
  QTimer* replotTimer_;
  QTabWidget* detailTabs_;
  QPlainTextEdit* log_;
  LossPlot* loss_;
  LossScalePlot* lossScale_;
  QList<RunPlot*> plots_;
  QList<PlotRun> runs_;
  int replots_ = 0;
  double slowestReplotMs_ = 0;
};

}  // namespace plab::ui
