#include "runs/run_control_bar.h"

#include <QAction>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QSpinBox>
#include <cmath>

#include "runs/run_data.h"

namespace plab::ui {

QString formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
  const qint64 s = qint64(std::llround(seconds));
  if (s >= 3600) return QStringLiteral("%1:%2:%3").arg(s / 3600).arg((s / 60) % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QSpinBox* makePaceBox(const QString& objectName, const QString& toolTip) {
  auto* box = new QSpinBox;
  box->setObjectName(objectName);
  box->setRange(0, 10000);
  box->setSingleStep(5);
  box->setSpecialValueText(QObject::tr("pace: full speed"));
  box->setPrefix(QObject::tr("pace: "));
  box->setSuffix(QObject::tr(" steps/s"));
  box->setToolTip(toolTip);
  return box;
}

RunControlBar::RunControlBar(QWidget* parent) : QToolBar(tr("Run"), parent) {
  setObjectName(QStringLiteral("runControlBar"));
  setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  start_ = addAction(QIcon(QStringLiteral(":/icons/start.svg")), tr("Start"));
  start_->setObjectName(QStringLiteral("startAction"));
  start_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  start_->setToolTip(tr("Start a run of this experiment (Ctrl+R)"));
  pause_ = addAction(QIcon(QStringLiteral(":/icons/pause.svg")), tr("Pause"));
  pause_->setObjectName(QStringLiteral("pauseAction"));
  pause_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  pause_->setCheckable(true);
  pause_->setToolTip(tr("Pause or resume the run (Ctrl+P)"));
  stop_ = addAction(QIcon(QStringLiteral(":/icons/stop.svg")), tr("Stop"));
  stop_->setObjectName(QStringLiteral("stopAction"));
  stop_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  stop_->setToolTip(tr("Stop the run; what it recorded is kept (Ctrl+.)"));
  addSeparator();
  progress_ = new QProgressBar;
  progress_->setObjectName(QStringLiteral("runProgress"));
  progress_->setMinimumWidth(260);
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("no run"));
  addWidget(progress_);
  rate_ = new QLabel;
  rate_->setObjectName(QStringLiteral("runRate"));
  rate_->setMinimumWidth(240);
  rate_->setContentsMargins(8, 0, 8, 0);
  addWidget(rate_);
  pace_ = makePaceBox(QStringLiteral("runPace"),
                      tr("Slow the run down so that a class can watch an overflow happen and the scale back "
                         "off; the recorded step times are not affected. Takes effect at once."));
  addWidget(pace_);
  runName_ = new QLineEdit;
  runName_->setObjectName(QStringLiteral("runName"));
  runName_->setClearButtonEnabled(true);
  runName_->setMinimumWidth(160);
  runName_->setToolTip(tr("The next run's name in the run browser (it can be renamed there later). Left empty, an "
                          "edited experiment's run is named after what was changed."));
  addWidget(runName_);
  setRunning(false, false);
}

void RunControlBar::setRunning(bool running, bool paused) {
  start_->setEnabled(!running);
  pause_->setEnabled(running);
  pause_->setChecked(paused);
  pause_->setText(paused ? tr("Resume") : tr("Pause"));
  stop_->setEnabled(running);
}

QString RunControlBar::progressText() const { return progress_->format() + QStringLiteral(" | ") + rate_->text(); }

void RunControlBar::showProgress(const RunData& run) {
  const std::int64_t step = run.lastStep();
  const std::int64_t total = std::max<std::int64_t>(run.totalSteps, step);
  // QProgressBar holds ints; runs are far below 2^31 steps.
  progress_->setRange(0, int(std::max<std::int64_t>(total, 1)));
  progress_->setValue(int(step));
  if (run.isLive()) {
    progress_->setFormat(tr("step %1 / %2 (%p%)").arg(step).arg(total));
    rate_->setText(tr("%1 steps/s · %2 left").arg(run.stepsPerSecond, 0, 'f', 1).arg(formatDuration(run.etaSeconds)));
  } else {
    progress_->setFormat(tr("%1 at step %2").arg(run.status).arg(step));
    rate_->setText(run.error.isEmpty() ? QString() : run.error.left(120));
  }
}

}  // namespace plab::ui
