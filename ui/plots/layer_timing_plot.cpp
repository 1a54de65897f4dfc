#include "plots/layer_timing_plot.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <map>
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
  group_ = new QCPBarsGroup(plot());
  group_->setSpacingType(QCPBarsGroup::stAbsolute);
  group_->setSpacing(1);
  plot()->legend->setVisible(true);
}

void LayerTimingPlot::setConfiguration(const QString& config) { config_->setCurrentText(config); }

QStringList LayerTimingPlot::configurations() const {
  QStringList out;
  for (int i = 0; i < config_->count(); ++i) out << config_->itemText(i);
  return out;
}

void LayerTimingPlot::clearSeries() {
  plot()->clearPlottables();
  bars_.clear();
  seen_ = ~0ull;
}

std::uint64_t LayerTimingPlot::fingerprint() const {
  std::uint64_t f = std::uint64_t(runs_.size());
  for (const PlotRun& run : runs_) f = f * 1000003 + run.data->revision * 131 + run.data->speed.size();
  return f;
}

void LayerTimingPlot::syncConfigurations() {
  // Every configuration any shown run measured, in the order first seen.
  QStringList names;
  for (const PlotRun& run : runs_) {
    for (const SpeedResult& s : run.data->speed) {
      if (!names.contains(QString::fromStdString(s.config))) names << QString::fromStdString(s.config);
    }
  }
  if (names == configurations()) return;
  const QSignalBlocker block(config_);
  const QString keep = config_->currentText();
  config_->clear();
  config_->addItems(names);
  config_->setCurrentIndex(std::max(0, config_->findText(keep.isEmpty() ? QStringLiteral("custom") : keep)));
}

void LayerTimingPlot::updateSeries() {
  if (runs_.isEmpty() || fingerprint() == seen_) return;
  seen_ = fingerprint();
  syncConfigurations();
  plot()->clearPlottables();
  bars_.clear();
  const QString config = config_->currentText();
  QCPBarsGroup* group = group_;
  auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
  int mostLayers = 0;
  for (const PlotRun& run : runs_) {
    const SpeedResult* shown = nullptr;
    for (const SpeedResult& s : run.data->speed) {
      if (QString::fromStdString(s.config) == config) shown = &s;
    }
    if (!shown) continue;
    RunBars b;
    b.run = run.data.get();
    b.forward = new QCPBars(plot()->xAxis, plot()->yAxis);
    b.backward = new QCPBars(plot()->xAxis, plot()->yAxis);
    const QString prefix = overlay() ? QStringLiteral("#%1 ").arg(run.data->runId) : QString();
    b.forward->setName(prefix + tr("forward"));
    b.backward->setName(prefix + tr("backward"));
    const QColor full = overlay() ? run.colour : QColor("#1565c0");
    b.forward->setBrush(overlay() ? run.colour.lighter(150) : QColor("#64b5f6"));
    b.backward->setBrush(full);
    b.forward->setPen(QPen(full.darker(120)));
    b.backward->setPen(QPen(full.darker(120)));
    b.backward->moveAbove(b.forward);
    if (overlay()) {
      // Side by side at each layer; QCPBarsGroup places a stack by its base bars.
      const double width = 0.8 / double(runs_.size());
      b.forward->setWidth(width);
      b.backward->setWidth(width);
      b.forward->setBarsGroup(group);
      b.backward->setBarsGroup(group);
    }
    for (std::size_t i = 0; i < shown->layers.size(); ++i) {
      b.forward->addData(double(i), shown->layers[i].forwardMs);
      b.backward->addData(double(i), shown->layers[i].backwardMs);
      if (ticker->ticks().contains(double(i))) continue;
      // "layers[2] linear" -> "2\nlinear": the index and type fit under a bar.
      QString name = QString::fromStdString(shown->layers[i].layerName);
      name.remove(QStringLiteral("layers[")).replace(QStringLiteral("] "), QStringLiteral("\n"));
      ticker->addTick(double(i), name);
    }
    mostLayers = std::max(mostLayers, int(shown->layers.size()));
    bars_.append(b);
  }
  if (bars_.isEmpty()) return;
  plot()->xAxis->setTicker(ticker);
  plot()->rescaleAxes();
  plot()->xAxis->setRange(-0.7, double(mostLayers) - 0.3);
  plot()->yAxis->setRangeLower(0);
}

}  // namespace plab::ui
