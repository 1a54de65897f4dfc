// bench_gui: the GUI's two performance promises, measured (docs/PERFORMANCE.md, "GUI").
//  1. Replot time with 1,000,000 points per series (loss plot: raw + smoothed, so
//     2,000,000 points), full view, zoomed and while panning; adaptive sampling on/off.
//  2. The GUI thread's longest stall while a run streams: a 2 ms probe timer measures
//     event-loop latency (a) while a synthetic stream appends 100,000 steps/s into a
//     RunData at the worker's 30 batches/s until 1,000,000 points, and (b) during a
//     real run of the worker (precisionlab-cli worker) at its full speed.
//  3. The same while the PDF and the HTML report of three such stored runs are written.
// Run: QT_QPA_PLATFORM=offscreen build/app/gui/bench_gui [experiment.json]
#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTimer>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <qcustomplot.h>
#include <random>
#include <time.h>
#include <vector>

#include "common/app_paths.h"
#include "common/app_resources.h"
#include "editor/experiment_document.h"
#include "plots/live_plots_panel.h"
#include "plots/loss_plot.h"
#include "common/main_window.h"
#include "plots/plot_draw_queue.h"
#include "runs/worker_client.h"

using namespace plab::ui;

namespace {

plab::StepMetrics syntheticStep(std::int64_t step, std::mt19937& rng) {
  std::normal_distribution<double> noise(0.0, 0.05);
  plab::StepMetrics m;
  m.step = step;
  m.loss = 2.0 * std::exp(-double(step) / 200000.0) + 0.1 + noise(rng);
  m.lossScale = 65536;
  m.stepMs = 1.0 + noise(rng);
  m.samplesPerSecond = 64000;
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double timeReplot(QCustomPlot* plot, int repeats) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    QElapsedTimer t;
    t.start();
    plot->replot(QCustomPlot::rpImmediateRefresh);
    ms.push_back(t.nsecsElapsed() / 1e6);
  }
  return median(ms);
}

void replotBenchmark(bool adaptive) {
  auto run = std::make_shared<RunData>();
  std::mt19937 rng(1);
  constexpr int kPoints = 1'000'000;
  run->steps.reserve(kPoints);
  for (int i = 1; i <= kPoints; ++i) run->steps.push_back(syntheticStep(i, rng));
  run->status = QStringLiteral("completed");
  run->totalSteps = kPoints;
  LossPlot plot;
  plot.resize(1200, 700);
  plot.show();
  QElapsedTimer ingest;
  ingest.start();
  plot.setRuns({PlotRun{run, runColour(0)}});
  const double ingestMs = ingest.nsecsElapsed() / 1e6;
  for (int i = 0; i < plot.plot()->graphCount(); ++i) plot.plot()->graph(i)->setAdaptiveSampling(adaptive);
  const double full = timeReplot(plot.plot(), 9);
  plot.plot()->xAxis->setRange(400000, 410000);  // zoomed to 1% of the run
  const double zoomed = timeReplot(plot.plot(), 9);
  std::vector<double> pan;
  plot.plot()->xAxis->setRange(0, 1'000'000);
  for (int i = 0; i < 20; ++i) {  // panning: each frame moves the range and redraws
    plot.plot()->xAxis->moveRange(-5000);
    QElapsedTimer t;
    t.start();
    plot.plot()->replot(QCustomPlot::rpImmediateRefresh);
    pan.push_back(t.nsecsElapsed() / 1e6);
  }
  std::printf("replot, loss plot of 1,000,000 steps (raw 1,000,000 points + smoothed), adaptive sampling %-3s: "
              "ingest %.0f ms, full view %.1f ms, zoomed %.1f ms, pan frame %.1f ms (median)\n",
              adaptive ? "on" : "off", ingestMs, full, zoomed, median(pan));
}

double threadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

// Measures the gaps between 2 ms probe ticks while the event loop runs. A gap is the
// longest the GUI thread could not answer; beside its wall time the probe keeps the CPU
// time the GUI thread spent in it, which tells work done on the thread (what the app
// controls) from time the thread waited for a core (the machine's load).
struct StallProbe {
  struct Gap {
    double wallMs, cpuMs, atMs;
  };
  QTimer timer;
  QElapsedTimer clock;
  qint64 last = 0;
  double lastCpu = 0;
  std::vector<Gap> gaps;
  StallProbe() {
    timer.setInterval(2);
    timer.setTimerType(Qt::PreciseTimer);
    QObject::connect(&timer, &QTimer::timeout, [this] {
      const qint64 now = clock.nsecsElapsed();
      const double cpu = threadCpuMs();
      if (last) gaps.push_back({(now - last) / 1e6, cpu - lastCpu, last / 1e6});
      last = now;
      lastCpu = cpu;
    });
    PlotDrawQueue::instance().resetStatistics();
    clock.start();
    timer.start();
  }
  void report(const char* what, int replots, double slowestDataUpdateMs) {
    std::vector<Gap> byWall = gaps;
    std::sort(byWall.begin(), byWall.end(), [](const Gap& a, const Gap& b) { return a.wallMs < b.wallMs; });
    double busiest = 0;
    for (const Gap& g : gaps) busiest = std::max(busiest, g.cpuMs);
    const Gap worst = byWall.empty() ? Gap{} : byWall.back();
    const double p99 = byWall.empty() ? 0 : byWall[std::size_t(double(byWall.size() - 1) * 0.99)].wallMs;
    std::printf("%s: longest GUI-thread stall %.1f ms (of which the thread ran %.1f ms), 99th percentile %.1f ms, "
                "longest busy stall %.1f ms CPU, %zu probes, %d data updates (slowest %.1f ms), %d plot draws "
                "(slowest %.1f ms)\n",
                what, worst.wallMs, worst.cpuMs, p99, busiest, gaps.size(), replots, slowestDataUpdateMs,
                PlotDrawQueue::instance().drawCount(), PlotDrawQueue::instance().longestDrawMs());
    std::printf("  five longest stalls (wall ms / thread CPU ms @ time s):");
    for (std::size_t i = 0; i < std::min<std::size_t>(5, byWall.size()); ++i) {
      const Gap& g = byWall[byWall.size() - 1 - i];
      std::printf(" %.1f/%.1f@%.2f", g.wallMs, g.cpuMs, g.atMs / 1000);
    }
    std::printf("\n");
  }
};

