// Every layer's backward against central finite differences.
//
// Each case is one layer in fp32 on the real CPU backend. The loss is
// L = sum_i c_i * y_i with fixed random c, computed in double from the downloaded
// outputs; backward gets dL/dy = c. Every input value and every parameter value is
// perturbed by +-h and (L(+h) - L(-h)) / 2h compared with the analytic gradient.
//
// Tolerance |analytic - numeric| <= 2e-3 + 1e-2 |analytic|, with h = 1e-2: the
// forward runs in fp32, so L carries rounding noise of about n * 2^-24 * |y| (n
// outputs, < 60 here), i.e. ~5e-6, which the division by 2h turns into ~3e-4; the
// O(h^2) truncation error of the smooth layers (GELU, tanh, sigmoid, batch norm) is
// ~1e-4. A wrong gradient (a missing factor, a transposed index) is off by O(1).
// Inputs keep |x| >= 0.1 so that no perturbation crosses a ReLU kink, and max-pool
// windows hold values at least 0.05 apart so that no perturbation changes a winner.
#include <QtTest>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/activations.h"
#include "model/rng.h"
#include "model_test_util.h"

using namespace plab;
using namespace plab::test;

namespace {

constexpr double kStep = 1e-2;
constexpr double kAbsTol = 2e-3;
constexpr double kRelTol = 1e-2;

// Values with |x| in [0.1, 1]: magnitude 0.1 + 0.03 ((7 i) mod 31), so any 31
// consecutive values (every pooling window here) differ by at least 0.03 > 2h;
// signs random.
std::vector<float> testInputs(std::int64_t n, std::uint64_t seed) {
  detail::SplitMix64 rng(seed);
  std::vector<float> values(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float magnitude = 0.1f + 0.03f * float((7 * i) % 31);
    values[i] = (rng.next() & 1) ? magnitude : -magnitude;
  }
  return values;
}

struct Probe {
  Backend& backend;
  Network& net;
  Tensor input;
  std::vector<double> coefficients;

  double loss() {
    const Tensor& y = net.forward(input, true, 1);
    const std::vector<float> out = download(backend, y);
    double sum = 0;
    for (std::size_t i = 0; i < out.size(); ++i) sum += coefficients[i] * double(out[i]);
    return sum;
  }

  // Central difference of the loss w.r.t. every value of tensor t (read by forward).
  std::vector<double> numericGradient(Tensor& t) {
    std::vector<float> values = download(backend, t);
    std::vector<double> grad(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const float original = values[i];
      values[i] = float(double(original) + kStep);
      backend.upload(values.data(), t);
      const double plus = loss();
      values[i] = float(double(original) - kStep);
      backend.upload(values.data(), t);
      const double minus = loss();
      values[i] = original;
      backend.upload(values.data(), t);
      // Divide by the step actually taken (the perturbed values are fp32).
      const double taken = double(float(double(original) + kStep)) - double(float(double(original) - kStep));
      grad[i] = (plus - minus) / taken;
    }
    return grad;
  }
};

// "" when every analytic value matches its numeric one, else the first mismatch.
QString gradientMismatch(const QString& what, const std::vector<float>& analytic, const std::vector<double>& numeric) {
  if (analytic.size() != numeric.size()) return what + ": sizes differ";
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    const double a = analytic[i], n = numeric[i];
    const double err = std::fabs(a - n);
    if (!(err <= kAbsTol + kRelTol * std::fabs(a))) {
      return QString("%1[%2]: analytic %3, numeric %4, |diff| %5 > %6")
          .arg(what).arg(i).arg(a, 0, 'g', 9).arg(n, 0, 'g', 9).arg(err).arg(kAbsTol + kRelTol * std::fabs(a));
    }
  }
  // A check that compared nothing but zeros would prove nothing.
  double largest = 0;
  for (double v : numeric) largest = std::max(largest, std::fabs(v));
  if (!(largest > 1e-3)) return what + ": every numeric gradient is ~0";
  return {};
}

struct Gradients {
  std::vector<float> input;
  std::vector<std::vector<float>> params;   // analytic, in parameters() order
  std::vector<double> numericInput;
  std::vector<std::vector<double>> numericParams;
  std::vector<QString> paramNames;
};

// Analytic (backward) and numeric (central differences) gradients of one layer.
Gradients gradientsOf(const std::string& layerJson, const Shape& sampleShape, int batch) {
  auto backend = cpuBackend();
  const NetworkSpec spec = networkFromJson("[" + layerJson + "]");
  Network net(spec, sampleShape, *backend, /*seed=*/7, /*masterWeights=*/false);
  net.setInputGradientEnabled(true);
  const Shape inShape = batchShape(batch, sampleShape);
  Probe probe{*backend, net, upload(*backend, testInputs(inShape.numel(), 11), inShape), {}};
  const Tensor& y = net.forward(probe.input, true, 1);
  detail::SplitMix64 rng(3);
  for (std::int64_t i = 0; i < y.numel(); ++i) probe.coefficients.push_back(rng.symmetric(1.0f));

  Gradients g;
  const std::vector<float> c(probe.coefficients.begin(), probe.coefficients.end());
  net.backward(upload(*backend, c, y.shape()));  // dL/dy = c
  g.input = download(*backend, net.inputGradient());
  for (auto& slot : net.parameters()) {
    g.params.push_back(download(*backend, slot.grad));
    g.paramNames.push_back(QString::fromStdString(slot.name));
  }
  g.numericInput = probe.numericGradient(probe.input);
  for (auto& slot : net.parameters()) g.numericParams.push_back(probe.numericGradient(slot.working));
  return g;
}

}  // namespace

