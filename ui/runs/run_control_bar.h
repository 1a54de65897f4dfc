#pragma once
// Run control: start, pause/resume, stop, and a progress bar with steps/s and time
// left. Only shows state; the main window connects the actions to the worker.
#include <QToolBar>

class QAction;
class QLabel;
class QLineEdit;
class QProgressBar;
class QSpinBox;

namespace plab::ui {

struct RunData;

class RunControlBar : public QToolBar {
  Q_OBJECT
 public:
  explicit RunControlBar(QWidget* parent = nullptr);
  QAction* startAction() const { return start_; }
  QAction* pauseAction() const { return pause_; }
  QAction* stopAction() const { return stop_; }
  QProgressBar* progressBar() const { return progress_; }
  // Steps a second a run may take (0: full speed): slows a run down for a class.
  QSpinBox* paceBox() const { return pace_; }
  // The next run's name (optional); its placeholder shows the name it gets otherwise.
  QLineEdit* runNameEdit() const { return runName_; }
  QString progressText() const;

  void setRunning(bool running, bool paused);
  void showProgress(const RunData& run);

 private:
  QAction* start_;
  QAction* pause_;
  QAction* stop_;
  QProgressBar* progress_;
  QLabel* rate_;
  QSpinBox* pace_;
  QLineEdit* runName_;
};

// A "pace: N steps/s" box (0: "pace: full speed"), for the run toolbar and the Sweep tab.
QSpinBox* makePaceBox(const QString& objectName, const QString& toolTip);

// "1:05", "2:03:10".
QString formatDuration(double seconds);

}  // namespace plab::ui
