// Accumulation in the layer's format (experiment key network.layers[].accumulate,
// docs/architecture.md "Accumulation"): the CPU backend's products round the running
// sum after every addition, the layers ask for it in all three products, and the
// forward product's error against fp64 is measured on statistics steps.
#include <QtTest>

#include <cmath>
#include <cstring>

#include "model/rng.h"
#include "model_test_util.h"
#include "numerics/convert.h"

using namespace plab;
using namespace plab::test;

namespace {

// n values in (0, 1) that are multiples of 1/64: exact in fp16 and bf16, and every
// partial sum of fewer than 2^17 of them is exact in fp32, so the sequential
// reference below rounds each addition exactly once.
std::vector<float> sixtyFourths(std::int64_t n, std::uint64_t seed) {
  detail::SplitMix64 rng(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = float(1 + int((rng.symmetric(1.0f) + 1.0f) * 31.0f)) / 64.0f;
  return v;
}

// The hand-written reference: sum = round_p(sum + x_k w_k), k = 0, 1, ...
float sequentialDot(Precision p, const float* x, const float* w, std::int64_t k) {
  float sum = 0;
  for (std::int64_t i = 0; i < k; ++i) sum = roundTo(p, sum + x[i] * w[i]);
  return sum;
}

std::vector<float> productOf(Backend& b, const Tensor& x, const Tensor& w, Precision p, Precision accumulate) {
  Tensor y = b.empty(Shape{x.shape()[0], w.shape()[0]}, p);
  AccumulationScope scope(b, accumulate);
  b.gemm(false, true, 1.0f, x, w, 0.0f, y);
  return download(b, y);
}

QString hex(float f) { return QString("0x%1").arg(bitsOf(f), 8, 16, QChar('0')); }

}  // namespace

class TestAccumulation : public QObject {
  Q_OBJECT

 private slots:
  // x [2, 8192] (row 0 all 1, row 1 all 0.75) times W [3, 8192]^T, W in (0, 1): the
  // fp32 sums (3000 to 4000) are exact; a running sum in fp16 stalls at 2048, where
  // its ulp (2) outgrows twice every term, and in bf16 much earlier.
  void cpuProductRoundsEveryAdditionInTheLayersFormat_data() {
    QTest::addColumn<Precision>("format");
    QTest::newRow("fp16") << Precision::fp16;
    QTest::newRow("bf16") << Precision::bf16;
  }
  void cpuProductRoundsEveryAdditionInTheLayersFormat() {
    QFETCH(Precision, format);
    constexpr std::int64_t k = 8192, rows = 2, outs = 3;
    auto backend = cpuBackend();
    const std::vector<float> ws = sixtyFourths(outs * k, 8);
    std::vector<float> xs(std::size_t(rows * k), 0.75f);
    std::fill_n(xs.begin(), k, 1.0f);
    const Tensor x = upload(*backend, xs, Shape{rows, k}, format), w = upload(*backend, ws, Shape{outs, k}, format);
    const std::vector<float> inFormat = productOf(*backend, x, w, format, format);
    const std::vector<float> inFp32 = productOf(*backend, x, w, format, Precision::fp32);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < outs; ++j) {
        const std::size_t o = std::size_t(i * outs + j);
        const float want = sequentialDot(format, xs.data() + i * k, ws.data() + j * k, k);
        if (bitsOf(inFormat[o]) != bitsOf(want))
          QFAIL(qPrintable(QString("y[%1][%2]: got %3 (%4), sequential reference %5 (%6)")
                               .arg(i).arg(j).arg(inFormat[o]).arg(hex(inFormat[o])).arg(want).arg(hex(want))));
        double exact = 0;
        for (std::int64_t l = 0; l < k; ++l) exact += double(xs[std::size_t(i * k + l)]) * ws[std::size_t(j * k + l)];
        QCOMPARE(inFp32[o], roundTo(format, float(exact)));  // fp32 accumulation: one rounding
        // Stalled: at least 10% under the exact sum (a sum ignoring the option is within 0.5%).
        if (!(inFormat[o] < 0.9 * exact))
          QFAIL(qPrintable(QString("y[%1][%2] = %3 in %4 sums, exact %5: no sign of accumulation in the format")
                               .arg(i).arg(j).arg(inFormat[o]).arg(formatName(format)).arg(exact)));
      }
  }

