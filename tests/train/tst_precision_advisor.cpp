// The precision advisor's rules (engine/train/precision_advisor.h) on layer
// observations whose histograms are written out here, so that each rung of the
// ladder (fp8, bf16, fp16 with loss scaling, fp32) is reached for a reason the test
// states; and the proposal it writes opens as an experiment.
#include <QtTest>

#include "model/experiment.h"
#include "train/precision_advisor.h"

using namespace plab;
using nlohmann::json;

namespace {

QString name(Precision p) { return QString::fromLatin1(toString(p).data(), int(toString(p).size())); }

// An observation whose values lie evenly in the binades [2^lo, 2^hi), `perBinade` each.
void fill(std::array<std::int64_t, kLog2HistBins>& hist, std::int64_t& values, float& amax, int lo, int hi,
          std::int64_t perBinade = 100) {
  for (int e = lo; e < hi; ++e) {
    hist[std::size_t(e - kLog2HistMin)] += perBinade;
    values += perBinade;
  }
  amax = std::max(amax, float(std::exp2(hi)) * 0.99f);
}

LayerObservation layer(int index, int actLo, int actHi, int gradLo, int gradHi) {
  LayerObservation o;
  o.layerIndex = index;
  o.layerName = "layers[" + std::to_string(index) + "] linear";
  fill(o.activations, o.activationValues, o.activationAmax, actLo, actHi);
  fill(o.gradients, o.gradientValues, o.gradientAmax, gradLo, gradHi);
  return o;
}

NetworkSpec linears(int n) {
  NetworkSpec net;
  for (int i = 0; i < n; ++i) {
    LayerSpec l = defaultLayerSpec(LayerType::linear);
    l.out = 4;
    net.layers.push_back(l);
  }
  return net;
}

}  // namespace

class TestPrecisionAdvisor : public QObject {
  Q_OBJECT
 private slots:
  void shareBelowCountsWholeBinades() {
    std::array<std::int64_t, kLog2HistBins> hist{};
    std::int64_t values = 0;
    float amax = 0;
    fill(hist, values, amax, -10, -6);  // binades -10, -9, -8, -7: 100 values each
    QCOMPARE(shareBelow(hist, values, std::exp2(-8)), 0.5);   // -10 and -9 lie wholly below 2^-8
    QCOMPARE(shareBelow(hist, values, std::exp2(-7.5)), 0.75);  // the binade holding the threshold counts
    QCOMPARE(shareBelow(hist, values, std::exp2(-20)), 0.0);
    QCOMPARE(shareBelow(hist, values, 1.0), 1.0);
  }

  void eachRungForItsReason() {
    const std::vector<LayerObservation> seen = {
        layer(0, -4, 0, -12, -8),    // narrow everywhere: fp8 with per-tensor scales holds it
        layer(1, -4, 0, -60, -10),   // gradients over 50 binades: beyond E5M2's ~32, bf16 holds them
    };
    const Advice a = adviseLayers(linears(2), seen, AdvisorCriteria{}, Fp8Settings{});
    QCOMPARE(int(a.layers.size()), 2);
    QCOMPARE(name(a.layers[0].proposed), QStringLiteral("fp8_e4m3"));
    QVERIFY2(QString::fromStdString(a.layers[0].reason).startsWith("fits: "), a.layers[0].reason.c_str());
    QCOMPARE(name(a.layers[1].proposed), QStringLiteral("bf16"));
    QVERIFY2(a.layers[1].reason.find("of the gradients below fp8_e5m2's range under a per-tensor scale -> bf16") !=
                 std::string::npos,
             a.layers[1].reason.c_str());
    QVERIFY(a.usesFp8);
    QVERIFY(!a.needsLossScaling);
  }

  void aTightErrorBoundLeavesFp16OrFp32() {
    AdvisorCriteria tight;
    tight.errorBound = 1e-3;  // above fp16's 2^-11, below bf16's 2^-8
    const std::vector<LayerObservation> seen = {
        layer(0, -4, 0, -30, -24),  // small gradients: fp16 needs a loss scale to hold them
        layer(1, 10, 17, -8, -4),   // activations up to 2^17: beyond fp16's 65504
    };
    const Advice a = adviseLayers(linears(2), seen, tight, Fp8Settings{});
    QCOMPARE(name(a.layers[0].proposed), QStringLiteral("fp16"));
    QVERIFY(a.layers[0].lossScaling);
    QVERIFY(a.needsLossScaling);
    QVERIFY2(a.layers[0].reason.find("exceeds the bound") != std::string::npos, a.layers[0].reason.c_str());
    QCOMPARE(name(a.layers[1].proposed), QStringLiteral("fp32"));
    QVERIFY2(a.layers[1].reason.find("activations reach") != std::string::npos, a.layers[1].reason.c_str());
    QVERIFY(!a.usesFp8);
  }

