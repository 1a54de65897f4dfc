#include "sweeps/sweep_panel.h"

#include <QFile>
#include <QFileDialog>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QThread>
#include <QVBoxLayout>
#include <QtConcurrent>

#include "plots/loss_plot.h"
#include "runs/run_control_bar.h"  // makePaceBox
#include "runs/run_follower.h"
#include "sweeps/comparison_view.h"

namespace plab::ui {
namespace {

enum VariantColumn { kName, kStatus, kStep, kRun, kColumnCount };

QLabel* wrappedLabel(const QString& objectName) {
  auto* label = new QLabel;
  label->setObjectName(objectName);
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return label;
}

}  // namespace

SweepPanel::SweepPanel(const QString& databasePath, QWidget* parent)
    : QWidget(parent),
      databasePath_(databasePath),
      runner_(new SweepRunner(databasePath, this)),
      slurm_(new SlurmFollower(databasePath, this)),
      follower_(new RunFollower(databasePath, this)) {
  auto* layout = new QVBoxLayout(this);
  title_ = wrappedLabel(QStringLiteral("sweepTitle"));
  QFont big = title_->font();
  big.setPointSizeF(big.pointSizeF() * 1.4);
  big.setBold(true);
  title_->setFont(big);
  description_ = wrappedLabel(QStringLiteral("sweepDescription"));
  watch_ = wrappedLabel(QStringLiteral("sweepWatch"));
  watch_->setFrameShape(QFrame::StyledPanel);
  watch_->setMargin(6);
  layout->addWidget(title_);
  layout->addWidget(description_);
  layout->addWidget(watch_);

  auto* controls = new QHBoxLayout;
  runButton_ = new QPushButton(QIcon(QStringLiteral(":/icons/start.svg")), tr("&Run sweep"));
  runButton_->setObjectName(QStringLiteral("runSweep"));
  runButton_->setToolTip(tr("Run every variant (precisionlab-cli sweep), several at once"));
  stopButton_ = new QPushButton(QIcon(QStringLiteral(":/icons/stop.svg")), tr("S&top"));
  stopButton_->setObjectName(QStringLiteral("stopSweep"));
  stopButton_->setToolTip(tr("Stop every variant; what they recorded is kept, and the sweep can be resumed"));
  nextButton_ = new QPushButton(tr("&Next variant"));
  nextButton_->setObjectName(QStringLiteral("nextVariant"));
  nextButton_->setToolTip(tr("Watch the next variant: its curve in full colour, the others faint "
                             "(N in presenter mode; after the last, every curve again)"));
  followButton_ = new QPushButton(tr("Follow &Slurm sweep…"));
  followButton_->setObjectName(QStringLiteral("followSlurmSweep"));
  followButton_->setToolTip(tr("Show a sweep submitted with precisionlab-cli sweep --slurm: its tasks' runs appear "
                               "as they finish (docs/remote.md)"));
  jobs_ = new QSpinBox;
  jobs_->setRange(1, 16);
  jobs_->setValue(std::max(1, QThread::idealThreadCount()));
  jobs_->setPrefix(tr("at once: "));
  jobs_->setToolTip(tr("How many variants train at the same time, each in its own worker process"));
  pace_ = makePaceBox(QStringLiteral("sweepPace"), tr("Slow every variant down so that a class can watch the "
                                                      "lesson unfold (the recorded step times are not affected)"));
  progress_ = new QProgressBar;
  progress_->setFormat(tr("%v of %m variants done"));
  status_ = new QLabel;
  status_->setObjectName(QStringLiteral("sweepStatus"));
  controls->addWidget(runButton_);
  controls->addWidget(stopButton_);
  controls->addWidget(nextButton_);
  controls->addWidget(followButton_);
  controls->addWidget(jobs_);
  controls->addWidget(pace_);
  controls->addWidget(progress_, 1);
  layout->addLayout(controls);
  layout->addWidget(status_);

  variants_ = new QTableWidget(0, kColumnCount);
  variants_->setObjectName(QStringLiteral("sweepVariants"));
  variants_->setHorizontalHeaderLabels({tr("Variant"), tr("Status"), tr("Step"), tr("Run")});
  variants_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  variants_->verticalHeader()->setVisible(false);
  // The names whole (a narrow pane scrolls to the other columns rather than cutting them).
  variants_->horizontalHeader()->setSectionResizeMode(kName, QHeaderView::ResizeToContents);
  variants_->horizontalHeader()->setStretchLastSection(true);
  plot_ = new LossPlot;
  plot_->setObjectName(QStringLiteral("sweepLossPlot"));
  comparison_ = new ComparisonView;

  // Variants | the overlaid losses | the claims, above the comparison table.
  auto* top = new QSplitter(Qt::Horizontal);
  top->addWidget(variants_);
  top->addWidget(plot_);
  top->addWidget(comparison_->claimsPanel());
  // The variants' names are short, the claims and what was measured long.
  top->setStretchFactor(0, 1);
  top->setStretchFactor(1, 4);
  top->setStretchFactor(2, 3);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(top);
  split->addWidget(comparison_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  connect(runButton_, &QPushButton::clicked, this, [this] {
    QString error;
    if (!run(&error)) emit message(error);
  });
  connect(stopButton_, &QPushButton::clicked, this, &SweepPanel::stop);
  connect(nextButton_, &QPushButton::clicked, this, &SweepPanel::focusNextVariant);
  connect(followButton_, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("The folder of a Slurm sweep (its --dir)"));
    QString error;
    if (!dir.isEmpty() && !followSlurm(dir, &error)) emit message(error);
  });
  // A sweep run here and one followed on Slurm fill the panel alike.
  for (SweepSource* source : {static_cast<SweepSource*>(runner_), static_cast<SweepSource*>(slurm_)}) {
    connect(source, &SweepSource::sweepStarted, this, [this](qint64 id) { sweepId_ = id; });
    connect(source, &SweepSource::variantsChanged, this, &SweepPanel::onVariants);
  }
  connect(runner_, &SweepSource::finished, this, &SweepPanel::onFinished);
  connect(slurm_, &SweepSource::finished, this, [this](qint64 id, int code, const QString& text) {
    onFinished(id, code, text);
    if (code == 0 && !text.isEmpty()) status_->setText(status_->text() + QStringLiteral(" · ") + text);  // what merge did
  });
  connect(follower_, &RunFollower::runsUpdated, this, &SweepPanel::updatePlot);
  connect(&comparisonWatcher_, &QFutureWatcher<SweepComparison>::finished, this, [this] {
    try {
      comparison_->setComparison(comparisonWatcher_.result());
    } catch (const std::exception& e) {
      emit message(tr("Cannot read the sweep's runs: %1").arg(QString::fromUtf8(e.what())));
      return;
    }
    const QString claims = comparison_->claimsHeadline();
    if (!claims.isEmpty()) status_->setText(status_->text() + QStringLiteral(" · ") + claims);
    emit comparisonReady(comparison_->comparison().sweepId);
  });
  connect(comparison_, &ComparisonView::exported, this,
          [this](const QString& path) { emit message(tr("Wrote %1").arg(path)); });
  connect(comparison_, &ComparisonView::exportFailed, this, &SweepPanel::message);
  title_->setText(tr("No sweep open"));
  description_->setText(tr("Open a lesson or a sweep file from the experiment library or with File ▸ Open: its "
                           "variants run side by side here."));
  watch_->hide();
  updateButtons();
}

