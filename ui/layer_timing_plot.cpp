#include "layer_timing_plot.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <qcustomplot.h>

namespace plab::ui {

LayerTimingPlot::LayerTimingPlot(QWidget* parent) : RunPlot(tr("Per-layer time (benchmark)"), parent) {
  setObjectName(QStringLiteral("layerTimingPlot"));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Configuration")));
  config_ = new QComboBox;
  config_->setObjectName(QStringLiteral("timingConfig"));
  controls->addWidget(config_);
  controls->addStretch(1);
  static_cast<QVBoxLayout*>(layout())->insertLayout(0, controls);
  connect(config_, &QComboBox::currentTextChanged, this, [this] {
    seen_ = ~0ull;
    refresh();
  });
  plot()->yAxis->setLabel(tr("ms per call"));
  plot()->legend->setVisible(true);
}

void LayerTimingPlot::clearSeries() {
  plot()->clearPlottables();
  seen_ = ~0ull;
}

void LayerTimingPlot::updateSeries() {
  if (runs_.isEmpty()) return;
  const RunData& run = *runs_.first().data;
  const std::uint64_t revision = run.revision * 131 + run.speed.size();
  if (revision == seen_) return;
  seen_ = revision;
  {
    const QSignalBlocker block(config_);
    const QString keep = config_->currentText();
    config_->clear();
    for (const SpeedResult& s : run.speed) config_->addItem(QString::fromStdString(s.config));
    config_->setCurrentIndex(std::max(0, config_->findText(keep.isEmpty() ? QStringLiteral("custom") : keep)));
  }
  plot()->clearPlottables();
  const SpeedResult* shown = nullptr;
  for (const SpeedResult& s : run.speed) {
    if (QString::fromStdString(s.config) == config_->currentText()) shown = &s;
  }
  if (!shown) return;
  auto* forward = new QCPBars(plot()->xAxis, plot()->yAxis);
  auto* backward = new QCPBars(plot()->xAxis, plot()->yAxis);
  forward->setName(tr("forward"));
  backward->setName(tr("backward"));
  forward->setBrush(QColor("#64b5f6"));
  backward->setBrush(QColor("#1565c0"));
  backward->moveAbove(forward);
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  for (std::size_t i = 0; i < shown->layers.size(); ++i) {
    forward->addData(double(i), shown->layers[i].forwardMs);
    backward->addData(double(i), shown->layers[i].backwardMs);
    // "layers[2] linear" -> "2\nlinear": the index and type fit under a bar.
    QString name = QString::fromStdString(shown->layers[i].layerName);
    name.remove(QStringLiteral("layers[")).replace(QStringLiteral("] "), QStringLiteral("\n"));
    ticker->addTick(double(i), name);
  }
  plot()->xAxis->setTicker(ticker);
  plot()->rescaleAxes();
  plot()->xAxis->setRange(-0.7, double(shown->layers.size()) - 0.3);
  plot()->yAxis->setRangeLower(0);
}

}  // namespace plab::ui
