#include "plots/loss_plot.h"

#include <algorithm>
#include <cmath>

#include <QCheckBox>
#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSlider>
#include <QVBoxLayout>
#include <qcustomplot.h>

namespace plab::ui {

LossPlot::LossPlot(QWidget* parent) : RunPlot(tr("Loss"), parent) {
  setObjectName(QStringLiteral("lossPlot"));
  auto* controls = new QHBoxLayout;
  controls->addWidget(new QLabel(tr("Smoothing")));
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setObjectName(QStringLiteral("smoothingSlider"));
  slider_->setRange(0, 99);
  slider_->setValue(int(smoothing_ * 100));
  slider_->setToolTip(tr("Exponential moving average of the loss (as TensorBoard)"));
  controls->addWidget(slider_, 1);
  logBox_ = new QCheckBox(tr("Log y"));
  logBox_->setObjectName(QStringLiteral("logYBox"));
  controls->addWidget(logBox_);
  static_cast<QVBoxLayout*>(layout())->insertLayout(0, controls);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
  connect(logBox_, &QCheckBox::toggled, this, &LossPlot::setLogY);

  plot()->xAxis->setLabel(tr("step"));
  plot()->yAxis->setLabel(tr("loss"));
  plot()->yAxis2->setLabel(tr("test accuracy"));
  plot()->yAxis2->setVisible(true);
  plot()->yAxis2->setRange(0, 1);
  plot()->legend->setVisible(true);
  plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  // After each layout (a zoom, a resize, the legend growing), before anything is drawn.
  connect(plot(), &QCustomPlot::afterLayout, this, &LossPlot::placePromotionLabels);
}

void LossPlot::setSmoothing(double alpha) {
  smoothing_ = std::clamp(alpha, 0.0, 0.99);
  if (slider_->value() != int(smoothing_ * 100)) slider_->setValue(int(smoothing_ * 100));
  rebuild();
}

void LossPlot::setLogY(bool on) {
  logY_ = on;
  if (logBox_->isChecked() != on) logBox_->setChecked(on);
  plot()->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  plot()->yAxis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                              : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  resetView();
}

int LossPlot::pointCount(int runIndex) const {
  if (runIndex < 0 || runIndex >= runs_.size()) return 0;
  const auto it = series_.find(runs_[runIndex].data.get());
  return it == series_.end() ? 0 : it->second.raw->dataCount();
}

QStringList LossPlot::promotionLabels() const {
  QStringList labels;
  for (const PlotRun& run : runs_) {
    const auto it = series_.find(run.data.get());
    if (it == series_.end()) continue;
    for (const auto& mark : it->second.promotionMarks) labels << mark.label->text();
  }
  return labels;
}

QString LossPlot::promotionLabel(const std::vector<PrecisionPromotion>& atOneStep) {
  if (atOneStep.size() == 1) {
    const PrecisionPromotion& p = atOneStep.front();
    return QString::fromStdString(p.layerName + " " + p.from + " \u2192 " + p.to);
  }
  // (from, to) -> layer indices, in the order they came (layer order).
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<int>>> groups;
  for (const PrecisionPromotion& p : atOneStep) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == std::pair(p.from, p.to); });
    if (it == groups.end()) it = groups.insert(groups.end(), {{p.from, p.to}, {}});
    it->second.push_back(p.layerIndex);
  }
  QStringList parts;
  for (const auto& [formats, indices] : groups) {
    QStringList ranges;
    for (std::size_t i = 0; i < indices.size();) {
      std::size_t j = i;
      while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
      ranges << (j > i + 1 ? QStringLiteral("%1\u2013%2").arg(indices[i]).arg(indices[j])
                           : j == i + 1 ? QStringLiteral("%1, %2").arg(indices[i]).arg(indices[j])
                                        : QString::number(indices[i]));
      i = j + 1;
    }
    parts << QStringLiteral("layers[%1] %2 \u2192 %3")
                 .arg(ranges.join(QStringLiteral(", ")), QString::fromStdString(formats.first),
                      QString::fromStdString(formats.second));
  }
  return parts.join(QStringLiteral("; "));
}