SweepPanel::~SweepPanel() { comparisonWatcher_.waitForFinished(); }

bool SweepPanel::open(const QString& path, QString* error) {
  if (isRunning()) {
    *error = tr("A sweep is running: stop it before opening another");
    return false;
  }
  try {
    sweep_ = loadSweepFile(path.toStdString());
  } catch (const std::exception& e) {
    *error = QString::fromUtf8(e.what());
    return false;
  }
  path_ = path;
  runs_.clear();
  focused_ = -1;
  for (std::size_t i = 0; i < sweep_->variants.size(); ++i) runs_ << RunDataPtr();
  comparison_->clear();
  showSweep();
  return true;
}

void SweepPanel::showSweep() {
  const Sweep& s = *sweep_;
  title_->setText(QString::fromStdString(s.title.empty() ? QFileInfo(path_).fileName().toStdString() : s.title));
  description_->setText(QString::fromStdString(s.description));
  watch_->setVisible(s.lesson && !s.lesson->watch.empty());
  if (s.lesson) watch_->setText(tr("<b>What to watch:</b> %1").arg(QString::fromStdString(s.lesson->watch).toHtmlEscaped()));
  variants_->setRowCount(int(s.variants.size()));
  for (int i = 0; i < int(s.variants.size()); ++i) {
    QImage swatch(12, 12, QImage::Format_RGB32);
    swatch.fill(runColour(i));
    const QStringList cells = {QString::fromStdString(s.variants[std::size_t(i)].name), tr("not run"), QString(), QString()};
    for (int c = 0; c < kColumnCount; ++c) variants_->setItem(i, c, new QTableWidgetItem(cells[c]));
    variants_->item(i, kName)->setIcon(QIcon(QPixmap::fromImage(swatch)));
  }
  progress_->setRange(0, int(s.variants.size()));
  progress_->setValue(0);
  status_->setText(tr("%1 variants; press Run sweep").arg(s.variants.size()));
  plot_->setRuns({});
  updateButtons();
}

