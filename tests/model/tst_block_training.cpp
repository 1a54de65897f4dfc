// Block-scaled training and stochastic rounding in the model (docs/architecture.md,
// "Block-scaled training", "Stochastic rounding"), on the real CPU backend:
// - a linear layer in a block format holds bf16 and reads each product's inputs
//   block-quantised along that product's reduction dimension: y, dW and dx equal the
//   backend's products of operands quantised by hand (numerics/block_format.h), bit for
//   bit, for 1d blocks, 2d tiles and one scale per tensor; block_backward false leaves
//   the backward products in bf16;
// - the memory accounting counts the weights in the block format, scales included;
// - the experiment reader takes the new keys and refuses them where they change nothing;
// - stochastic rounding of a weight update without master weights: reproducible from the
//   seed, and small updates that rounding to nearest drops move the weights on average;
//   stochastically rounded gradients are neighbours of the nearest ones.
#include <QtTest>

#include <cmath>

#include "model/rng.h"
#include "model_test_util.h"
#include "numerics/block_format.h"
#include "numerics/convert.h"

using namespace plab;
using namespace plab::test;

namespace {

std::vector<float> randomValues(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  detail::SplitMix64 rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.symmetric(scale) * std::ldexp(1.0f, int(rng.next() % 8) - 4);
  return v;
}

std::vector<float> roundAll(Precision p, std::vector<float> v) {
  for (auto& x : v) x = roundTo(p, x);
  return v;
}

std::vector<float> quantisedMatrix(Precision p, BlockLayout layout, std::vector<float> v, std::int64_t rows) {
  quantiseDequantiseMatrix(p, layout, v.data(), v.data(), std::size_t(rows), v.size() / std::size_t(rows));
  return v;
}

void compareBits(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  QCOMPARE(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (bitsOf(got[i]) != bitsOf(want[i]))
      QFAIL(qPrintable(QString("%1[%2]: got %3, want %4").arg(what).arg(i).arg(got[i]).arg(want[i])));
  }
}

std::string linearJson(const std::string& precision, const std::string& extra = "") {
  return "[{\"type\": \"linear\", \"out\": 8, \"precision\": \"" + precision + "\"" + extra + "}]";
}

// The error message of an experiment whose first layer is `layer` (JSON object text).
QString layerError(const std::string& layer) {
  try {
    networkFromJson("[" + layer + ", {\"type\": \"linear\", \"out\": 2}]");
  } catch (const ExperimentError& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

struct Layouts {
  BlockLayout xForward, wForward, dyWeightGrad, xWeightGrad, dyInputGrad, wInputGrad;
};

}  // namespace

class TestBlockTraining : public QObject {
  Q_OBJECT

 private slots:
  void productsReadBlockQuantisedInputs_data() {
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("scaling");
    for (const char* f : {"mxfp4", "mxfp8_e4m3", "nvfp4"})
      for (const char* s : {"1d", "2d", "tensor"}) QTest::newRow((std::string(f) + "/" + s).c_str()) << f << s;
  }
  void productsReadBlockQuantisedInputs() {
    QFETCH(QString, format);
    QFETCH(QString, scaling);
    const Precision p = *parsePrecision(format.toStdString());
    const std::string s = scaling.toStdString();
    const Layouts l = s == "1d" ? Layouts{BlockLayout::rows, BlockLayout::rows, BlockLayout::columns,
                                          BlockLayout::columns, BlockLayout::rows, BlockLayout::columns}
                    : s == "2d" ? Layouts{BlockLayout::rows, BlockLayout::tiles, BlockLayout::columns,
                                          BlockLayout::columns, BlockLayout::rows, BlockLayout::tiles}
                                : Layouts{BlockLayout::tensor, BlockLayout::tensor, BlockLayout::tensor,
                                          BlockLayout::tensor, BlockLayout::tensor, BlockLayout::tensor};
    auto backend = cpuBackend();
    constexpr std::int64_t n = 40, in = 96, out = 8;
    Network net(networkFromJson(linearJson(format.toStdString(), ", \"block_scaling\": \"" + s + "\"")), Shape{in},
                *backend, 7, true);
    net.setInputGradientEnabled(true);
    const std::vector<float> xs = randomValues(std::size_t(n * in), 1);
    const Tensor x = upload(*backend, xs, Shape{n, in});
    const std::vector<float> y = download(*backend, net.forward(x, true, 1));
    const std::vector<float> dys = randomValues(std::size_t(n * out), 2, 1e-2f);
    net.backward(upload(*backend, dys, Shape{n, out}, Precision::bf16));

    // The layer holds bf16: the input, its weights and the gradient arrive in bf16.
    ParamSlot& w = net.parameters()[0];
    ParamSlot& b = net.parameters()[1];
    QCOMPARE(formatName(w.working.precision()), QString("bf16"));
    const std::vector<float> xb = roundAll(Precision::bf16, xs);
    const std::vector<float> wb = download(*backend, w.working);
    const std::vector<float> dyb = roundAll(Precision::bf16, dys);

    Tensor yWant = backend->empty(Shape{n, out}, Precision::bf16);
    backend->linear(upload(*backend, quantisedMatrix(p, l.xForward, xb, n), Shape{n, in}),
                    upload(*backend, quantisedMatrix(p, l.wForward, wb, out), Shape{out, in}), &b.working, yWant);
    compareBits(y, download(*backend, yWant), "y");

    Tensor dwWant = backend->empty(Shape{out, in}, Precision::bf16);
    backend->gemm(true, false, 1.0f, upload(*backend, quantisedMatrix(p, l.dyWeightGrad, dyb, n), Shape{n, out}),
                  upload(*backend, quantisedMatrix(p, l.xWeightGrad, xb, n), Shape{n, in}), 0.0f, dwWant);
    compareBits(download(*backend, w.grad), download(*backend, dwWant), "dW");

    Tensor dxWant = backend->empty(Shape{n, in}, Precision::bf16);
    backend->gemm(false, false, 1.0f, upload(*backend, quantisedMatrix(p, l.dyInputGrad, dyb, n), Shape{n, out}),
                  upload(*backend, quantisedMatrix(p, l.wInputGrad, wb, out), Shape{out, in}), 0.0f, dxWant);
    compareBits(download(*backend, net.inputGradient()), download(*backend, dxWant), "dx");

    // And the quantisation did something: the plain bf16 product differs.
    Tensor yPlain = backend->empty(Shape{n, out}, Precision::bf16);
    backend->linear(upload(*backend, xb, Shape{n, in}, Precision::bf16), w.working, &b.working, yPlain);
    QVERIFY(download(*backend, yPlain) != y);
  }

  void blockBackwardFalseLeavesTheBackwardInBf16() {
    auto backend = cpuBackend();
    constexpr std::int64_t n = 16, in = 64, out = 8;
    Network net(networkFromJson(linearJson("mxfp4", ", \"block_backward\": false")), Shape{in}, *backend, 3, true);
    const std::vector<float> xs = randomValues(std::size_t(n * in), 4);
    net.forward(upload(*backend, xs, Shape{n, in}), true, 1);
    const std::vector<float> dys = roundAll(Precision::bf16, randomValues(std::size_t(n * out), 5, 1e-2f));
    net.backward(upload(*backend, dys, Shape{n, out}, Precision::bf16));
    Tensor dwWant = backend->empty(Shape{out, in}, Precision::bf16);
    backend->gemm(true, false, 1.0f, upload(*backend, dys, Shape{n, out}),
                  upload(*backend, roundAll(Precision::bf16, xs), Shape{n, in}), 0.0f, dwWant);
    compareBits(download(*backend, net.parameters()[0].grad), download(*backend, dwWant), "dW");
  }

  void memoryCountsTheBlockFormat() {
    auto backend = cpuBackend();
    Network block(networkFromJson(linearJson("mxfp4")), Shape{64}, *backend, 1, true);
    Network half(networkFromJson(linearJson("bf16")), Shape{64}, *backend, 1, true);
    // 8 x 64 weights: 512 values of 4 bits and 16 e8m0 scales, 272 bytes; 8 bias values
    // in one short block, 4 + 1 bytes. bf16: 1024 + 16 bytes.
    QCOMPARE(block.memoryUse(1).weights, std::int64_t(tensorBytes(Precision::mxfp4, 512) + tensorBytes(Precision::mxfp4, 8)));
    QCOMPARE(block.memoryUse(1).weights, std::int64_t(272 + 5));
    QCOMPARE(half.memoryUse(1).weights, std::int64_t(1040));
    QCOMPARE(block.memoryUse(1).gradients, half.memoryUse(1).gradients);  // gradients are bf16
  }

  void readerTakesTheKeysAndRefusesThemWhereTheyChangeNothing() {
    const NetworkSpec net = networkFromJson(linearJson("nvfp4", ", \"block_scaling\": \"2d\", \"block_backward\": false, \"rounding\": \"stochastic\""));
    QCOMPARE(formatName(net.layers[0].precision), QString("nvfp4"));
    QVERIFY(net.layers[0].blockScaling == BlockScaling::tiles2d);
    QVERIFY(!net.layers[0].blockBackward);
    QVERIFY(net.layers[0].rounding == Rounding::stochastic);
    QVERIFY(parseExperiment(toJson(Experiment{.dataset = {{"name", "spirals"}}, .network = net})).network == net);

    QString e = layerError("{\"type\": \"conv2d\", \"out_channels\": 4, \"precision\": \"mxfp4\"}");
    QVERIFY2(e.contains("network.layers[0].precision") && e.contains("conv2d"), qPrintable(e));
    e = layerError("{\"type\": \"linear\", \"out\": 4, \"precision\": \"fp16\", \"block_scaling\": \"2d\"}");
    QVERIFY2(e.contains("network.layers[0].block_scaling") && e.contains("fp16"), qPrintable(e));
    e = layerError("{\"type\": \"linear\", \"out\": 4, \"precision\": \"bf16\", \"block_backward\": false}");
    QVERIFY2(e.contains("network.layers[0].block_backward"), qPrintable(e));
    e = layerError("{\"type\": \"linear\", \"out\": 4, \"rounding\": \"stochastic\"}");
    QVERIFY2(e.contains("network.layers[0].rounding") && e.contains("fp32"), qPrintable(e));
    e = layerError("{\"type\": \"linear\", \"out\": 4, \"precision\": \"fp8_e4m3\", \"rounding\": \"stochastic\"}");
    QVERIFY2(e.contains("network.layers[0].rounding") && e.contains("fp8"), qPrintable(e));
    e = layerError("{\"type\": \"linear\", \"out\": 4, \"rounding\": \"sometimes\"}");
    QVERIFY2(e.contains("network.layers[0].rounding") && e.contains("stochastic"), qPrintable(e));
    // An activation layer in a block format holds bf16 like its neighbours.
    QCOMPARE(formatName(forwardFormatOf(Precision::mxfp4, Fp8Settings{})), QString("bf16"));
    QVERIFY(networkFromJson("[{\"type\": \"linear\", \"out\": 4, \"precision\": \"mxfp4\"}, {\"type\": \"relu\", \"precision\": \"mxfp4\"}, {\"type\": \"linear\", \"out\": 2}]").layers.size() == 3);
  }

  void stochasticUpdatesWithoutMasterWeights() {
    // SGD with a rate so small that every update is far below half a bf16 ulp: to
    // nearest the weights never move; stochastically they drift by the exact updates on
    // average, and the same seed gives the same bits.
    const auto run = [](const std::string& rounding, std::uint64_t seed) {
      auto backend = cpuBackend();
      Network net(networkFromJson(linearJson("bf16", ", \"rounding\": \"" + rounding + "\"")), Shape{64}, *backend,
                  seed, false);
      net.allocateOptimizerState(OptimizerKind::sgd);
      auto params = net.parameters();
      const std::vector<float> before = download(*backend, params[0].working);
      for (ParamSlot& p : params) backend->fill(p.grad, 1.0f);
      LossScaleRule none;
      none.mode = LossScaleMode::none;
      auto st = backend->createStepState(none, int(params.size()));
      OptimizerHyper h;
      h.kind = OptimizerKind::sgd;
      h.lr = 1e-5f;
      std::vector<Tensor> grads;
      for (ParamSlot& p : params) grads.push_back(p.grad);
      for (int k = 1; k <= 1000; ++k) {
        backend->checkGradients(grads, *st);
        backend->optimizerStep(h, params, *st);
        backend->updateLossScale(*st, k);
      }
      backend->drainStepRecords(*st);
      const std::vector<float> after = download(*backend, params[0].working);
      // The weights of magnitude 1/32 or more: there half an ulp is at least 2^-13, far
      // above an update of 1e-5, and 1000 updates never take them below 1/64.
      double drift = 0;
      int counted = 0;
      for (std::size_t i = 0; i < after.size(); ++i) {
        if (std::fabs(before[i]) < 1.0f / 32.0f) continue;
        drift += double(after[i]) - before[i];
        ++counted;
      }
      return std::make_pair(after, drift / double(counted));
    };
    const auto nearest = run("nearest", 11);
    const auto stochastic = run("stochastic", 11);
    const auto again = run("stochastic", 11);
    QCOMPARE(nearest.second, 0.0);  // every update vanished
    // 1000 steps of -1e-5: -0.01 on average. A weight's drift has a standard deviation of
    // at most sqrt(1000) * 2^-12 (ulp 2^-11 below 1/8), 0.008; the mean of ~380 weights
    // 0.0004: the bound is five of those.
    QVERIFY2(std::fabs(stochastic.second - (-0.01)) < 0.002, qPrintable(QString::number(stochastic.second)));
    compareBits(again.first, stochastic.first, "reproducible weights");
  }

  void stochasticGradientsAreNeighboursOfTheNearestOnes() {
    auto backend = cpuBackend();
    constexpr std::int64_t n = 32, in = 64, out = 8;
    const std::vector<float> xs = randomValues(std::size_t(n * in), 6);
    const std::vector<float> dys = randomValues(std::size_t(n * out), 7, 1e-2f);
    std::vector<std::vector<float>> grads;
    for (const char* rounding : {"nearest", "stochastic", "stochastic"}) {
      Network net(networkFromJson(linearJson("bf16", std::string(", \"rounding\": \"") + rounding + "\"")), Shape{in},
                  *backend, 5, true);
      net.forward(upload(*backend, xs, Shape{n, in}), true, 3);
      net.backward(upload(*backend, dys, Shape{n, out}, Precision::bf16));
      grads.push_back(download(*backend, net.parameters()[0].grad));
    }
    compareBits(grads[2], grads[1], "the same seed and step");
    int differ = 0;
    for (std::size_t i = 0; i < grads[0].size(); ++i) {
      const float a = grads[0][i], s = grads[1][i];
      if (a == s) continue;
      ++differ;
      // one bf16 step apart: the two neighbours of the fp32 value
      const float gap = std::fabs(a) * 0.0078125f * 2.0f;
      QVERIFY2(std::fabs(a - s) <= gap, qPrintable(QString("dW[%1]: %2 against %3").arg(i).arg(s).arg(a)));
    }
    QVERIFY2(differ > 20, qPrintable(QString::number(differ)));  // about half of 512 round the other way
  }
};

QTEST_APPLESS_MAIN(TestBlockTraining)
#include "tst_block_training.moc"
