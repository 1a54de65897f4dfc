#include "plots/loss_scale_plot.h"

#include <QToolTip>
#include <cmath>
#include <qcustomplot.h>

namespace plab::ui {

LossScalePlot::LossScalePlot(QWidget* parent) : RunPlot(tr("Loss scale"), parent) {
  setObjectName(QStringLiteral("lossScalePlot"));
  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("loss scale (log₂)"));
  plot()->yAxis->setScaleType(QCPAxis::stLogarithmic);
  auto ticker = QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog);
  ticker->setLogBase(2);
  ticker->setSubTickCount(0);
  plot()->yAxis->setTicker(ticker);
  plot()->yAxis->setNumberFormat(QStringLiteral("gb"));
  plot()->yAxis->setRange(1, 65536 * 4);
  plot()->legend->setVisible(true);
}

void LossScalePlot::clearSeries() {
  plot()->clearGraphs();
  series_.clear();
}

int LossScalePlot::overflowMarkerCount() const {
  int n = 0;
  for (const auto& [run, s] : series_) n += s.overflows->dataCount();
  return n;
}

void LossScalePlot::updateSeries() {
  for (const PlotRun& run : runs_) {
    auto it = series_.find(run.data.get());
    if (it == series_.end()) {
      Series s;
      const QString prefix = overlay() ? run.data->legendLabel() + QLatin1Char(' ') : QString();
      s.scale = plot()->addGraph();
      s.scale->setLineStyle(QCPGraph::lsStepLeft);
      s.scale->setPen(QPen(overlay() ? run.colour : QColor("#1565c0"), 2));
      s.scale->setName(prefix + tr("loss scale"));
      s.overflows = plot()->addGraph();
      s.overflows->setLineStyle(QCPGraph::lsNone);
      s.overflows->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangleInverted, QColor("#c62828"),
                                                   QColor("#ef9a9a"), 9));
      s.overflows->setName(tr("overflow (hover for details)"));
      if (!series_.empty()) s.overflows->removeFromLegend();  // one entry for all runs
      it = series_.emplace(run.data.get(), s).first;
    }
    Series& s = it->second;
    const auto& steps = run.data->steps;
    // A step line needs only the points where the scale changes (and the last step):
    // a million-step run with a few hundred changes draws a few hundred points.
    QVector<QCPGraphData> points;
    for (; s.stepCursor < steps.size(); ++s.stepCursor) {
      const StepMetrics& m = steps[s.stepCursor];
      if (!(m.lossScale > 0) || !plottable(m.lossScale)) continue;
      extent_.add(double(m.step), m.lossScale);
      if (m.lossScale != s.lastScale) points.append({double(m.step), m.lossScale});
      s.lastScale = m.lossScale;
      s.lastStep = m.step;
    }
    if (s.lastStep > 0 && (points.isEmpty() || points.back().key < double(s.lastStep))) {
      points.append({double(s.lastStep), s.lastScale});
    }
    s.scale->data()->add(points, true);
    for (; s.overflowCursor < run.data->overflows.size(); ++s.overflowCursor) {
      const OverflowEvent& e = run.data->overflows[s.overflowCursor];
      s.overflows->addData(double(e.step), e.scaleBefore > 0 ? e.scaleBefore : 1.0);
    }
  }
  followLiveRuns(true);
}

const OverflowEvent* LossScalePlot::overflowNear(const QPointF& pos, double radius) const {
  const OverflowEvent* best = nullptr;
  double bestDistance = radius;
  for (const PlotRun& run : runs_) {
    for (const OverflowEvent& e : run.data->overflows) {
      const QPointF p(plot()->xAxis->coordToPixel(double(e.step)),
                      plot()->yAxis->coordToPixel(e.scaleBefore > 0 ? e.scaleBefore : 1.0));
      const double d = std::hypot(p.x() - pos.x(), p.y() - pos.y());
      if (d <= bestDistance) {
        bestDistance = d;
        best = &e;
      }
    }
  }
  return best;
}

QString LossScalePlot::describeOverflow(const OverflowEvent& e) {
  QStringList layers;
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    layers << QString::fromStdString(e.layers[i]) + (i == 0 ? tr(" (culprit)") : QString());
  }
  return tr("overflow at step %1\nscale %2 → %3\ninf/NaN in: %4")
      .arg(e.step)
      .arg(e.scaleBefore, 0, 'g', 8)
      .arg(e.scaleAfter, 0, 'g', 8)
      .arg(layers.isEmpty() ? tr("(not recorded)") : layers.join(QStringLiteral(", ")));
}

QString LossScalePlot::readout(double x, double y) const {
  const QPointF pixel(plot()->xAxis->coordToPixel(x), plot()->yAxis->coordToPixel(y));
  if (const OverflowEvent* e = overflowNear(pixel)) return describeOverflow(*e);
  return tr("step %1\nscale %2 (2^%3)").arg(qRound64(x)).arg(y, 0, 'g', 6).arg(std::log2(y), 0, 'f', 2);
}

}  // namespace plab::ui