bool SweepPanel::run(QString* error) {
  if (!sweep_) {
    *error = tr("Open a sweep or lesson file first");
    return false;
  }
  SweepRunOptions options = options_;
  options.jobs = jobs_->value();
  options.pace = pace_->value();
  if (!runner_->start(path_, options, error)) return false;
  for (RunDataPtr& r : runs_) r.reset();
  comparison_->clear();
  plot_->setRuns({});
  progress_->setValue(0);
  status_->setText(tr("Starting %1 variants…").arg(sweep_->variants.size()));
  updateButtons();
  return true;
}

bool SweepPanel::followSlurm(const QString& dir, QString* error, int intervalMs) {
  QFile file(QDir(dir).filePath(QStringLiteral("manifest.json")));
  if (!file.open(QIODevice::ReadOnly)) {
    *error = tr("%1: no manifest.json (not a folder written by precisionlab-cli sweep --slurm)").arg(dir);
    return false;
  }
  const QString source = QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("source_name")).toString();
  if (source.isEmpty() || !open(source, error)) {
    *error = tr("%1: its sweep file %2 cannot be opened: %3").arg(dir, source, source.isEmpty() ? tr("not named") : *error);
    return false;
  }
  if (!slurm_->follow(dir, error, intervalMs)) return false;
  status_->setText(tr("Following the Slurm sweep in %1…").arg(dir));
  updateButtons();
  return true;
}

void SweepPanel::stop() {
  if (slurm_->isFollowing()) {
    slurm_->stop();  // only the watching: the tasks go on on the cluster (its finished says so)
    return;
  }
  runner_->stop();
  status_->setText(tr("Stopping every variant…"));
}

QList<RunDataPtr> SweepPanel::startedRuns() const {
  QList<RunDataPtr> started;
  for (const RunDataPtr& r : runs_) {
    if (r) started << r;
  }
  return started;
}

QList<PlotRun> SweepPanel::shownRuns() const {
  QList<PlotRun> shown;
  for (int i = 0; i < runs_.size(); ++i) {
    if (!runs_[i]) continue;
    QColor colour = runColour(i);
    if (focused_ >= 0 && i != focused_) colour.setAlpha(60);  // faint: the class watches another
    shown << PlotRun{runs_[i], colour};
  }
  return shown;
}