void LossPlot::placePromotionLabels() {
  const QRect area = plot()->axisRect()->rect();
  if (area.height() <= 0) return;
  const QRect legend = plot()->legend->visible() ? plot()->legend->outerRect() : QRect();
  // Each label, in step order, goes into the first row from the top where it meets
  // no label placed before it and not the legend; where every row is taken, rows are
  // shared in turn.
  std::vector<QRect> placed;
  for (const PlotRun& run : runs_) {
    const auto it = series_.find(run.data.get());
    if (it == series_.end()) continue;
    for (auto& mark : it->second.promotionMarks) {
      const QFontMetrics metrics(mark.label->font());
      const int width = metrics.horizontalAdvance(mark.label->text()) + 10;
      const int height = metrics.height() + 4;
      const int pitch = height + 4;
      const double x = plot()->xAxis->coordToPixel(double(mark.step));
      const bool leftOfLine = x + width > area.right() && x - width >= area.left();
      mark.label->setPositionAlignment((leftOfLine ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
      const int left = int(leftOfLine ? x - width : x);
      const int first = area.top() + int(area.height() * 0.03);
      const int rows = std::max(1, (area.height() - (first - area.top())) / pitch);
      const auto boxAt = [&](int row) { return QRect(left, first + row * pitch, width, height); };
      QRect box = boxAt(int(placed.size()) % rows);
      for (int row = 0; row < rows; ++row) {
        const QRect candidate = boxAt(row);
        bool clash = !legend.isEmpty() && candidate.intersects(legend);
        for (const QRect& other : placed) clash = clash || candidate.intersects(other);
        if (!clash) {
          box = candidate;
          break;
        }
      }
      placed.push_back(box);
      mark.label->position->setCoords(double(mark.step), (box.top() - area.top()) / double(area.height()));
    }
  }
}

void LossPlot::clearSeries() {
  plot()->clearGraphs();
  for (auto& [run, s] : series_) {
    for (auto& mark : s.promotionMarks) {
      plot()->removeItem(mark.line);
      plot()->removeItem(mark.label);
    }
  }
  series_.clear();
}

// A promotion (adaptive precision, docs/architecture.md): a dashed vertical line at its
// step in the run's colour, labelled at the top of the plot with the layers and their
// formats; promotions at one step share the line and the label. The readout near the
// line gives each one's reason.
void LossPlot::addPromotion(Series& s, const PlotRun& run, const PrecisionPromotion& p) {
  if (!s.promotionMarks.empty() && s.promotionMarks.back().step == p.step) {
    auto& mark = s.promotionMarks.back();
    mark.promotions.push_back(p);
    mark.label->setText(promotionLabel(mark.promotions));
    return;
  }
  const QColor colour = overlay() ? run.colour : QColor("#6a1b9a");
  auto* line = new QCPItemStraightLine(plot());
  line->setPen(QPen(colour, 1.5, Qt::DashLine));
  line->point1->setCoords(double(p.step), 0);
  line->point2->setCoords(double(p.step), 1);
  line->setSelectable(false);
  auto* label = new QCPItemText(plot());
  label->setClipToAxisRect(true);
  label->position->setTypeX(QCPItemPosition::ptPlotCoords);
  label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
  label->position->setCoords(double(p.step), 0.03);  // placePromotionLabels places it
  label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
  label->setPadding(QMargins(4, 1, 4, 1));
  label->setBrush(QBrush(QColor(255, 255, 255, 220)));
  label->setColor(colour);
  QFont bold = font();  // the widget's own size: readable on a projector
  bold.setBold(true);
  label->setFont(bold);
  label->setSelectable(false);
  s.promotionMarks.push_back({p.step, {p}, line, label});
  label->setText(promotionLabel(s.promotionMarks.back().promotions));
}

LossPlot::Series LossPlot::makeSeries(const PlotRun& run) {
  Series s;
  // Overlaid runs: one legend entry per run (its smoothed loss); the header above the
  // plots names each run's colour, and line styles tell the series apart.
  const QString label = overlay() ? run.data->legendLabel() + QLatin1Char(' ') : QString();
  const QColor base = overlay() ? run.colour : QColor("#1f77b4");
  QColor light = base;
  light.setAlpha(overlay() ? 50 : 70);
  s.raw = addLiveGraph();
  s.raw->setPen(QPen(light, 1));
  s.raw->setName(label + tr("loss (raw)"));
  s.raw->setAdaptiveSampling(true);
  if (overlay()) s.raw->removeFromLegend();
  s.smooth = addLiveGraph();
  s.smooth->setPen(QPen(base, 2));
  // Overlaid, the run's name is the entry: "#5 fp16, no scaling" (a sweep's variant).
  s.smooth->setName(overlay() ? run.data->legendLabel() : tr("loss (smoothed)"));
  s.smooth->setAdaptiveSampling(true);
  s.skipped = plot()->addGraph();
  s.skipped->setLineStyle(QCPGraph::lsNone);
  s.skipped->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QColor("#c62828"), 7));
  s.skipped->setName(label + tr("skipped step"));
  s.testLoss = plot()->addGraph();
  s.testLoss->setPen(QPen(overlay() ? base.darker(130) : QColor("#ff7f0e"), 1.5, Qt::DashLine));
  s.testLoss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
  s.testLoss->setName(label + tr("test loss"));
  s.testAccuracy = plot()->addGraph(plot()->xAxis, plot()->yAxis2);
  s.testAccuracy->setPen(QPen(overlay() ? base.lighter(120) : QColor("#2ca02c"), 1.5, Qt::DotLine));
  s.testAccuracy->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 6));
  s.testAccuracy->setName(label + tr("test accuracy"));
  if (overlay()) {
    for (QCPGraph* g : {s.skipped, s.testLoss, s.testAccuracy}) g->removeFromLegend();
  }
  return s;
}