  void aLayerWithoutStatisticsIsKept() {
    NetworkSpec net = linears(2);
    net.layers[1].precision = Precision::bf16;
    const std::vector<LayerObservation> seen = {layer(0, -4, 0, -12, -8)};
    const Advice a = adviseLayers(net, seen, AdvisorCriteria{}, Fp8Settings{});
    QCOMPARE(name(a.layers[1].proposed), QStringLiteral("bf16"));
    QVERIFY(a.layers[1].reason.find("no statistics") != std::string::npos);
  }

  void observationsFoldEveryStep() {
    std::vector<LayerStatsRecord> records(3);
    for (int i = 0; i < 3; ++i) {
      records[std::size_t(i)].layerIndex = 0;
      records[std::size_t(i)].layerName = "layers[0] linear";
      records[std::size_t(i)].kind = i == 2 ? StatsKind::gradient : StatsKind::activation;
      records[std::size_t(i)].stats.maxAbs = float(i + 1);
      records[std::size_t(i)].stats.log2Hist[60] = 5;
    }
    const auto seen = observeLayers(records);
    QCOMPARE(int(seen.size()), 1);
    QCOMPARE(seen[0].activationAmax, 2.0f);
    QCOMPARE(seen[0].activationValues, std::int64_t(10));
    QCOMPARE(seen[0].gradientAmax, 3.0f);
    QCOMPARE(seen[0].gradientValues, std::int64_t(5));
  }

  void theProposalOpensAsAnExperiment() {
    const json original = {
        {"title", "three layers"},
        {"dataset", {{"name", "moons"}, {"train_size", 64}, {"test_size", 32}}},
        {"network", {{"layers", json::array({{{"type", "linear"}, {"out", 8}}, {{"type", "relu"}},
                                             {{"type", "linear"}, {"out", 2}}})}}},
        {"steps", 5}};
    const Experiment parsed = parseExperiment(original);
    Advice a;
    a.layers = {{0, "layers[0] linear", Precision::fp8_e4m3, false, "fits"},
                {1, "layers[1] relu", Precision::bf16, false, "fits"},
                {2, "layers[2] linear", Precision::fp16, true, "with loss scaling"}};
    a.usesFp8 = a.needsLossScaling = true;
    const std::string table = adviceTable(parsed.network, a);
    QVERIFY2(table.find("layers[2] linear  fp32 -> fp16") != std::string::npos, table.c_str());
    const Experiment proposal = parseExperiment(proposedExperiment(original, a, table));
    QCOMPARE(name(proposal.network.layers[0].precision), QStringLiteral("fp8_e4m3"));
    QCOMPARE(name(proposal.network.layers[1].precision), QStringLiteral("bf16"));
    QCOMPARE(name(proposal.network.layers[2].precision), QStringLiteral("fp16"));
    QVERIFY(proposal.lossScaling.mode == LossScaleMode::dynamic);
    QVERIFY(proposal.fp8.scaling == Fp8Scaling::delayed);
    QCOMPARE(proposal.title, std::string("three layers (advised)"));
    QVERIFY(proposal.description.find(table) != std::string::npos);
  }

  void theProbeIsFp32WithStatistics() {
    Experiment e;
    e.title = "x";
    e.network = linears(3);
    e.network.layers[1].precision = Precision::fp16;
    e.lossScaling = LossScaleRule{LossScaleMode::dynamic};
    e.shadowStats = true;
    const Experiment p = probeExperiment(e, 300);
    for (const LayerSpec& l : p.network.layers) QCOMPARE(name(l.precision), QStringLiteral("fp32"));
    QVERIFY(p.lossScaling.mode == LossScaleMode::none);
    QVERIFY(!p.shadowStats);
    QCOMPARE(p.steps, std::int64_t(300));
    QCOMPARE(p.epochs, 0);
    QCOMPARE(p.statsInterval, 15);
  }
};

QTEST_APPLESS_MAIN(TestPrecisionAdvisor)
#include "tst_precision_advisor.moc"