void syntheticStreamBenchmark() {
  LivePlotsPanel panel;
  panel.resize(1400, 900);
  panel.show();
  auto run = std::make_shared<RunData>();
  run->totalSteps = 1'000'000;  // as run_started announces it (WorkerClient does the same)
  run->reserveSteps(run->totalSteps);
  panel.setRuns({PlotRun{run, runColour(0)}});
  std::mt19937 rng(2);
  std::int64_t step = 0;
  QTimer feeder;  // the worker's batching: ~30 messages a second
  feeder.setInterval(33);
  QEventLoop loop;
  QObject::connect(&feeder, &QTimer::timeout, [&] {
    for (int i = 0; i < 3333 && step < 1'000'000; ++i) run->steps.push_back(syntheticStep(++step, rng));
    ++run->revision;
    panel.scheduleReplot();
    if (step >= 1'000'000) loop.quit();
  });
  StallProbe probe;
  feeder.start();
  loop.exec();
  // Let the last replot land.
  QTimer::singleShot(200, &loop, &QEventLoop::quit);
  loop.exec();
  probe.report("synthetic stream, 100,000 steps/s to 1,000,000 points", panel.replotCount(), panel.slowestReplotMs());
}

// Runs the window's experiment to the end; the run's id, or 0.
qint64 runToEnd(MainWindow& window) {
  QEventLoop loop;
  QObject::connect(&window, &MainWindow::runFinished, &loop, &QEventLoop::quit);
  if (!window.startRun()) {
    std::printf("worker run: cannot start: %s\n", qPrintable(window.lastWarning()));
    return 0;
  }
  loop.exec();
  return window.worker()->run()->runId;
}

// The GUI thread while a report of the stored runs is written (PDF, then HTML).
void reportBenchmark(MainWindow& window, const QList<qint64>& ids, const QTemporaryDir& dir) {
  for (const char* name : {"report.pdf", "report.html"}) {
    QEventLoop loop;
    QObject::connect(&window, &MainWindow::reportWritten, &loop, &QEventLoop::quit);
    StallProbe probe;
    QElapsedTimer wall;
    wall.start();
    window.writeReport(ids, dir.filePath(QString::fromLatin1(name)));
    loop.exec();
    char what[200];
    std::snprintf(what, sizeof what, "%s of %lld runs written in %.2f s", name, static_cast<long long>(ids.size()), wall.elapsed() / 1000.0);
    probe.report(what, 0, 0);
  }
}

void workerStreamBenchmark(const QString& experiment) {
  QTemporaryDir dir;
  MainWindowOptions options;
  options.databasePath = dir.filePath(QStringLiteral("bench.sqlite"));
  options.experimentsDir = experimentsDir();
  options.initialExperiment = experiment;
  MainWindow window(options);
  window.setInteractive(false);
  window.resize(1400, 900);
  window.show();
  nlohmann::json j = window.document()->json();
  j.erase("epochs");
  j["steps"] = 20000;
  j["stats_interval"] = 50;
  window.document()->load(j, {});
  QList<qint64> ids;
  {
    StallProbe probe;
    QElapsedTimer wall;
    wall.start();
    const qint64 id = runToEnd(window);
    if (id <= 0) return;
    ids << id;
    const auto run = window.worker()->run();
    char what[200];
    std::snprintf(what, sizeof what, "worker run, %lld steps in %.1f s (%.0f steps/s, stats every 50)",
                  static_cast<long long>(run->lastStep()), wall.elapsed() / 1000.0, run->lastStep() / (wall.elapsed() / 1000.0));
    probe.report(what, window.plotsPanel()->replotCount(), window.plotsPanel()->slowestReplotMs());
  }
  // Two more runs of the same length (not measured) for a report of three runs.
  for (int i = 0; i < 2; ++i) {
    const qint64 id = runToEnd(window);
    if (id <= 0) return;
    ids << id;
  }
  reportBenchmark(window, ids, dir);
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  initResources();
  replotBenchmark(true);
  replotBenchmark(false);
  syntheticStreamBenchmark();
  const QString experiment = argc > 1 ? QString::fromLocal8Bit(argv[1]) : experimentsDir() + QStringLiteral("/spirals.json");
  workerStreamBenchmark(experiment);
  return 0;
}