void LossPlot::updateSeries() {
  for (const PlotRun& run : runs_) {
    auto it = series_.find(run.data.get());
    if (it == series_.end()) it = series_.emplace(run.data.get(), makeSeries(run)).first;
    Series& s = it->second;
    const auto& steps = run.data->steps;
    if (s.stride == 0) {
      const std::int64_t expected = std::max<std::int64_t>(run.data->totalSteps, std::int64_t(steps.size()));
      s.stride = std::max<std::int64_t>(1, expected / 20000);
    }
    if (s.stepCursor < steps.size()) {
      QVector<QCPGraphData> raw, smooth, skipped;
      raw.reserve(int(steps.size() - s.stepCursor));
      smooth.reserve(raw.capacity());
      for (std::size_t i = s.stepCursor; i < steps.size(); ++i) {
        const StepMetrics& m = steps[i];
        if (m.skipped) skipped.append({double(m.step), s.lastFinite});
        if (!plottable(m.loss)) continue;
        s.lastFinite = m.loss;
        s.ema = s.emaStarted ? smoothing_ * s.ema + (1 - smoothing_) * m.loss : m.loss;
        s.emaStarted = true;
        raw.append({double(m.step), m.loss});
        extent_.add(double(m.step), m.loss);
        // The average is smooth: one point in `stride` draws the same line with far
        // fewer points (a million-step run keeps ~20,000), which halves the draw cost.
        if (m.step % s.stride == 0 || i + 1 == steps.size()) smooth.append({double(m.step), s.ema});
      }
      const std::int64_t expected = run.data->isLive() ? run.data->totalSteps : 0;
      appendPoints(s.raw, raw, expected);
      appendPoints(s.smooth, smooth, expected / s.stride + 1);
      if (!skipped.isEmpty()) s.skipped->data()->add(skipped, true);
      s.stepCursor = steps.size();
    }
    const auto& epochs = run.data->epochs;
    for (; s.epochCursor < epochs.size(); ++s.epochCursor) {
      const EpochMetrics& e = epochs[s.epochCursor];
      if (plottable(e.testLoss)) {
        s.testLoss->addData(double(e.step), e.testLoss);
        extent_.add(double(e.step), e.testLoss);
      }
      if (e.testAccuracy >= 0) s.testAccuracy->addData(double(e.step), e.testAccuracy);
    }
  }
  for (const PlotRun& run : runs_) {
    Series& s = series_.at(run.data.get());
    for (; s.promotionCursor < run.data->promotions.size(); ++s.promotionCursor)
      addPromotion(s, run, run.data->promotions[s.promotionCursor]);
  }
  followLiveRuns(logY_);
}

void LossPlot::addContextActions(QMenu* menu) {
  QAction* log = menu->addAction(tr("Log y"), this, &LossPlot::setLogY);
  log->setCheckable(true);
  log->setChecked(logY_);
}

QString LossPlot::readout(double x, double y) const {
  QString text = tr("step %1\nloss %2").arg(qRound64(x)).arg(y, 0, 'g', 5);
  const double near = plot()->xAxis->range().size() * 0.01;
  for (const PlotRun& run : runs_)
    for (const PrecisionPromotion& p : run.data->promotions)
      if (std::abs(double(p.step) - x) <= near)
        text += QStringLiteral("\n") + QString::fromStdString(p.layerName + " \u2192 " + p.to + ": " + p.reason);
  return text;
}

}  // namespace plab::ui
