// Per-layer precision really applied: outputs, weights and gradients stored in the
// layer's format, conversions between layers, batch-norm parameters in fp32, fp8
// formats, statistics of the rounding, and master weights on/off through the real
// CPU backend's optimizer step.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "model/rng.h"
#include "model_test_util.h"
#include "numerics/convert.h"

using namespace plab;
using namespace plab::test;

namespace {

std::vector<float> randomValues(std::int64_t n, float bound, std::uint64_t seed) {
  detail::SplitMix64 rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = rng.symmetric(bound);
  return v;
}

// Every value is exactly representable in p (round-trips bit for bit).
void verifyRepresentable(const QString& what, Precision p, const std::vector<float>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float r = roundTo(p, values[i]);
    if (bitsOf(r) != bitsOf(values[i])) {
      QFAIL(qPrintable(QString("%1[%2] = %3 (0x%4) is not a %5 value (nearest 0x%6)")
                           .arg(what).arg(i).arg(values[i], 0, 'g', 9).arg(bitsOf(values[i]), 8, 16, QChar('0'))
                           .arg(QString::fromLatin1(toString(p).data())).arg(bitsOf(r), 8, 16, QChar('0'))));
    }
  }
}

struct SgdRun {
  std::vector<float> start, workingBefore, workingAfter, masterAfter;
};

// A 4 -> 1 fp16 linear layer without bias whose weights all lie in [0.25, 0.5),
// where the fp16 ulp is 2^-12 (half an ulp ~1.22e-4), trained with plain SGD at
// lr 1e-4 on a gradient of exactly 1 per weight: each update (1e-4) is below half
// an ulp of the weight.
SgdRun runTinySgdUpdates(bool masterWeights, int steps) {
  auto backend = cpuBackend();
  Network net(networkFromJson(R"([{"type": "linear", "out": 1, "bias": false, "precision": "fp16"}])"),
              Shape{4}, *backend, 1, masterWeights);
  net.allocateOptimizerState(OptimizerKind::sgd);
  ParamSlot& w = net.parameters()[0];
  const std::vector<float> start{0.3f, 0.4f, 0.26f, 0.45f};
  backend->upload(start.data(), w.working);
  if (masterWeights) backend->upload(start.data(), w.master);
  SgdRun run;
  run.start = start;
  run.workingBefore = download(*backend, w.working);
  const Tensor x = upload(*backend, {1, 1, 1, 1}, Shape{1, 4});
  const Tensor dy = upload(*backend, {1}, Shape{1, 1}, Precision::fp16);
  LossScaleRule none;
  none.mode = LossScaleMode::none;
  auto state = backend->createStepState(none, 1);
  OptimizerHyper sgd;
  sgd.kind = OptimizerKind::sgd;
  sgd.lr = 1e-4f;
  for (int step = 1; step <= steps; ++step) {
    net.forward(x, true, step);
    net.backward(dy);
    const auto grads = net.gradientsInBackwardOrder();
    backend->checkGradients(grads, *state);
    backend->optimizerStep(sgd, net.parameters(), *state);
    backend->updateLossScale(*state, step);
  }
  run.workingAfter = download(*backend, w.working);
  if (masterWeights) run.masterAfter = download(*backend, w.master);
  return run;
}

}  // namespace

class LayerPrecision : public QObject {
  Q_OBJECT

 private slots:
  void linearOutputIsInTheLayerFormat_data() {
    QTest::addColumn<QString>("precision");
    QTest::newRow("fp16") << "fp16";
    QTest::newRow("bf16") << "bf16";
    QTest::newRow("tf32") << "tf32";
  }