class GradientCheck : public QObject {
  Q_OBJECT

 private slots:
  void matchesFiniteDifferences_data() {
    QTest::addColumn<QString>("layer");
    QTest::addColumn<QList<qint64>>("sample");
    QTest::addColumn<int>("batch");
    QTest::newRow("linear") << R"({"type": "linear", "out": 4})" << QList<qint64>{5} << 3;
    QTest::newRow("linear without bias") << R"({"type": "linear", "out": 3, "bias": false})" << QList<qint64>{4} << 2;
    QTest::newRow("conv2d 3x3 stride 1") << R"({"type": "conv2d", "out_channels": 3, "kernel": 3})"
                                         << QList<qint64>{2, 5, 5} << 2;
    QTest::newRow("conv2d stride 2 padding 1")
        << R"({"type": "conv2d", "out_channels": 2, "kernel": 3, "stride": 2, "padding": 1})"
        << QList<qint64>{2, 5, 5} << 2;
    QTest::newRow("conv2d 1x1 without bias") << R"({"type": "conv2d", "out_channels": 2, "kernel": 1, "bias": false})"
                                             << QList<qint64>{3, 3, 3} << 2;
    QTest::newRow("maxpool2d 2x2") << R"({"type": "maxpool2d"})" << QList<qint64>{2, 4, 4} << 2;
    QTest::newRow("maxpool2d 3 stride 2 padding 1")
        << R"({"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1})" << QList<qint64>{1, 5, 5} << 2;
    QTest::newRow("avgpool2d 2x2") << R"({"type": "avgpool2d"})" << QList<qint64>{2, 4, 4} << 2;
    QTest::newRow("avgpool2d 3 stride 1 padding 1")
        << R"({"type": "avgpool2d", "kernel": 3, "stride": 1, "padding": 1})" << QList<qint64>{1, 4, 4} << 2;
    QTest::newRow("flatten") << R"({"type": "flatten"})" << QList<qint64>{2, 3, 3} << 2;
    // Every registered activation (core/activations.h), its parameter (if any) at ten
    // times its default so that a formula that ignores it shows.
    for (Activation a : kAllActivations) {
      nlohmann::json spec{{"type", std::string(toString(a))}};
      if (const act::Param p = activationParam(a); !p.key.empty()) spec[std::string(p.key)] = 10 * p.defaultValue;
      QTest::newRow(std::string(toString(a)).c_str()) << QString::fromStdString(spec.dump()) << QList<qint64>{8} << 3;
    }
    QTest::newRow("dropout") << R"({"type": "dropout", "p": 0.3})" << QList<qint64>{12} << 3;
    QTest::newRow("batchnorm1d") << R"({"type": "batchnorm1d"})" << QList<qint64>{4} << 6;
    QTest::newRow("batchnorm2d") << R"({"type": "batchnorm2d"})" << QList<qint64>{3, 3, 3} << 4;
  }

  void matchesFiniteDifferences() {
    QFETCH(QString, layer);
    QFETCH(QList<qint64>, sample);
    QFETCH(int, batch);
    const Shape sampleShape(std::vector<std::int64_t>(sample.begin(), sample.end()));
    const Gradients g = gradientsOf(layer.toStdString(), sampleShape, batch);
    QString mismatch = gradientMismatch("input", g.input, g.numericInput);
    QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
    for (std::size_t k = 0; k < g.params.size(); ++k) {
      mismatch = gradientMismatch(g.paramNames[k], g.params[k], g.numericParams[k]);
      QVERIFY2(mismatch.isEmpty(), qPrintable(mismatch));
    }
  }

  // The check itself must catch a wrong gradient: 10% too large, or one value wrong.
  void rejectsAWrongGradient() {
    const Gradients g = gradientsOf(R"({"type": "linear", "out": 4})", Shape{5}, 3);
    std::vector<float> scaled = g.params[0];
    for (auto& v : scaled) v *= 1.1f;
    QVERIFY(!gradientMismatch("scaled", scaled, g.numericParams[0]).isEmpty());
    std::vector<float> oneWrong = g.input;
    oneWrong[2] = -oneWrong[2] + 0.1f;
    QVERIFY(!gradientMismatch("one wrong", oneWrong, g.numericInput).isEmpty());
    QVERIFY(gradientMismatch("as computed", g.input, g.numericInput).isEmpty());
  }
};

QTEST_GUILESS_MAIN(GradientCheck)
#include "tst_gradients.moc"
