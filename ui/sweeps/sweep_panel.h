#pragma once
// The Sweep tab: a sweep or lesson file opened like an experiment, run with one
// button, each variant's progress in a list, their losses overlaid as they train (a
// variant keeps its colour, its name is the legend), and, when the runs end, the
// comparison table and the lesson's claims ticked or crossed with what was measured.
#include <QFutureWatcher>
#include <QList>
#include <QWidget>
#include <optional>

#include "runs/run_data.h"
#include "sweep/comparison.h"
#include "sweep/sweep.h"
#include "sweeps/slurm_follower.h"
#include "sweeps/sweep_runner.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace plab::ui {

class ComparisonView;
class LossPlot;
class RunFollower;

class SweepPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SweepPanel(const QString& databasePath, QWidget* parent = nullptr);
  ~SweepPanel() override;

  // Parses the file (as strictly as the CLI does); false, with *error naming the key
  // path, when it is not a valid sweep. Nothing shown changes then.
  bool open(const QString& path, QString* error);
  // Starts `precisionlab-cli sweep` on the open file; false with *error when it cannot.
  bool run(QString* error);
  // Follows a sweep submitted with `sweep --slurm` (docs/remote.md): opens its sweep file
  // (the manifest's source_name) and shows the tasks' runs as `merge` brings them into
  // the store, every intervalMs. False with *error when the folder or its file cannot be read.
  bool followSlurm(const QString& dir, QString* error, int intervalMs = 5000);
  void stop();
  bool isRunning() const { return runner_->isRunning() || slurm_->isFollowing(); }
  // Overrides for the next run (tests, a quick look): every variant this many steps.
  void setRunOptions(const SweepRunOptions& options) { options_ = options; }
  // ssh://...: the next sweeps' variants train there (docs/remote.md); "" : here.
  void setWorkerAddress(const QString& address) { options_.worker = address; }

  QString filePath() const { return path_; }
  std::int64_t sweepId() const { return sweepId_; }
  LossPlot* lossPlot() const { return plot_; }
  ComparisonView* comparisonView() const { return comparison_; }
  QTableWidget* variantTable() const { return variants_; }
  // The runs on the plot, one per variant that has started, in variant order. While a
  // variant is focused the others are drawn faint.
  QList<PlotRun> shownRuns() const;
  // The variant the class watches (N in presenter mode): its curve in full colour,
  // the others faint, its row selected and its name and description in the status
  // line. focusNextVariant goes to the next variant that has a run, after the last
  // back to none (every curve in full colour). -1: none.
  void focusNextVariant();
  int focusedVariant() const { return focused_; }

 signals:
  void sweepFinished(qint64 sweepId, int exitCode);
  void comparisonReady(qint64 sweepId);
  void message(const QString& text);

 private:
  void showSweep();
  void onVariants(const SweepRow& row);
  void onFinished(qint64 sweepId, int exitCode, const QString& message);
  void updateButtons();
  void updatePlot();
  QList<RunDataPtr> startedRuns() const;

  QString databasePath_;
  QString path_;
  std::optional<Sweep> sweep_;
  SweepRunOptions options_;
  SweepRunner* runner_;
  SlurmFollower* slurm_;
  std::int64_t sweepId_ = 0;  // the last sweep run or followed
  RunFollower* follower_;
  QList<RunDataPtr> runs_;  // by variant position; null until the variant's run starts
  int focused_ = -1;        // focusNextVariant
  QFutureWatcher<SweepComparison> comparisonWatcher_;

  QLabel* title_;
  QLabel* description_;
  QLabel* watch_;
  QLabel* status_;
  QPushButton* runButton_;
  QPushButton* stopButton_;
  QPushButton* nextButton_;
  QPushButton* followButton_;
  QSpinBox* jobs_;
  QSpinBox* pace_;
  QProgressBar* progress_;
  QTableWidget* variants_;
  LossPlot* plot_;
  ComparisonView* comparison_;
};

}  // namespace plab::ui