  void linearOutputIsInTheLayerFormat() {
    QFETCH(QString, precision);
    const Precision p = *parsePrecision(precision.toStdString());
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "linear", "out": 16, "precision": ")" + precision.toStdString() + R"("}])"),
                Shape{32}, *backend, 5, true);
    // fp32 input values that are not representable in p: the layer must round them.
    const Tensor x = upload(*backend, randomValues(8 * 32, 3.0f, 9), Shape{8, 32});
    const Tensor& y = net.forward(x, true, 1);
    QCOMPARE(formatName(y.precision()), formatName(p));
    const std::vector<float> out = download(*backend, y);
    verifyRepresentable("output", p, out);
    verifyRepresentable("weight", p, download(*backend, net.parameters()[0].working));
    verifyRepresentable("bias", p, download(*backend, net.parameters()[1].working));
    // The master copy keeps fp32 values that p cannot hold.
    const std::vector<float> master = download(*backend, net.parameters()[0].master);
    int notInFormat = 0;
    for (float m : master) notInFormat += roundTo(p, m) != m;
    QVERIFY2(notInFormat > int(master.size()) / 2, "the fp32 master copy should not be rounded");
    // And the value is the product of the rounded operands, rounded once: within
    // half an ulp of p (plus fp32 summation noise) of the double-precision result.
    const std::vector<float> xs = download(*backend, x);
    const std::vector<float> w = download(*backend, net.parameters()[0].working);
    const std::vector<float> b = download(*backend, net.parameters()[1].working);
    const double eps = formatInfo(p).epsilon;
    for (int n = 0; n < 8; ++n) {
      for (int o = 0; o < 16; ++o) {
        double ref = b[std::size_t(o)];
        for (int i = 0; i < 32; ++i) ref += double(roundTo(p, xs[std::size_t(n * 32 + i)])) * w[std::size_t(o * 32 + i)];
        const double got = out[std::size_t(n * 16 + o)];
        QVERIFY2(std::fabs(got - ref) <= 0.5 * eps * std::fabs(ref) * 1.0001 + 1e-5,
                 qPrintable(QString("y[%1,%2] = %3, double reference %4").arg(n).arg(o).arg(got, 0, 'g', 9).arg(ref, 0, 'g', 9)));
      }
    }
  }

  void gradientsAreInTheLayerFormat() {
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "linear", "out": 8, "precision": "fp32"}, {"type": "relu", "precision": "fp16"},
                                    {"type": "linear", "out": 3, "precision": "bf16"}])"),
                Shape{6}, *backend, 5, true);
    QCOMPARE(formatName(net.outputPrecision()), formatName(Precision::bf16));
    QCOMPARE(formatName(net.outputGradPrecision()), formatName(Precision::bf16));
    const Tensor x = upload(*backend, randomValues(4 * 6, 2.0f, 1), Shape{4, 6});
    net.forward(x, true, 1);
    // An fp32 output gradient is converted into bf16 on entry.
    net.backward(upload(*backend, randomValues(4 * 3, 1.0f, 2), Shape{4, 3}));
    auto params = net.parameters();
    QCOMPARE(formatName(params[0].working.precision()), formatName(Precision::fp32));
    QCOMPARE(formatName(params[2].working.precision()), formatName(Precision::bf16));
    QCOMPARE(formatName(params[2].grad.precision()), formatName(Precision::bf16));
    verifyRepresentable("layers[2].weight grad", Precision::bf16, download(*backend, params[2].grad));
    verifyRepresentable("layers[2].bias grad", Precision::bf16, download(*backend, params[3].grad));
  }

  void batchNormParametersStayFp32() {
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "batchnorm1d", "precision": "fp16"}])"), Shape{4}, *backend, 1, false);
    for (const auto& slot : net.parameters()) {
      QCOMPARE(formatName(slot.working.precision()), formatName(Precision::fp32));
      QCOMPARE(formatName(slot.grad.precision()), formatName(Precision::fp32));
      QVERIFY(!slot.master.defined());  // master weights off
    }
    const Tensor& y = net.forward(upload(*backend, randomValues(5 * 4, 3.0f, 4), Shape{5, 4}), true, 1);
    QCOMPARE(formatName(y.precision()), formatName(Precision::fp16));
    verifyRepresentable("output", Precision::fp16, download(*backend, y));
  }

  void fp8LayersUseForwardAndBackwardFormats() {
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "linear", "out": 4, "precision": "fp8_e4m3"}])"), Shape{8}, *backend, 1,
                true, Fp8Settings{});
    const ParamSlot& w = net.parameters()[0];
    QCOMPARE(formatName(w.working.precision()), formatName(Precision::fp8_e4m3));
    QCOMPARE(formatName(w.grad.precision()), formatName(Precision::fp8_e5m2));
    // The loss gradient arrives in fp32 and is rounded into E5M2 by the network,
    // with a scale the network maintains.
    QCOMPARE(formatName(net.outputGradPrecision()), formatName(Precision::fp32));
    QVERIFY(w.working.scale() != nullptr);
    // The weights' scale was derived from their amax at creation, not left at 1.
    QVERIFY2(backend->fp8Scale(w.working) != 1.0f, qPrintable(QString("scale %1").arg(backend->fp8Scale(w.working))));
    const Tensor x = upload(*backend, randomValues(2 * 8, 1.0f, 3), Shape{2, 8});
    const Tensor& y = net.forward(x, true, 1);
    QCOMPARE(formatName(y.precision()), formatName(Precision::fp8_e4m3));
    net.backward(upload(*backend, randomValues(2 * 4, 0.01f, 5), y.shape()));
    const std::vector<float> dw = download(*backend, w.grad);
    int nonzero = 0;
    for (float v : dw) nonzero += v != 0.0f && std::isfinite(v);
    QVERIFY2(nonzero > int(dw.size()) / 2, qPrintable(QString("%1 of %2 weight gradients nonzero").arg(nonzero).arg(dw.size())));
    // Logical fp8 weights stay close to the fp32 master (E4M3 keeps 3 mantissa bits).
    const std::vector<float> working = download(*backend, w.working), master = download(*backend, w.master);
    for (std::size_t i = 0; i < working.size(); ++i) {
      QVERIFY2(std::fabs(working[i] - master[i]) <= 0.0625f * std::fabs(master[i]) + 1e-6f,
               qPrintable(QString("w[%1] %2 vs master %3").arg(i).arg(working[i]).arg(master[i])));
    }
  }

  void masterWeightsOffLoseUpdatesBelowHalfAnUlp() {
    const SgdRun off = runTinySgdUpdates(false, 20);
    for (std::size_t i = 0; i < off.workingBefore.size(); ++i) {
      QVERIFY2(bitsOf(off.workingAfter[i]) == bitsOf(off.workingBefore[i]),
               qPrintable(QString("w[%1] moved from %2 to %3 though each update was below half an fp16 ulp")
                              .arg(i).arg(off.workingBefore[i], 0, 'g', 9).arg(off.workingAfter[i], 0, 'g', 9)));
    }
  }

  void masterWeightsOnAccumulateTheSameUpdates() {
    const SgdRun on = runTinySgdUpdates(true, 20);
    for (std::size_t i = 0; i < on.workingBefore.size(); ++i) {
      // 20 steps of 1e-4: the fp32 master moved by 2e-3 (about 8 fp16 ulps here).
      QVERIFY2(std::fabs(on.masterAfter[i] - (on.start[i] - 20 * 1e-4f)) < 1e-6f,
               qPrintable(QString("master[%1] = %2").arg(i).arg(on.masterAfter[i], 0, 'g', 9)));
      QCOMPARE(bitsOf(on.workingAfter[i]), bitsOf(roundTo(Precision::fp16, on.masterAfter[i])));
      QVERIFY(on.workingAfter[i] != on.workingBefore[i]);
    }
  }

  void statisticsRecordUnderflowInTheLayerFormat() {
    auto backend = cpuBackend();
    // Tiny weights and inputs: the products (~1e-9) are below fp16's smallest
    // subnormal (2^-24 ~ 6e-8), so rounding the output to fp16 flushes them to zero.
    Network net(networkFromJson(R"([{"type": "linear", "out": 8, "bias": false, "init_gain": 0.00001, "precision": "fp16"}])"),
                Shape{16}, *backend, 3, true);
    const Tensor x = upload(*backend, randomValues(4 * 16, 0.001f, 8), Shape{4, 16});
    const std::vector<float> plain = download(*backend, net.forward(x, true, 1));
    net.setStatsEnabled(true);
    net.setSamplesEnabled(true);
    const std::vector<float> withStats = download(*backend, net.forward(x, true, 2));
    net.backward(upload(*backend, randomValues(4 * 8, 1.0f, 9), Shape{4, 8}, Precision::fp16));
    const auto records = net.takeStats(2);
    QCOMPARE(records.size(), std::size_t(2));
    const LayerStatsRecord& act = records[0];
    QCOMPARE(int(act.kind), int(StatsKind::activation));
    QCOMPARE(act.layerName, std::string("layers[0] linear"));
    QCOMPARE(act.precision, std::string("fp16"));
    QCOMPARE(act.step, std::int64_t(2));
    QCOMPARE(act.stats.count, std::int64_t(4 * 8));
    QVERIFY2(act.underflowShare() > 0.9, qPrintable(QString("underflow share %1").arg(act.underflowShare())));
    QCOMPARE(int(records[1].kind), int(StatsKind::gradient));
    QCOMPARE(records[1].stats.count, std::int64_t(8 * 16));  // the weight gradient (no input gradient for layer 0)
    // Statistics do not change a single bit of the result.
    for (std::size_t i = 0; i < plain.size(); ++i) QCOMPARE(bitsOf(withStats[i]), bitsOf(plain[i]));
    // The sample is the output's first values before rounding: all 32 here (fewer than
    // kStatsSampleValues), each rounding to nearest into fp16 as the output itself.
    QCOMPARE(act.sample.size(), std::size_t(4 * 8));
    for (std::size_t i = 0; i < act.sample.size(); ++i)
      QCOMPARE(bitsOf(roundTo(Precision::fp16, act.sample[i])), bitsOf(withStats[i]));
    QCOMPARE(records[1].sample.size(), std::size_t(kStatsSampleValues));  // 128 weight-gradient values: the first 64
    QVERIFY(net.takeStats(3).empty());
    // Statistics without samples: the same figures, no values kept.
    net.setSamplesEnabled(false);
    net.forward(x, true, 4);
    const auto unsampled = net.takeStats(4);
    QCOMPARE(unsampled.size(), std::size_t(1));
    QCOMPARE(unsampled[0].stats.count, act.stats.count);
    QVERIFY(unsampled[0].sample.empty());
  }

  void gradientOrderNamesTheLastLayerFirst() {
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "linear", "out": 4}, {"type": "relu"}, {"type": "batchnorm1d"},
                                    {"type": "linear", "out": 2, "bias": false}])"),
                Shape{3}, *backend, 1, true);
    const std::vector<std::string> names = net.gradientLayerNamesInBackwardOrder();
    const std::vector<std::string> expected{"layers[3] linear", "layers[2] batchnorm1d", "layers[2] batchnorm1d",
                                            "layers[0] linear", "layers[0] linear"};
    QCOMPARE(names, expected);
    QCOMPARE(net.gradientsInBackwardOrder().size(), expected.size());
    QCOMPARE(net.gradientsInBackwardOrder()[0].data(), net.parameters()[4].grad.data());
  }

  void sameSeedSameWeights() {
    auto backend = cpuBackend();
    const NetworkSpec spec = networkFromJson(R"([{"type": "conv2d", "out_channels": 4}, {"type": "flatten"},
                                                 {"type": "linear", "out": 3}])");
    Network a(spec, Shape{1, 6, 6}, *backend, 42, true), b(spec, Shape{1, 6, 6}, *backend, 42, true),
        c(spec, Shape{1, 6, 6}, *backend, 43, true);
    for (std::size_t i = 0; i < a.parameters().size(); ++i) {
      const auto wa = download(*backend, a.parameters()[i].working);
      QVERIFY(wa == download(*backend, b.parameters()[i].working));
      QVERIFY(wa != download(*backend, c.parameters()[i].working));
    }
    // PyTorch's default bound: 1/sqrt(fan_in) = 1/3 for the 3x3 single-channel conv.
    for (float v : download(*backend, a.parameters()[0].working)) QVERIFY(std::fabs(v) <= 1.0f / 3.0f);
  }

  // Seeded and reproducible: two networks from the same seed, trained on the same
  // batches (dropout and batch norm included), produce the same bits at every step.
  void sameSeedSameTrajectoryBitForBit() {
    const NetworkSpec spec = networkFromJson(R"([{"type": "conv2d", "out_channels": 4, "padding": 1, "precision": "fp16"},
        {"type": "batchnorm2d", "precision": "fp16"}, {"type": "relu", "precision": "fp16"}, {"type": "maxpool2d"},
        {"type": "flatten"}, {"type": "dropout", "p": 0.3, "precision": "bf16"}, {"type": "linear", "out": 3, "precision": "bf16"}])");
    std::vector<std::vector<float>> outputs[2];
    for (int copy = 0; copy < 2; ++copy) {
      auto backend = cpuBackend();
      Network net(spec, Shape{1, 6, 6}, *backend, 99, true);
      net.allocateOptimizerState(OptimizerKind::adam);
      LossScaleRule none;
      none.mode = LossScaleMode::none;
      auto state = backend->createStepState(none, int(net.gradientsInBackwardOrder().size()));
      for (int step = 1; step <= 4; ++step) {
        const Tensor x = upload(*backend, randomValues(5 * 36, 1.0f, 100 + step), Shape{5, 1, 6, 6});
        const Tensor& y = net.forward(x, true, step);
        outputs[copy].push_back(download(*backend, y));
        net.backward(upload(*backend, randomValues(5 * 3, 1.0f, 200 + step), y.shape(), net.outputGradPrecision()));
        backend->checkGradients(net.gradientsInBackwardOrder(), *state);
        backend->optimizerStep(OptimizerHyper{}, net.parameters(), *state);
        backend->updateLossScale(*state, step);
      }
    }
    for (std::size_t step = 0; step < outputs[0].size(); ++step) {
      for (std::size_t i = 0; i < outputs[0][step].size(); ++i) {
        QVERIFY2(bitsOf(outputs[0][step][i]) == bitsOf(outputs[1][step][i]),
                 qPrintable(QString("step %1 output %2: 0x%3 vs 0x%4").arg(step + 1).arg(i)
                                .arg(bitsOf(outputs[0][step][i]), 8, 16, QChar('0'))
                                .arg(bitsOf(outputs[1][step][i]), 8, 16, QChar('0'))));
      }
    }
    QVERIFY(outputs[0][0] != outputs[0][3]);  // and it did train
  }

  void timingCoversEveryLayer() {
    auto backend = cpuBackend();
    Network net(networkFromJson(R"([{"type": "linear", "out": 64}, {"type": "relu"}, {"type": "linear", "out": 2}])"),
                Shape{32}, *backend, 1, true);
    net.setTimingEnabled(true);
    const Tensor x = upload(*backend, randomValues(16 * 32, 1.0f, 1), Shape{16, 32});
    for (int step = 1; step <= 3; ++step) {
      const Tensor& y = net.forward(x, true, step);
      net.backward(upload(*backend, randomValues(16 * 2, 1.0f, 2), y.shape()));
    }
    const auto timings = net.layerTimings();
    QCOMPARE(timings.size(), std::size_t(3));
    QCOMPARE(timings[1].layerName, std::string("layers[1] relu"));
    double total = 0;
    for (const auto& t : timings) {
      QVERIFY(t.forwardMs >= 0 && t.backwardMs >= 0);
      total += t.forwardMs + t.backwardMs;
    }
    QVERIFY(total > 0);
  }

  // Block-scaled formats (mxfp4, nvfp4, ...) train in linear layers and hold bf16
  // (docs/architecture.md, "Block-scaled training"): the CPU backend runs them, makes no
  // tensor of one, and a conv2d layer built in code in one is refused naming its key
  // (the reader refuses it too, tst_experiment.cpp).
  void blockScaledLayersHoldBf16() {
    const NetworkSpec parsed =
        networkFromJson(R"([{"type": "linear", "out": 4, "precision": "mxfp4"}, {"type": "relu", "precision": "nvfp4"}, {"type": "linear", "out": 2}])");
    auto backend = cpuBackend();
    Network net(parsed, Shape{3}, *backend, 1, true);
    QCOMPARE(formatName(net.parameters()[0].working.precision()), QString("bf16"));
    QCOMPARE(formatName(net.parameters()[0].grad.precision()), QString("bf16"));
    NetworkSpec spec = networkFromJson(R"([{"type": "conv2d", "out_channels": 2, "kernel": 1}, {"type": "flatten"}, {"type": "linear", "out": 2}])");
    spec.layers[0].precision = Precision::mxfp4;
    try {
      Network conv(spec, Shape{1, 2, 2}, *backend, 1, true);
      QFAIL("built an mxfp4 conv2d layer");
    } catch (const std::invalid_argument& e) {
      const QString message = QString::fromUtf8(e.what());
      QVERIFY2(message.startsWith("network.layers[0].precision: mxfp4 is block-scaled, and conv2d"), e.what());
    }
    std::string whyNot;
    for (Precision p : kBlockPrecisions) {
      QVERIFY(backend->supportsPrecision(p, whyNot));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, backend->empty(Shape{4}, p));
    }
  }
};

QTEST_GUILESS_MAIN(LayerPrecision)
#include "tst_precision.moc"
