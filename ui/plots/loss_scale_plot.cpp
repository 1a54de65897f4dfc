#include "plots/loss_scale_plot.h"

#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <optional>
#include <qcustomplot.h>

namespace plab::ui {
namespace {

// "2¹⁶": an exponent in superscript digits.
QString powerOfTwo(int exponent) {
  static const QChar digits[] = {QChar(0x2070), QChar(0x00B9), QChar(0x00B2), QChar(0x00B3), QChar(0x2074),
                                 QChar(0x2075), QChar(0x2076), QChar(0x2077), QChar(0x2078), QChar(0x2079)};
  QString text = QStringLiteral("2");
  if (exponent < 0) text += QChar(0x207B);  // superscript minus
  for (const QChar c : QString::number(std::abs(exponent))) text += digits[c.digitValue()];
  return text;
}

// A loss scale as read aloud: "2¹⁶ = 65536"; a scale that is not a power of two (a
// static scale may be anything) as the number alone.
QString scaleText(double scale) {
  if (!(scale > 0)) return QString::number(scale, 'g', 8);
  const double k = std::log2(scale);
  if (k != std::round(k)) return QString::number(scale, 'g', 6);
  return QStringLiteral("%1 = %2").arg(powerOfTwo(int(k))).arg(scale, 0, 'g', 12);
}

// Ticks only at whole powers of two, labelled 2ⁿ, at most about eight of them: a loss
// scale is always a power of two, and "65536" or "0.8" says less than "2¹⁶".
class PowerOfTwoTicker : public QCPAxisTickerLog {
 protected:
  QVector<double> createTickVector(double, const QCPRange& range) override {
    const int lo = int(std::ceil(std::log2(std::max(range.lower, 1e-300)))), hi = int(std::floor(std::log2(range.upper)));
    const int stride = std::max(1, (hi - lo + 7) / 8);
    QVector<double> ticks;
    for (int k = lo - ((lo % stride) + stride) % stride; k <= hi; k += stride) {
      if (k >= lo) ticks << std::ldexp(1.0, k);
    }
    return ticks;
  }
  QString getTickLabel(double tick, const QLocale&, QChar, int) override {
    return powerOfTwo(int(std::lround(std::log2(tick))));
  }
};

}  // namespace

LossScalePlot::LossScalePlot(QWidget* parent) : RunPlot(tr("Loss scale"), parent) {
  setObjectName(QStringLiteral("lossScalePlot"));
  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("loss scale (log₂)"));
  plot()->yAxis->setScaleType(QCPAxis::stLogarithmic);
  auto ticker = QSharedPointer<PowerOfTwoTicker>(new PowerOfTwoTicker);
  ticker->setLogBase(2);
  ticker->setSubTickCount(0);
  plot()->yAxis->setTicker(ticker);
  plot()->yAxis->setRange(1, 65536 * 4);
  plot()->legend->setVisible(true);
}

// The data's range widened to whole powers of two with one more on each side, so
// that a flat scale (1 without scaling, a static scale) is a line inside the plot, not
// on its edge.
void LossScalePlot::fitScaleAxis(double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo)) return;
  plot()->yAxis->setRange(std::ldexp(1.0, int(std::floor(std::log2(lo))) - 1),
                          std::ldexp(1.0, int(std::ceil(std::log2(hi))) + 1));
}

void LossScalePlot::resetView() {
  plot()->xAxis->rescale();
  double lo = HUGE_VAL, hi = -HUGE_VAL;
  for (QCPGraph* g : plot()->yAxis->graphs()) {
    bool ok = false;
    const QCPRange r = g->getValueRange(ok, QCP::sdBoth);
    if (ok) lo = std::min(lo, r.lower), hi = std::max(hi, r.upper);
  }
  fitScaleAxis(lo, hi);
  requestDraw();
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
      s.overflows->setName(tr("overflow (step skipped)"));
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
  const QCPRange before = plot()->yAxis->range();
  followLiveRuns(true);
  // When it followed the run, whole powers of two instead of its 1.5x margins.
  if (plot()->yAxis->range() != before) fitScaleAxis(extent_.yMin, extent_.yMax);
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
  // Two layers a line: a deep network's list stays narrower than the plot.
  QStringList lines;
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    const QString layer = QString::fromStdString(e.layers[i]) + (i == 0 ? tr(" (culprit)") : QString());
    if (i % 2 == 0) lines << layer;
    else lines.back() += QStringLiteral(", ") + layer;
  }
  return tr("overflow at step %1\nscale %2 → %3\ninf/NaN in: %4")
      .arg(e.step)
      .arg(scaleText(e.scaleBefore), scaleText(e.scaleAfter))
      .arg(lines.isEmpty() ? tr("(not recorded)") : lines.join(QStringLiteral(",\n  ")));
}

std::optional<double> LossScalePlot::scaleAt(const RunData& run, std::int64_t step) {
  // The scale of the last step at or before `step` (steps are in order).
  const auto& steps = run.steps;
  auto it = std::upper_bound(steps.begin(), steps.end(), step,
                             [](std::int64_t s, const StepMetrics& m) { return s < m.step; });
  while (it != steps.begin()) {
    --it;
    if (it->lossScale > 0 && plottable(it->lossScale)) return it->lossScale;
  }
  return std::nullopt;
}

QString LossScalePlot::readout(double x, double y) const {
  const QPointF pixel(plot()->xAxis->coordToPixel(x), plot()->yAxis->coordToPixel(y));
  if (const OverflowEvent* e = overflowNear(pixel)) return describeOverflow(*e);
  // The data under the pointer, not the pointer's height: each run's scale at this
  // step, named when several are shown.
  const std::int64_t step = qRound64(x);
  QStringList lines{tr("step %1").arg(step)};
  for (const PlotRun& run : runs_) {
    const std::optional<double> scale = scaleAt(*run.data, step);
    if (!scale) continue;
    lines << (overlay() ? run.data->legendLabel() + QStringLiteral(": ") : QString()) + tr("scale %1").arg(scaleText(*scale));
  }
  return lines.size() > 1 ? lines.join(QLatin1Char('\n')) : QString();
}

}  // namespace plab::ui