  // linear's bias is one more rounded addition after the sum (backend.h).
  void linearAddsTheBiasAsOneMoreRoundedAddition() {
    constexpr std::int64_t k = 1000;
    auto backend = cpuBackend();
    const std::vector<float> xs = sixtyFourths(k, 1), ws = sixtyFourths(k, 2), bias{0.7f};
    const Tensor x = upload(*backend, xs, Shape{1, k}, Precision::fp16);
    const Tensor w = upload(*backend, ws, Shape{1, k}, Precision::fp16);
    const Tensor b = upload(*backend, bias, Shape{1}, Precision::fp16);
    Tensor y = backend->empty(Shape{1, 1}, Precision::fp16);
    {
      AccumulationScope scope(*backend, Precision::fp16);
      backend->linear(x, w, &b, y);
    }
    const float sum = sequentialDot(Precision::fp16, xs.data(), ws.data(), k);
    QCOMPARE(download(*backend, y)[0], roundTo(Precision::fp16, sum + roundTo(Precision::fp16, 0.7f)));
    QCOMPARE(formatName(backend->accumulation()), formatName(Precision::fp32));  // the scope put fp32 back
  }

  // The layer passes the option to its products: the same fp16 network with a 2048-wide
  // input gives different outputs, and the measured fp64 error is larger.
  void linearLayerAccumulatesInItsFormatAndMeasuresTheFp64Error() {
    constexpr std::int64_t batch = 8, in = 2048;
    auto backend = cpuBackend();
    detail::SplitMix64 rng(3);
    std::vector<float> xs(std::size_t(batch * in));
    for (auto& v : xs) v = 0.5f + rng.symmetric(0.5f);  // positive: the sums grow
    const Tensor x = upload(*backend, xs, Shape{batch, in});
    auto run = [&](const char* accumulate, std::vector<LayerStatsRecord>& stats) {
      const std::string layers = std::string("[{\"type\": \"linear\", \"out\": 16, \"precision\": \"fp16\", \"accumulate\": \"") +
                                 accumulate + "\"}, {\"type\": \"relu\", \"precision\": \"fp16\"}]";
      Network net(networkFromJson(layers), Shape{in}, *backend, 5, true);
      net.setStatsEnabled(true);
      const std::vector<float> y = download(*backend, net.forward(x, true, 1));
      stats = net.takeStats(1);
      return y;
    };
    std::vector<LayerStatsRecord> fp32Stats, layerStats;
    const std::vector<float> yFp32 = run("fp32", fp32Stats), yLayer = run("layer", layerStats);
    int differ = 0;
    for (std::size_t i = 0; i < yFp32.size(); ++i) differ += bitsOf(yFp32[i]) != bitsOf(yLayer[i]) ? 1 : 0;
    QVERIFY2(differ > int(yFp32.size()) / 4, qPrintable(QString("only %1 of %2 outputs differ").arg(differ).arg(yFp32.size())));
    auto productError = [](const std::vector<LayerStatsRecord>& stats) {
      std::optional<double> error;
      for (const auto& r : stats) {
        const bool expected = r.layerIndex == 0 && r.kind == StatsKind::activation;
        if (expected != r.productRelError.has_value())
          qWarning("layer %d %s: product error %s", r.layerIndex, r.kind == StatsKind::activation ? "activation" : "gradient",
                   r.productRelError ? "present" : "missing");
        if (expected) error = r.productRelError;
        else if (r.productRelError) return std::optional<double>(-1.0);
      }
      return error;
    };
    const auto errFp32 = productError(fp32Stats), errLayer = productError(layerStats);
    QVERIFY(errFp32 && errLayer);
    QVERIFY2(*errFp32 >= 0 && *errFp32 < 1e-3, qPrintable(QString::number(*errFp32)));  // output rounding: ~2^-12
    QVERIFY2(*errLayer > 4 * *errFp32,
             qPrintable(QString("fp16 accumulation %1, fp32 %2").arg(*errLayer).arg(*errFp32)));
  }

  // Backward products too: the weight gradient of a fp16 layer differs with the option.
  void backwardProductsAccumulateInTheGradientFormat() {
    constexpr std::int64_t batch = 512, in = 4;
    auto backend = cpuBackend();
    detail::SplitMix64 rng(9);
    std::vector<float> xs(std::size_t(batch * in)), dys(std::size_t(batch * 2));
    for (auto& v : xs) v = 0.5f + rng.symmetric(0.5f);
    for (auto& v : dys) v = 0.5f + rng.symmetric(0.5f);
    const Tensor x = upload(*backend, xs, Shape{batch, in}), dy = upload(*backend, dys, Shape{batch, 2});
    auto weightGrad = [&](const char* accumulate) {
      const std::string layers = std::string("[{\"type\": \"linear\", \"out\": 2, \"precision\": \"fp16\", \"accumulate\": \"") +
                                 accumulate + "\"}]";
      Network net(networkFromJson(layers), Shape{in}, *backend, 5, true);
      net.forward(x, true, 1);
      net.backward(dy);
      return download(*backend, net.parameters()[0].grad);
    };
    const std::vector<float> gFp32 = weightGrad("fp32"), gLayer = weightGrad("layer");
    int differ = 0;
    for (std::size_t i = 0; i < gFp32.size(); ++i) differ += bitsOf(gFp32[i]) != bitsOf(gLayer[i]) ? 1 : 0;
    QVERIFY2(differ > 0, "dW = dy^T x over a batch of 512 is the same with and without fp16 accumulation");
  }