void SweepPanel::focusNextVariant() {
  if (!sweep_) return;
  int next = -1;
  for (int i = focused_ + 1; i < runs_.size(); ++i) {
    if (runs_[i]) {
      next = i;
      break;
    }
  }
  focused_ = next;
  plot_->setRuns(shownRuns());
  plot_->refresh();
  if (focused_ < 0) {
    variants_->clearSelection();
    status_->setText(tr("Every variant"));
    return;
  }
  variants_->selectRow(focused_);
  const SweepVariant& v = sweep_->variants[std::size_t(focused_)];
  QString text = tr("Watching %1").arg(QString::fromStdString(v.name));
  if (!runs_[focused_]->error.isEmpty()) text += QStringLiteral(": ") + runs_[focused_]->error;
  status_->setText(text);
}

void SweepPanel::onVariants(const SweepRow& row) {
  bool newRun = false;
  int done = 0;
  for (const SweepVariantRow& v : row.variants) {
    const int i = v.position;
    if (i < 0 || i >= runs_.size()) continue;
    if (v.runStatus && *v.runStatus != RunStatus::running) ++done;
    if (!v.runId || (runs_[i] && runs_[i]->runId == *v.runId)) continue;
    auto data = std::make_shared<RunData>();  // the follower reads its rows from the store
    data->runId = *v.runId;
    data->name = QString::fromStdString(v.name);
    runs_[i] = data;
    variants_->item(i, kRun)->setText(QStringLiteral("#%1").arg(*v.runId));
    newRun = true;
  }
  progress_->setValue(done);
  if (newRun) {
    plot_->setRuns(shownRuns());
    follower_->follow(startedRuns());
  }
  if (row.variants.size() > 0) status_->setText(tr("Sweep %1: %2 of %3 variants done").arg(row.id).arg(done).arg(row.variants.size()));
}

void SweepPanel::updatePlot() {
  for (int i = 0; i < runs_.size(); ++i) {
    if (!runs_[i]) continue;
    RunData& r = *runs_[i];
    r.name = QString::fromStdString(sweep_->variants[std::size_t(i)].name);  // the legend says the variant
    variants_->item(i, kStatus)->setText(r.status);
    variants_->item(i, kStep)->setText(QString::number(r.lastStep()));
    if (!r.error.isEmpty()) variants_->item(i, kStatus)->setToolTip(r.error);
  }
  plot_->refresh();
  // The follower's last update comes when the last run has ended: show all of each
  // run, as the Plots tab does when its run ends.
  bool anyLive = false;
  for (const RunDataPtr& r : runs_) anyLive = anyLive || (r && r->isLive());
  if (!anyLive) plot_->resetView();
}

void SweepPanel::onFinished(qint64 sweepId, int exitCode, const QString& message) {
  updateButtons();
  follower_->follow(startedRuns());  // those still marked running get their last rows
  if (sweepId == 0) {
    status_->setText(tr("The sweep did not start: %1").arg(message));
    emit this->message(status_->text());
    emit sweepFinished(0, exitCode);
    return;
  }
  status_->setText(exitCode == 0 ? tr("Sweep %1 finished").arg(sweepId)
                                 : tr("Sweep %1 ended with exit %2%3")
                                       .arg(sweepId)
                                       .arg(exitCode)
                                       .arg(message.isEmpty() ? QString() : QStringLiteral(": ") + message));
  const std::string db = databasePath_.toStdString();
  comparisonWatcher_.setFuture(QtConcurrent::run([db, sweepId] { return compareSweep(db, sweepId); }));
  emit sweepFinished(sweepId, exitCode);
}

void SweepPanel::updateButtons() {
  runButton_->setEnabled(sweep_.has_value() && !isRunning());
  followButton_->setEnabled(!isRunning());
  stopButton_->setEnabled(isRunning());
  jobs_->setEnabled(!isRunning());
  pace_->setEnabled(!isRunning());
}

}  // namespace plab::ui
