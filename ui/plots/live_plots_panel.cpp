#include "plots/live_plots_panel.h"

#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QHBoxLayout>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "plots/run_plot.h"
#include "plots/benchmark_plot.h"
#include "plots/gradient_histogram_plot.h"
#include "plots/layer_heat_map.h"
#include "plots/layer_timing_plot.h"
#include "plots/speed_plot.h"

namespace plab::ui {

// 40 ms: 25 redraws a second at most, as PlotJuggler; smooth, and leaves the GUI
// thread idle most of the time however fast events arrive.
constexpr int kReplotIntervalMs = 40;

LivePlotsPanel::LivePlotsPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("plotsTab"));
  auto* layout = new QVBoxLayout(this);
  title_ = new QLabel(tr("No run yet: press Start (Ctrl+R), or select runs in the run browser."));
  title_->setObjectName(QStringLiteral("experimentTitle"));
  title_->setWordWrap(true);  // a long title must not widen the window
  QFont bold = title_->font();
  bold.setBold(true);
  title_->setFont(bold);
  description_ = new QLabel;
  description_->setObjectName(QStringLiteral("experimentDescription"));
  description_->setWordWrap(true);
  description_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
  // A lesson's description runs to a paragraph: at most about three lines on show, the
  // rest scrolls, so the plots keep their room on a 720-pixel screen.
  auto* descriptionArea = new QScrollArea;
  descriptionArea->setObjectName(QStringLiteral("experimentDescriptionArea"));
  descriptionArea->setWidgetResizable(true);
  descriptionArea->setFrameShape(QFrame::NoFrame);
  descriptionArea->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  descriptionArea->setWidget(description_);
  descriptionArea_ = descriptionArea;
  banner_ = new QLabel;
  banner_->setObjectName(QStringLiteral("runBanner"));
  banner_->setWordWrap(true);
  banner_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  banner_->hide();
  // The run's outcome beside the title, not under it: one line more for the plots.
  auto* heading = new QHBoxLayout;
  heading->addWidget(title_, 3);
  heading->addWidget(banner_, 2, Qt::AlignTop);
  layout->addLayout(heading);
  layout->addWidget(descriptionArea);

  auto* split = new QSplitter(Qt::Vertical);
  auto* top = new QSplitter(Qt::Horizontal);
  loss_ = new LossPlot;
  lossScale_ = new LossScalePlot;
  addPlot(loss_, top);
  addPlot(lossScale_, top);
  split->addWidget(top);
  detailTabs_ = new QTabWidget;
  detailTabs_->setObjectName(QStringLiteral("detailTabs"));
  auto* histogram = new GradientHistogramPlot;
  connect(histogram, &GradientHistogramPlot::valuePicked, this, &LivePlotsPanel::valuePicked);
  connect(histogram, &GradientHistogramPlot::blockPicked, this, &LivePlotsPanel::blockPicked);
  addPlot(histogram, detailTabs_, tr("Gradients"));
  addPlot(new LayerHeatMap, detailTabs_, tr("Overflow / underflow map"));
  auto* speed = new QSplitter(Qt::Horizontal);
  speed->setObjectName(QStringLiteral("speedTab"));
  addPlot(new SpeedPlot, speed);
  addPlot(new BenchmarkPlot, speed);
  addPlot(new LayerTimingPlot, speed);
  detailTabs_->addTab(speed, tr("Speed"));
  log_ = new QPlainTextEdit;
  log_->setObjectName(QStringLiteral("workerLog"));
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(2000);
  detailTabs_->addTab(log_, tr("Worker log"));
  split->addWidget(detailTabs_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  replotTimer_ = new QTimer(this);
  replotTimer_->setSingleShot(true);
  replotTimer_->setInterval(kReplotIntervalMs);
  connect(replotTimer_, &QTimer::timeout, this, &LivePlotsPanel::replotNow);
}

void LivePlotsPanel::addPlot(RunPlot* plot, QWidget* area, const QString& tabName) {
  plots_.append(plot);
  if (auto* split = qobject_cast<QSplitter*>(area)) split->addWidget(plot);
  else if (auto* tabs = qobject_cast<QTabWidget*>(area)) tabs->addTab(plot, tabName);
}

RunPlot* LivePlotsPanel::plotByName(const QString& objectName) const {
  for (RunPlot* p : plots_) {
    if (p->objectName() == objectName) return p;
  }
  return nullptr;
}

void LivePlotsPanel::setRuns(const QList<PlotRun>& runs) {
  runs_ = runs;
  if (runs.size() == 1) {
    const RunData& run = *runs.first().data;
    title_->setText(run.title.isEmpty() ? run.label() : run.title);
    description_->setText(run.description);
  } else if (runs.isEmpty()) {
    title_->setText(tr("No run selected"));
    description_->clear();
  } else {
    QStringList labels;
    for (const PlotRun& r : runs) labels << QStringLiteral("<span style='color:%1'>■</span> %2").arg(r.colour.name(), r.data->label().toHtmlEscaped());
    title_->setText(tr("Comparing %1 runs").arg(runs.size()));
    description_->setText(labels.join(QStringLiteral(" &nbsp; ")));
  }
  fitDescription();
  banner_->hide();
  for (RunPlot* p : plots_) p->setRuns(runs);
}

void LivePlotsPanel::fitDescription() {
  // As tall as the text at this width, at most three lines (the rest scrolls).
  const int width = std::max(200, descriptionArea_->width());
  const int text = description_->text().isEmpty() ? 0 : description_->heightForWidth(width);
  const QFontMetrics fm = description_->fontMetrics();
  descriptionArea_->setFixedHeight(std::min(text, 2 * fm.lineSpacing() + fm.height() + 2));
}

void LivePlotsPanel::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  fitDescription();
}

void LivePlotsPanel::showExperiment(const QString& title, const QString& description) {
  setRuns({});
  title_->setText(title);
  description_->setText(description);
  fitDescription();
  setBanner(tr("No run of this experiment yet: press Start (Ctrl+R), or show stored runs from the run browser."), false);
}

QString LivePlotsPanel::titleText() const { return title_->text(); }
QString LivePlotsPanel::descriptionText() const { return description_->text(); }

void LivePlotsPanel::scheduleReplot() {
  if (!replotTimer_->isActive()) replotTimer_->start();
}

void LivePlotsPanel::replotNow() {
  replotTimer_->stop();
  QElapsedTimer clock;
  clock.start();
  for (RunPlot* p : plots_) p->refresh();
  ++replots_;
  slowestReplotMs_ = std::max(slowestReplotMs_, clock.nsecsElapsed() / 1e6);
  emit replotted();
}

void LivePlotsPanel::resetViews() {
  for (RunPlot* p : plots_) p->resetView();
}

void LivePlotsPanel::setBanner(const QString& text, bool isError) {
  banner_->setText(text);
  banner_->setStyleSheet(isError ? QStringLiteral("QLabel { background: #ffebee; color: #b71c1c; padding: 6px; border-radius: 4px; }")
                                 : QStringLiteral("QLabel { background: #e8f5e9; color: #1b5e20; padding: 6px; border-radius: 4px; }"));
  banner_->setVisible(!text.isEmpty());
}

void LivePlotsPanel::appendLog(const QString& text) { log_->appendPlainText(text); }

}  // namespace plab::ui