  // The option on a convolution: the fp16 forward differs and the fp64 error is measured.
  void conv2dLayerAccumulatesInItsFormat() {
    auto backend = cpuBackend();
    detail::SplitMix64 rng(4);
    std::vector<float> xs(2 * 64 * 6 * 6);
    for (auto& v : xs) v = 0.5f + rng.symmetric(0.5f);
    const Tensor x = upload(*backend, xs, Shape{2, 64, 6, 6});
    auto run = [&](const char* accumulate, std::optional<double>& error) {
      const std::string layers =
          std::string("[{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel\": 3, \"precision\": \"fp16\", \"accumulate\": \"") +
          accumulate + "\"}]";
      Network net(networkFromJson(layers), Shape{64, 6, 6}, *backend, 5, true);
      net.setStatsEnabled(true);
      const std::vector<float> y = download(*backend, net.forward(x, true, 1));
      for (const auto& r : net.takeStats(1))
        if (r.kind == StatsKind::activation) error = r.productRelError;
      return y;
    };
    std::optional<double> errFp32, errLayer;
    const std::vector<float> yFp32 = run("fp32", errFp32), yLayer = run("layer", errLayer);
    QVERIFY(yFp32 != yLayer);
    QVERIFY(errFp32 && errLayer);
    QVERIFY2(*errLayer > *errFp32, qPrintable(QString("%1 vs %2").arg(*errLayer).arg(*errFp32)));
  }

  void layerAccumulationNeedsAHalfPrecisionLayer_data() {
    QTest::addColumn<QString>("layer");
    QTest::addColumn<QString>("message");
    QTest::newRow("fp32 layer") << "{\"type\": \"linear\", \"out\": 2, \"accumulate\": \"layer\"}"
                                << "network.layers[1].accumulate: \"layer\" needs a fp16 or bf16 layer";
    QTest::newRow("fp8 layer") << "{\"type\": \"conv2d\", \"out_channels\": 2, \"precision\": \"fp8_e4m3\", \"accumulate\": \"layer\"}"
                               << "network.layers[1].accumulate: \"layer\" needs a fp16 or bf16 layer";
    QTest::newRow("unknown value") << "{\"type\": \"linear\", \"out\": 2, \"precision\": \"fp16\", \"accumulate\": \"fp16\"}"
                                   << "network.layers[1].accumulate: \"fp16\" is not one of fp32, layer";
    QTest::newRow("not a weighted layer") << "{\"type\": \"relu\", \"precision\": \"fp16\", \"accumulate\": \"layer\"}"
                                          << "network.layers[1].accumulate";
  }
  void layerAccumulationNeedsAHalfPrecisionLayer() {
    QFETCH(QString, layer);
    QFETCH(QString, message);
    const std::string layers = "[{\"type\": \"flatten\"}, " + layer.toStdString() + "]";
    try {
      networkFromJson(layers);
      QFAIL("parsed");
    } catch (const ExperimentError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  void accumulateIsWrittenBackAndParsesToTheSameSpec() {
    const NetworkSpec net = networkFromJson("[{\"type\": \"linear\", \"out\": 2, \"precision\": \"bf16\", \"accumulate\": \"layer\"},\n                                               {\"type\": \"linear\", \"out\": 2, \"precision\": \"bf16\"}]");
    QVERIFY(net.layers[0].accumulate == Accumulation::layer);
    QVERIFY(net.layers[1].accumulate == Accumulation::fp32);
    const nlohmann::json written = toJson(net);
    QCOMPARE(QString::fromStdString(written["layers"][0]["accumulate"].get<std::string>()), QString("layer"));
    QCOMPARE(QString::fromStdString(written["layers"][1]["accumulate"].get<std::string>()), QString("fp32"));
    QVERIFY(withUniformPrecision(net, Precision::fp32).layers[0].accumulate == Accumulation::fp32);
  }
};

QTEST_GUILESS_MAIN(TestAccumulation)
#include "tst_accumulation.moc"
