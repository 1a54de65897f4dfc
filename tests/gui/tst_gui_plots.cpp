// The plots that take several runs at once (layer heat map, per-layer timing) and the
// draw queue, on run data built here: two runs of known statistics and benchmark
// timings, so every cell and bar can be checked by value. Real widgets, offscreen.
#include <QLabel>
#include <QSlider>
#include <QThreadPool>
#include <QtTest>
#include <qcustomplot.h>

#include "common/app_resources.h"
#include "plots/gradient_histogram_plot.h"
#include "plots/layer_heat_map.h"
#include "plots/layer_timing_plot.h"
#include "plots/live_plots_panel.h"
#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "plots/plot_draw_queue.h"
#include "plots/speed_plot.h"
#include "report/report_writer.h"
#include "runs/run_data.h"

using namespace plab::ui;

namespace {

// A run whose layers 0 and 2 have gradient statistics at `steps`; the underflow share
// of layer l at column c is (runId + l + c) / 100 of 100 values.
RunDataPtr statsRun(std::int64_t runId, const std::vector<std::int64_t>& steps) {
  auto run = std::make_shared<RunData>();
  run->runId = runId;
  run->title = QStringLiteral("run %1").arg(runId);
  run->status = QStringLiteral("completed");
  for (std::size_t c = 0; c < steps.size(); ++c) {
    for (int layer : {0, 2}) {
      plab::LayerStatsRecord r;
      r.step = steps[c];
      r.layerIndex = layer;
      r.layerName = "layers[" + std::to_string(layer) + "] linear";
      r.kind = plab::StatsKind::gradient;
      r.stats.count = 100;
      r.stats.underflows = runId + layer + std::int64_t(c);
      run->layerStats.push_back(r);
    }
  }
  ++run->revision;
  return run;
}

// Benchmark results for `configs`, three layers each; forward time of layer i is
// scale * (i + 1) ms, backward twice that.
void addSpeed(RunData& run, const QStringList& configs, double scale) {
  for (const QString& config : configs) {
    plab::SpeedResult s;
    s.config = config.toStdString();
    s.medianStepMs = 3 * scale;
    for (int i = 0; i < 3; ++i) s.layers.push_back({"layers[" + std::to_string(i) + "] linear", scale * (i + 1), 2 * scale * (i + 1)});
    run.speed.push_back(s);
  }
  ++run.revision;
}

// One fp16 gradient record of layers[0] at step 1 whose 64 values were all zero before
// rounding, as lesson 1's first layer without loss scaling; with `shadow`, the fp32
// shadow says 60 of them would underflow in fp16 (log2|x| = -30) and 4 would not (-20).
RunDataPtr zeroGradientRun(bool shadow) {
  auto run = std::make_shared<RunData>();
  run->runId = 7;
  run->status = QStringLiteral("completed");
  plab::LayerStatsRecord r;
  r.step = 1;
  r.layerName = "layers[0] linear";
  r.kind = plab::StatsKind::gradient;
  r.precision = "fp16";
  r.stats.count = 64;
  r.stats.zeros = 64;
  r.hasShadow = shadow;
  if (shadow) {
    r.shadow.count = 64;
    r.shadow.underflows = 60;
    r.shadow.log2Hist[std::size_t(-30 - plab::kLog2HistMin)] = 60;
    r.shadow.log2Hist[std::size_t(-20 - plab::kLog2HistMin)] = 4;
    r.shadow.relError = 1;
  }
  run->layerStats.push_back(r);
  ++run->revision;
  return run;
}

// A completed run of `layers` layers with gradient statistics at steps 10 and 20.
RunDataPtr deepRun(std::int64_t runId, int layers) {
  auto run = std::make_shared<RunData>();
  run->runId = runId;
  run->status = QStringLiteral("completed");
  for (std::int64_t step : {10, 20}) {
    for (int layer = 0; layer < layers; ++layer) {
      plab::LayerStatsRecord r;
      r.step = step;
      r.layerIndex = layer;
      r.layerName = "layers[" + std::to_string(layer) + "] linear";
      r.kind = plab::StatsKind::gradient;
      r.stats.count = 100;
      r.stats.underflows = layer;
      run->layerStats.push_back(r);
    }
  }
  ++run->revision;
  return run;
}

// Steps 1..steps at scale `scale`, doubled from step `doubledAt` on (0: never).
void addScales(RunData& run, int steps, double scale, int doubledAt = 0) {
  for (int i = 1; i <= steps; ++i) {
    plab::StepMetrics m;
    m.step = i;
    m.loss = 1.0 / i;
    m.lossScale = doubledAt > 0 && i >= doubledAt ? 2 * scale : scale;
    run.steps.push_back(m);
  }
  ++run.revision;
}

// The y-axis tick labels as drawn, top to bottom, with their pixel heights.
QList<QPair<double, QString>> drawnTickLabels(QCPAxis* axis) {
  QList<QPair<double, QString>> out;
  const QVector<double> ticks = axis->tickVector();
  const QVector<QString> labels = axis->tickVectorLabels();
  for (int i = 0; i < ticks.size() && i < labels.size(); ++i) {
    if (axis->range().contains(ticks[i]) && !labels[i].isEmpty()) out << qMakePair(axis->coordToPixel(ticks[i]), labels[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double barValue(QCPBars* bars, double key) {
  const auto it = bars->data()->findBegin(key, false);
  return it == bars->data()->constEnd() ? -1 : it->value;
}

double graphValue(QCPGraph* graph, double key) {
  const auto it = graph->data()->findBegin(key, false);
  return it == graph->data()->constEnd() ? -1 : it->value;
}

}  // namespace

class TestGuiPlots : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { initResources(); }

  void heatMapStacksEveryOverlaidRun() {
    LayerHeatMap map;
    map.resize(900, 500);
    map.show();
    const RunDataPtr a = statsRun(1, {10, 20, 30});
    const RunDataPtr b = statsRun(2, {10, 20});
    map.setRuns({PlotRun{a, runColour(0)}, PlotRun{b, runColour(1)}});
    QCOMPARE(map.bandCount(), 2);
    QCOMPARE(map.layerCount(0), 2);
    QCOMPARE(map.layerCount(1), 2);
    QCOMPARE(map.stepCount(0), 3);
    QCOMPARE(map.stepCount(1), 2);
    // Run 1, layer 2 (row 1), third column: (1 + 2 + 2) / 100.
    QCOMPARE(map.cell(1, 2, 0), 0.05);
    // Run 2, layer 0 (row 0), second column: (2 + 0 + 1) / 100.
    QCOMPARE(map.cell(0, 1, 1), 0.03);
    QCOMPARE(map.rowLabel(0, 1), QStringLiteral("#2 layers[0] linear"));
    QCOMPARE(map.bandColour(0), runColour(0));
    QCOMPARE(map.bandColour(1), runColour(1));
    // The colour scale of a share runs from 0 to the largest share shown.
    QCOMPARE(map.colourRange(), std::make_pair(0.0, 0.05));
  }

  void histogramDrawsAllZeroTensorAsTallZeroBar() {
    GradientHistogramPlot plot;
    plot.resize(900, 500);
    plot.setRuns({PlotRun{zeroGradientRun(false), runColour(0)}});
    QVERIFY(plot.zeroBar());
    QCOMPARE(barValue(plot.zeroBar(), GradientHistogramPlot::kZeroBarKey), 1.0);
    QVERIFY(plot.plot()->xAxis->range().contains(GradientHistogramPlot::kZeroBarKey));
    QVERIFY(plot.plot()->yAxis->range().upper >= 1.0);  // the bar is in view, not cut off
    bool labelled = false;
    for (int i = 0; i < plot.plot()->itemCount(); ++i)
      if (auto* text = qobject_cast<QCPItemText*>(plot.plot()->item(i)))
        labelled = labelled || (text->text() == QStringLiteral("0") && text->position->key() == GradientHistogramPlot::kZeroBarKey);
    QVERIFY(labelled);
    QVERIFY(!plot.shadowOutline());
    QVERIFY2(plot.sharesText().contains(QStringLiteral("became zero when rounded to fp16 0.00%")), qPrintable(plot.sharesText()));
    QVERIFY2(plot.sharesText().contains(QStringLiteral("zeros 100.00%")), qPrintable(plot.sharesText()));
  }

  void histogramOutlinesTheShadow() {
    GradientHistogramPlot plot;
    plot.setRuns({PlotRun{zeroGradientRun(true), runColour(0)}});
    QVERIFY(plot.shadowOutline());
    QCOMPARE(graphValue(plot.shadowOutline(), -30 + 0.5), 60.0 / 64.0);
    QCOMPARE(graphValue(plot.shadowOutline(), -20 + 0.5), 4.0 / 64.0);
    QCOMPARE(plot.shadowOutline()->pen().style(), Qt::DashLine);
    QCOMPARE(plot.shadowOutline()->brush().style(), Qt::NoBrush);
    QCOMPARE(barValue(plot.shadowZeroBar(), GradientHistogramPlot::kZeroBarKey), 0.0);
    QCOMPARE(barValue(plot.zeroBar(), GradientHistogramPlot::kZeroBarKey), 1.0);  // the run's own, still
    QVERIFY2(plot.sharesText().contains(QStringLiteral("would underflow in fp16 93.75%")), qPrintable(plot.sharesText()));
  }

  void speedPlotShowsTheShadowCost() {
    SpeedPlot plot;
    auto run = zeroGradientRun(true);
    run->summary = {{"median_step_ms", 2.0}, {"shadow_passes", 38}, {"median_shadow_ms", 1.5}};
    plot.setRuns({PlotRun{run, runColour(0)}});
    QVERIFY2(plot.shadowCostText().contains(QStringLiteral("fp32 shadow passes: 38, median 1.5 ms each")),
             qPrintable(plot.shadowCostText()));
    plot.setRuns({PlotRun{zeroGradientRun(false), runColour(0)}});
    QVERIFY(plot.shadowCostText().isEmpty());
  }

  void heatMapShowsShadowShares() {
    LayerHeatMap map;
    map.setRuns({PlotRun{zeroGradientRun(true), runColour(0)}});
    map.setMeasure(LayerHeatMap::Measure::shadowGradientUnderflow);
    QCOMPARE(map.cell(0, 0), 60.0 / 64.0);
    map.setMeasure(LayerHeatMap::Measure::gradientUnderflow);
    QCOMPARE(map.cell(0, 0), 0.0);
    QCOMPARE(map.colourRange(), std::make_pair(0.0, 1.0));  // all zero: 0 .. 1, never negative
    map.setMeasure(LayerHeatMap::Measure::gradientZeros);
    QCOMPARE(map.cell(0, 0), 1.0);
  }

  void heatMapOfOneRunHasNoRunPrefix() {
    LayerHeatMap map;
    map.setRuns({PlotRun{statsRun(5, {10, 20}), runColour(0)}});
    QCOMPARE(map.bandCount(), 1);
    QCOMPARE(map.rowLabel(1), QStringLiteral("layers[2] linear"));
    QCOMPARE(map.cell(1, 1), 0.08);
  }

  void crosshairSurvivesRebuilds() {
    // Rebuilding removes the plot's own items; the crosshair's must stay usable.
    LayerHeatMap map;
    map.resize(900, 500);
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    map.setRuns({PlotRun{statsRun(1, {10, 20, 30}), runColour(0)}, PlotRun{statsRun(2, {10, 20}), runColour(1)}});
    map.setMeasure(LayerHeatMap::Measure::gradientZeros);  // rebuilds
    PlotDrawQueue::instance().drawAllNow();
    // Over the second run's first layer (row 3: rows 0-1 are run 1, row 2 the gap).
    const QPoint over(map.plot()->axisRect()->rect().center().x(), int(map.plot()->yAxis->coordToPixel(3)));
    QTest::mouseMove(map.plot(), over);
    QCPLayer* layer = map.plot()->layer(QStringLiteral("crosshair"));
    QVERIFY(layer);
    bool readoutShown = false;
    for (QCPLayerable* item : layer->children()) {
      if (auto* text = qobject_cast<QCPItemText*>(item)) readoutShown = text->visible() && text->text().contains(QStringLiteral("#2"));
    }
    QVERIFY(readoutShown);
  }

  void timingPlotShowsEveryRunSideBySide() {
    LayerTimingPlot timing;
    timing.resize(900, 500);
    timing.show();
    QVERIFY(QTest::qWaitForWindowExposed(&timing));
    auto a = std::make_shared<RunData>();
    a->runId = 1;
    addSpeed(*a, {QStringLiteral("fp32"), QStringLiteral("custom")}, 1.0);
    auto b = std::make_shared<RunData>();
    b->runId = 2;
    addSpeed(*b, {QStringLiteral("fp32"), QStringLiteral("custom"), QStringLiteral("fp16-mixed")}, 0.5);
    timing.setRuns({PlotRun{a, runColour(0)}, PlotRun{b, runColour(1)}});
    QCOMPARE(timing.configurations(), (QStringList{QStringLiteral("fp32"), QStringLiteral("custom"), QStringLiteral("fp16-mixed")}));
    QCOMPARE(timing.bars().size(), 2);
    const auto& bars = timing.bars();
    QCOMPARE(bars[0].run, a.get());
    QCOMPARE(bars[1].backward->data()->at(2)->value, 3.0);  // 2 * 0.5 * 3
    QCOMPARE(bars[0].forward->brush().color(), runColour(0).lighter(150));
    QCOMPARE(bars[1].backward->brush().color(), runColour(1));
    PlotDrawQueue::instance().drawAllNow();
    // At each layer the runs stand side by side, each backward bar on its forward bar.
    for (int layer = 0; layer < 3; ++layer) {
      const double x0 = bars[0].forward->dataPixelPosition(layer).x();
      const double x1 = bars[1].forward->dataPixelPosition(layer).x();
      QVERIFY2(x0 + 5 < x1, qPrintable(QStringLiteral("layer %1: %2 vs %3").arg(layer).arg(x0).arg(x1)));
      QCOMPARE(bars[0].backward->dataPixelPosition(layer).x(), x0);
    }
    // A configuration only the second run measured shows that run alone.
    timing.setConfiguration(QStringLiteral("fp16-mixed"));
    QCOMPARE(timing.bars().size(), 1);
    QCOMPARE(timing.bars()[0].run, b.get());
  }

  // A run without loss scaling (scale 1 throughout) is a visible line inside the plot,
  // and the axis is labelled in whole powers of two.
  // Presenter mode: lines and markers times the scale, text as the widget's font, and
  // back to the design when the scale returns to 1 (no compounding over draws).
  void presentationScaleWidensLinesAndFollowsTheFont() {
    auto run = statsRun(5, {10});
    for (int i = 1; i <= 50; ++i) {
      plab::StepMetrics m;
      m.step = i;
      m.loss = 1.0 / i;
      m.lossScale = 1024;
      m.overflow = m.skipped = i % 10 == 0;
      run->steps.push_back(m);
    }
    LossScalePlot plot;
    plot.resize(800, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setRuns({PlotRun{run, runColour(0)}});
    plot.refresh();
    QVERIFY(plot.drawNow());
    auto widths = [&] {
      QList<double> w;
      for (int i = 0; i < plot.plot()->plottableCount(); ++i) w << plot.plot()->plottable(i)->pen().widthF();
      return w;
    };
    const QList<double> design = widths();
    QVERIFY(!design.isEmpty());
    PlotWidget::setPresentationScale(1.5);
    for (int pass = 0; pass < 3; ++pass) QVERIFY(plot.drawNow());  // drawn thrice: scaled once
    const QList<double> scaled = widths();
    for (int i = 0; i < design.size(); ++i) QCOMPARE(scaled[i], design[i] * 1.5);
    QFont large = plot.font();
    large.setPointSizeF(large.pointSizeF() * 1.5);
    plot.setFont(large);
    QVERIFY(plot.drawNow());
    QCOMPARE(plot.plot()->xAxis->tickLabelFont().pointSizeF(), large.pointSizeF());
    PlotWidget::setPresentationScale(1.0);
    QVERIFY(plot.drawNow());
    QCOMPARE(widths(), design);
  }

  void lossScaleOfOneIsVisibleAndTicksArePowersOfTwo() {
    auto run = statsRun(5, {10});
    run->status = QStringLiteral("completed");
    for (int i = 1; i <= 100; ++i) {
      plab::StepMetrics m;
      m.step = i;
      m.loss = 1.0 / i;
      m.lossScale = 1;
      run->steps.push_back(m);
    }
    LossScalePlot plot;
    plot.resize(800, 400);
    plot.setRuns({PlotRun{run, runColour(0)}});
    plot.refresh();
    plot.resetView();
    const QCPRange y = plot.plot()->yAxis->range();
    QVERIFY2(y.lower <= 0.5 && y.upper >= 2.0, qPrintable(QStringLiteral("%1 .. %2").arg(y.lower).arg(y.upper)));
    plot.plot()->replot();
    const QVector<QString> labels = plot.plot()->yAxis->tickVectorLabels();
    QVERIFY(!labels.isEmpty());
    for (const QString& label : labels) QVERIFY2(label.startsWith(QLatin1Char('2')), qPrintable(label));
    QVERIFY2(labels.contains(QStringLiteral("2\u2070")), qPrintable(QStringList(labels.begin(), labels.end()).join(' ')));
  }

  // Two runs of thirteen layers in a short plot: the names on the axis do not overlap
  // (every k-th row named, each band named at least once), and hover names any row.
  void heatMapRowNamesOfTwoDeepRunsDoNotOverlap() {
    LayerHeatMap map;
    map.resize(700, 300);
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    map.setRuns({PlotRun{deepRun(1, 13), runColour(0)}, PlotRun{deepRun(2, 13), runColour(1)}});
    PlotDrawQueue::instance().drawAllNow();
    map.plot()->replot();  // the second draw sees the laid-out axis rect
    QVERIFY2(map.labelStride() > 1, "27 rows fit in 300 px: the check below would prove nothing");
    const auto labels = drawnTickLabels(map.plot()->yAxis);
    const int line = QFontMetrics(map.plot()->yAxis->tickLabelFont()).height();
    QVERIFY(labels.size() >= 2);
    for (int i = 1; i < labels.size(); ++i) {
      QVERIFY2(labels[i].first - labels[i - 1].first >= line,
               qPrintable(QStringLiteral("%1 at %2 and %3 at %4: under %5 px apart").arg(labels[i - 1].second).arg(labels[i - 1].first)
                              .arg(labels[i].second).arg(labels[i].first).arg(line)));
    }
    bool first = false, second = false;
    for (const auto& [y, text] : labels) first = first || text.startsWith(QStringLiteral("#1")), second = second || text.startsWith(QStringLiteral("#2"));
    QVERIFY(first && second);
    QCOMPARE(map.rowLabel(7, 1), QStringLiteral("#2 layers[7] linear"));  // the whole name, for the readout
    // Tall enough, every row is named again.
    map.resize(700, 1400);
    QApplication::processEvents();
    map.plot()->replot();
    map.plot()->replot();
    QCOMPARE(map.labelStride(), 1);
  }

  // The loss-scale crosshair reads each run's scale at the step under the pointer (not
  // the pointer's height) and names the run.
  void lossScaleReadoutReadsTheDataAndNamesTheRun() {
    auto scaled = std::make_shared<RunData>();
    scaled->runId = 3;
    scaled->title = QStringLiteral("fp16 dynamic");
    scaled->status = QStringLiteral("completed");
    addScales(*scaled, 100, 1024, 50);
    auto flat = std::make_shared<RunData>();
    flat->runId = 4;
    flat->title = QStringLiteral("fp32 none");
    flat->status = QStringLiteral("completed");
    addScales(*flat, 100, 1);
    LossScalePlot plot;
    plot.resize(800, 400);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setRuns({PlotRun{scaled, runColour(0)}, PlotRun{flat, runColour(1)}});
    PlotDrawQueue::instance().drawAllNow();
    const int x = int(plot.plot()->xAxis->coordToPixel(75));
    for (const int y : {plot.plot()->axisRect()->top() + 30, plot.plot()->axisRect()->bottom() - 30}) {
      QTest::mouseMove(plot.plot(), QPoint(x, y));
      const QString text = plot.readoutText();
      QVERIFY2(text.contains(QStringLiteral("#3 fp16 dynamic: scale 2¹¹ = 2048")), qPrintable(text));
      QVERIFY2(text.contains(QStringLiteral("#4 fp32 none: scale 2⁰ = 1")), qPrintable(text));
    }
    QCOMPARE(LossScalePlot::scaleAt(*scaled, 49).value_or(0), 1024.0);
    QCOMPARE(LossScalePlot::scaleAt(*scaled, 50).value_or(0), 2048.0);
  }

  // Adaptive precision's promotions: a labelled line per promotion, added as a live
  // run reports them, with the reason in the readout near the line, and gone with the run.
  void lossPlotMarksPromotions() {
    auto run = std::make_shared<RunData>();
    run->runId = 5;
    run->title = QStringLiteral("fp16 adaptive");
    run->totalSteps = 200;
    addScales(*run, 100, 1);
    run->promotions.push_back({25, 0, "layers[0] linear", "fp16", "bf16",
                               "gradients: 61.7% became zero when rounded into fp16 at statistics steps 1, 25 (limit 5.0%)"});
    LossPlot plot;
    plot.resize(900, 450);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    const int itemsBefore = plot.plot()->itemCount();
    plot.setRuns({PlotRun{run, runColour(0)}});
    PlotDrawQueue::instance().drawAllNow();
    QCOMPARE(plot.promotionLabels(), QStringList{QStringLiteral("layers[0] linear fp16 → bf16")});

    // The run goes on: a second promotion arrives with more steps.
    for (int i = 101; i <= 200; ++i) run->steps.push_back(plab::StepMetrics{.step = i, .loss = 0.01});
    run->promotions.push_back({150, 1, "layers[1] sigmoid", "fp16", "bf16", "gradients: 9.0% became zero"});
    ++run->revision;
    plot.refresh();
    PlotDrawQueue::instance().drawAllNow();
    QCOMPARE(plot.promotionLabels(), (QStringList{QStringLiteral("layers[0] linear fp16 → bf16"),
                                                  QStringLiteral("layers[1] sigmoid fp16 → bf16")}));
    plot.plot()->xAxis->setRange(0, 200);
    plot.plot()->replot();
    QTest::mouseMove(plot.plot(), QPoint(int(plot.plot()->xAxis->coordToPixel(25)), plot.plot()->axisRect()->center().y()));
    QVERIFY2(plot.readoutText().contains(QStringLiteral("layers[0] linear → bf16: gradients: 61.7%")),
             qPrintable(plot.readoutText()));
    // Promotions at one step share a line and a label, the layer indices in ranges.
    QCOMPARE(LossPlot::promotionLabel({{25, 0, "layers[0] linear", "fp16", "bf16", ""},
                                       {25, 1, "layers[1] sigmoid", "fp16", "bf16", ""},
                                       {25, 2, "layers[2] linear", "fp16", "bf16", ""},
                                       {25, 4, "layers[4] linear", "fp16", "bf16", ""},
                                       {25, 5, "layers[5] sigmoid", "fp16", "bf16", ""},
                                       {25, 7, "layers[7] sigmoid", "fp16", "bf16", ""},
                                       {25, 9, "layers[9] linear", "bf16", "fp32", ""}}),
             QStringLiteral("layers[0–2, 4, 5, 7] fp16 → bf16; layers[9] bf16 → fp32"));
    run->promotions.push_back({150, 2, "layers[2] linear", "fp16", "bf16", "gradients: 7.0% became zero"});
    ++run->revision;
    plot.refresh();
    PlotDrawQueue::instance().drawAllNow();
    QCOMPARE(plot.promotionLabels().last(), QStringLiteral("layers[1, 2] fp16 → bf16"));
    // Promotions at many nearby steps (as lesson 14 has): no label prints over another.
    for (int k = 0; k < 6; ++k)
      run->promotions.push_back({155 + 8 * k, 3 + k, "layers[" + std::to_string(3 + k) + "] linear", "fp16", "bf16", "g"});
    ++run->revision;
    plot.refresh();
    PlotDrawQueue::instance().drawAllNow();
    plot.plot()->replot();
    QList<QRectF> boxes;
    for (int i = 0; i < plot.plot()->itemCount(); ++i) {
      auto* text = qobject_cast<QCPItemText*>(plot.plot()->item(i));
      if (!text || !plot.promotionLabels().contains(text->text())) continue;  // not the readout
      const QRectF box(text->topLeft->pixelPosition(), text->bottomRight->pixelPosition());
      for (const QRectF& other : boxes)
        QVERIFY2(!box.intersects(other), qPrintable(text->text() + QStringLiteral(" meets another label")));
      boxes << box;
    }
    QCOMPARE(boxes.size(), 8);
    plot.setRuns({});
    PlotDrawQueue::instance().drawAllNow();
    QVERIFY(plot.promotionLabels().isEmpty());
    QCOMPARE(plot.plot()->itemCount(), itemsBefore);
  }

  // A readout near the right or bottom edge, and one wider than half the plot (an
  // overflow naming many layers), stays inside the plot instead of being cut off.
  void readoutsStayInsideThePlot() {
    auto run = std::make_shared<RunData>();
    run->runId = 5;
    run->status = QStringLiteral("completed");
    addScales(*run, 100, 524288);
    plab::OverflowEvent e;
    e.step = 97;  // near the right edge, where the readout was cut off
    e.scaleBefore = 524288;
    e.scaleAfter = 262144;
    for (int i = 12; i >= 0; --i) e.layers.push_back("layers[" + std::to_string(i) + "] linear");
    run->overflows.push_back(e);
    LossScalePlot plot;
    plot.resize(420, 300);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.setRuns({PlotRun{run, runColour(0)}});
    PlotDrawQueue::instance().drawAllNow();
    const QPoint marker(int(plot.plot()->xAxis->coordToPixel(97)), int(plot.plot()->yAxis->coordToPixel(524288)));
    const QRect rect = plot.plot()->axisRect()->rect();
    for (const QPoint& at : {marker, rect.bottomRight() - QPoint(2, 2), rect.topRight() + QPoint(-2, 2), rect.bottomLeft() + QPoint(2, -2)}) {
      QTest::mouseMove(plot.plot(), at);
      const QRect box = plot.readoutRect();
      QVERIFY2(!box.isEmpty(), qPrintable(QStringLiteral("no readout at %1,%2").arg(at.x()).arg(at.y())));
      QVERIFY2(plot.plot()->rect().contains(box),
               qPrintable(QStringLiteral("readout %1,%2 %3x%4 outside %5x%6").arg(box.x()).arg(box.y()).arg(box.width())
                              .arg(box.height()).arg(plot.plot()->width()).arg(plot.plot()->height())));
    }
    QTest::mouseMove(plot.plot(), marker);
    QVERIFY2(plot.readoutText().contains(QStringLiteral("layers[12] linear (culprit)")), qPrintable(plot.readoutText()));
    QVERIFY2(plot.readoutText().contains(QStringLiteral("layers[0] linear")), qPrintable(plot.readoutText()));
  }

  // The slider says which statistics step is shown, and the axis what is counted: the
  // values before rounding to the layer's format (engine/core/tensor_stats.h).
  void histogramSaysWhichStepAndWhatItCounts() {
    GradientHistogramPlot plot;
    plot.setRuns({PlotRun{statsRun(1, {10, 20, 30}), runColour(0)}});
    QCOMPARE(plot.shownStepsText(), QStringLiteral("step 30 (latest)"));
    plot.stepSlider()->setValue(0);
    QCOMPARE(plot.shownRecord(0)->step, std::int64_t(10));
    QCOMPARE(plot.shownStepsText(), QStringLiteral("step 10"));
    auto* shown = plot.findChild<QLabel*>(QStringLiteral("histogramStepShown"));
    QVERIFY(shown);
    QCOMPARE(shown->text(), QStringLiteral("step 10"));
    plot.stepSlider()->setValue(1);
    QCOMPARE(shown->text(), QStringLiteral("step 20"));
    QVERIFY2(plot.plot()->xAxis->label().contains(QStringLiteral("before rounding")), qPrintable(plot.plot()->xAxis->label()));
  }

  // A layer's rounding option shows beside its gradient shares and in the legend.
  void histogramShowsTheRoundingMode() {
    auto run = statsRun(2, {10});
    run->config = {{"network", {{"layers", nlohmann::json::array({{{"type", "linear"}, {"rounding", "stochastic"}},
                                                                   {{"type", "relu"}},
                                                                   {{"type", "linear"}, {"rounding", "nearest"}}})}}}};
    for (auto& r : run->layerStats) r.precision = "bf16";
    GradientHistogramPlot plot;
    plot.setRuns({PlotRun{run, runColour(0)}});
    plot.refresh();
    QVERIFY2(plot.sharesText().contains(QStringLiteral("rounding: stochastic")), qPrintable(plot.sharesText()));
    bool legend = false;
    for (int i = 0; i < plot.plot()->graphCount(); ++i)
      legend = legend || plot.plot()->graph(i)->name().contains(QStringLiteral("bf16, stochastic rounding"));
    QVERIFY(legend);
  }

  void reportDrawsChartsInSlicesAndWritesOffTheGuiThread() {
    auto run = statsRun(4, {10, 20});
    for (int i = 1; i <= 3000; ++i) {
      plab::StepMetrics m;
      m.step = i;
      m.loss = 1.0 / i;
      m.lossScale = 1024;
      run->steps.push_back(m);
    }
    ReportWriter report({PlotRun{run, runColour(0)}});
    QCOMPARE(report.chartCount(), 3);  // loss, loss scale, gradients (no benchmark)
    int slices = 1;
    while (report.renderNextChart()) ++slices;
    // Per chart at least: making the plot, its frame and series, its legend.
    QVERIFY2(slices > 2 * report.chartCount(), qPrintable(QString::number(slices)));
    QTemporaryDir dir;
    const QString pdf = dir.filePath(QStringLiteral("report.pdf"));
    QString error;
    QThreadPool pool;
    bool ok = false;
    QThread* writer = nullptr;
    pool.start([&] {
      writer = QThread::currentThread();
      ok = report.writeRendered(pdf, &error);
    });
    QVERIFY(pool.waitForDone(60000));
    QVERIFY2(ok, qPrintable(error));
    QVERIFY(writer != QThread::currentThread());
    QFile file(pdf);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(4) == "%PDF");
    QVERIFY(file.size() > 10000);
  }

  void plotsDrawOnePerEventLoopTurn() {
    LivePlotsPanel panel;
    panel.resize(1200, 800);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    auto run = statsRun(3, {10, 20});
    for (int i = 1; i <= 2000; ++i) {
      plab::StepMetrics m;
      m.step = i;
      m.loss = 1.0 / i;
      m.lossScale = 1024;
      m.stepMs = 1;
      run->steps.push_back(m);
    }
    panel.setRuns({PlotRun{run, runColour(0)}});
    PlotDrawQueue& queue = PlotDrawQueue::instance();
    queue.drawAllNow();
    int visible = 0;
    for (RunPlot* p : panel.plots()) visible += p->isVisible() ? 1 : 0;
    QVERIFY2(visible >= 3, qPrintable(QString::number(visible)));
    queue.resetStatistics();
    panel.replotNow();
    QVERIFY(queue.isPending());
    QCOMPARE(queue.drawCount(), 0);  // the data is in; nothing drawn in this turn
    // Each pass of the event loop draws one plot at most.
    for (int turn = 0; turn < 100 && queue.isPending(); ++turn) {
      const int before = queue.drawCount();
      QCoreApplication::processEvents();
      QVERIFY2(queue.drawCount() - before <= 1, qPrintable(QStringLiteral("%1 draws in one turn").arg(queue.drawCount() - before)));
    }
    QVERIFY(!queue.isPending());
    QCOMPARE(queue.drawCount(), visible);  // each shown plot once; hidden tabs wait
  }
};

QTEST_MAIN(TestGuiPlots)
#include "tst_gui_plots.moc"
