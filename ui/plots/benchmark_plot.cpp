#include "plots/benchmark_plot.h"

#include <qcustomplot.h>

#include "common/precision_palette.h"

namespace plab::ui {

BenchmarkPlot::BenchmarkPlot(QWidget* parent) : RunPlot(tr("Speed benchmark (median step time)"), parent) {
  setObjectName(QStringLiteral("benchmarkPlot"));
  plot()->yAxis->setLabel(tr("ms per step"));
  plot()->legend->setVisible(true);
}

void BenchmarkPlot::clearSeries() {
  plot()->clearPlottables();
  clearDataItems();
  labels_.clear();
  seen_ = ~0ull;
}

void BenchmarkPlot::resetView() {
  plot()->rescaleAxes();
  plot()->yAxis->setRangeLower(0);
  plot()->yAxis->setRangeUpper(plot()->yAxis->range().upper * 1.2);  // room for the labels
  plot()->xAxis->setRange(plot()->xAxis->range().lower - 0.7, plot()->xAxis->range().upper + 0.7);
  requestDraw();
}

namespace {
QColor configColour(const QString& config) {
  if (config.startsWith(QLatin1String("fp16"))) return precisionColour(Precision::fp16);
  if (config.startsWith(QLatin1String("bf16"))) return precisionColour(Precision::bf16);
  if (config == QLatin1String("tf32")) return precisionColour(Precision::tf32);
  if (config == QLatin1String("fp32")) return precisionColour(Precision::fp32);
  return QColor("#455a64");
}
}  // namespace

void BenchmarkPlot::updateSeries() {
  std::uint64_t revision = 0;
  for (const PlotRun& r : runs_) revision = revision * 31 + r.data->revision + r.data->speed.size();
  if (revision == seen_) return;
  clearSeries();
  seen_ = revision;
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  // Configurations in the benchmark's order; one group of bars per config, one bar per run.
  QStringList configs;
  for (const PlotRun& r : runs_) {
    for (const SpeedResult& s : r.data->speed) {
      if (!configs.contains(QString::fromStdString(s.config))) configs << QString::fromStdString(s.config);
    }
  }
  // "fp16-mixed" on two lines: five configurations fit under narrow bars.
  for (int c = 0; c < configs.size(); ++c) ticker->addTick(c, QString(configs[c]).replace(QLatin1Char('-'), QLatin1Char('\n')));
  plot()->legend->setVisible(overlay());  // one bar colour per run needs a legend; precisions do not
  plot()->xAxis->setTicker(ticker);
  const double width = 0.8 / std::max<qsizetype>(1, runs_.size());
  for (int i = 0; i < runs_.size(); ++i) {
    const RunData& run = *runs_[i].data;
    double fp32Ms = 0;
    for (const SpeedResult& s : run.speed) {
      if (s.config == "fp32") fp32Ms = s.medianStepMs;
    }
    for (const SpeedResult& s : run.speed) {
      const QString config = QString::fromStdString(s.config);
      const double x = configs.indexOf(config) - 0.4 + width * (i + 0.5);
      auto* bar = new QCPBars(plot()->xAxis, plot()->yAxis);
      bar->setWidth(width * 0.9);
      const QColor colour = overlay() ? runs_[i].colour : configColour(config);
      bar->setBrush(colour);
      bar->setPen(QPen(colour.darker(130)));
      bar->addData(x, s.medianStepMs);
      bar->setName(overlay() ? run.label() : config);
      if (overlay() && configs.indexOf(config) != 0) bar->removeFromLegend();
      if (!overlay()) bar->removeFromLegend();
      const QString speedup = fp32Ms > 0 && s.medianStepMs > 0 ? QStringLiteral("×%1").arg(fp32Ms / s.medianStepMs, 0, 'f', 2) : QString();
      auto* label = new QCPItemText(plot());
      label->position->setCoords(x, s.medianStepMs);
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->setText(QStringLiteral("%1 ms\n%2").arg(s.medianStepMs, 0, 'f', 2).arg(speedup));
      label->setFont(QFont(font().family(), font().pointSize() - 1));
      labels_ << QStringLiteral("%1: %2").arg(config, speedup);
    }
  }
  if (configs.isEmpty()) {
    auto* note = new QCPItemText(plot());
    note->position->setType(QCPItemPosition::ptAxisRectRatio);
    note->position->setCoords(0.5, 0.5);
    note->setText(tr("No benchmark for this run.\nRun ▸ Benchmark speed (Ctrl+B) measures fp32, tf32, fp16, bf16\nand this assignment on the same network and batch."));
  }
  resetView();
}

}  // namespace plab::ui
