// The shadow pass end to end (docs/architecture.md, "Shadow statistics"): lesson 1's
// deep sigmoid network (experiments/moons-deep-sigmoid-fp16.json, shadow_stats on)
// runs through the real precisionlab-cli into a real SQLite file, and the stored
// layer statistics say what the lesson teaches: without loss scaling nearly all of the
// first layer's gradients would underflow in fp16; with dynamic scaling few would.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "cli_test_support.h"
#include "store/store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

json shippedExperiment() {
  std::ifstream in(PLAB_SOURCE_DIR "/experiments/moons-deep-sigmoid-fp16.json");
  return json::parse(in);
}

struct StoredRun {
  std::vector<LayerStatsRecord> stats;
  json summary;
};

// Runs `experiment` on the CPU backend into a fresh database and reads its layer statistics back.
StoredRun runAndLoad(const QTemporaryDir& dir, const QString& name, const json& experiment) {
  const QString file = writeExperiment(QDir(dir.path()), name + ".json", experiment);
  const QString db = dir.filePath(name + ".sqlite"), summary = dir.filePath(name + "-summary.json");
  const CliResult r = runCli({"run", file, "--db", db, "--summary-json", summary, "--backend", "cpu"}, 170000);
  if (r.exitCode != 0) qFatal("%s", qPrintable(r.describe()));
  std::ifstream in(summary.toStdString());
  StoredRun out;
  out.summary = json::parse(in);
  RunReader reader(db.toStdString());
  out.stats = reader.loadLayerStats(out.summary["run_id"].get<std::int64_t>());
  return out;
}

// The share of layers[layer]'s gradient values, over every statistics step, that the
// fp32 shadow says would underflow in the layer's format.
double shadowGradientUnderflow(const std::vector<LayerStatsRecord>& stats, int layer) {
  std::int64_t underflows = 0, count = 0;
  for (const auto& r : stats) {
    if (r.kind != StatsKind::gradient || r.layerIndex != layer) continue;
    if (!r.hasShadow) qFatal("step %lld layers[%d]: no shadow statistics", (long long)r.step, layer);
    underflows += r.shadow.underflows;
    count += r.shadow.count;
  }
  if (count == 0) qFatal("no gradient statistics for layers[%d]", layer);
  return double(underflows) / double(count);
}

}  // namespace

class TestCliShadow : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

 private slots:
  void withoutScalingEarlyGradientsWouldUnderflow() {
    const json e = shippedExperiment();
    QVERIFY2(e.value("shadow_stats", false), "the shipped lesson experiment has shadow_stats on");
    QCOMPARE(e["loss_scaling"]["mode"].get<std::string>(), std::string("none"));
    const StoredRun run = runAndLoad(dir_, "none", e);
    const double share = shadowGradientUnderflow(run.stats, 0);
    QVERIFY2(share > 0.9, qPrintable(QString("layers[0]: %1 would underflow in fp16").arg(share)));
    // In the run itself those gradients were zeros before any rounding could see them.
    for (const auto& r : run.stats)
      if (r.kind == StatsKind::gradient && r.layerIndex == 0) QVERIFY(r.zeroShare() > 0.9);
    QVERIFY2(run.summary.value("shadow_passes", 0) > 0, run.summary.dump().c_str());
    // The shadow network's memory, its own kind beside the run's network (not in its total).
    const json& memory = run.summary.at("memory");
    QVERIFY2(memory.value("shadow", std::int64_t(0)) > 0, memory.dump().c_str());
    QCOMPARE(memory.at("total").get<std::int64_t>(),
             memory.at("weights").get<std::int64_t>() + memory.at("master_weights").get<std::int64_t>() +
                 memory.at("gradients").get<std::int64_t>() + memory.at("optimizer_state").get<std::int64_t>() +
                 memory.at("activations").get<std::int64_t>());
  }

  void withDynamicScalingFewWouldUnderflow() {
    json e = shippedExperiment();
    e["loss_scaling"] = {{"mode", "dynamic"}};  // lesson 1's "fp16, dynamic scaling" variant
    const StoredRun run = runAndLoad(dir_, "dynamic", e);
    const double share = shadowGradientUnderflow(run.stats, 0);
    QVERIFY2(share < 0.1, qPrintable(QString("layers[0]: %1 would underflow in fp16").arg(share)));
  }

  void offByDefaultStoresNoShadow() {
    json e = shippedExperiment();
    e.erase("shadow_stats");
    e.erase("epochs");
    e["steps"] = 30;
    const StoredRun run = runAndLoad(dir_, "off", e);
    QVERIFY(!run.stats.empty());
    for (const auto& r : run.stats) QVERIFY(!r.hasShadow);
    QVERIFY(!run.summary.contains("shadow_passes"));
    QVERIFY2(!run.summary.at("memory").contains("shadow"), run.summary.dump().c_str());
  }
};

QTEST_GUILESS_MAIN(TestCliShadow)
#include "tst_cli_shadow.moc"
