// Every backward op of the CPU backend against fp64 central differences of its
// forward op: L = sum(forward(inputs) * r) for a fixed random r, so dL/dy = r and the
// backward op must return dL/dinput. The forward runs in fp32 on the backend; the
// differences (L(x + h) - L(x - h)) / (x+h - (x-h)) are taken in fp64 with the step
// as actually represented in fp32.
#include <QtTest>

#include <cmath>
#include <functional>
#include <random>

#include "backend/cpu/cpu_backend.h"

using namespace plab;

namespace {

using Forward = std::function<double(const std::vector<float>&)>;

std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  b.download(t, v.data());
  return v;
}

Tensor tensorOf(Backend& b, const Shape& s, const std::vector<float>& v) {
  Tensor t = b.empty(s, Precision::fp32);
  b.upload(v.data(), t);
  return t;
}

std::vector<float> randomValues(std::mt19937& rng, std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Distinct values at least 0.05 apart (no ties, no kinks within the step), shuffled.
std::vector<float> distinctValues(std::mt19937& rng, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = -1.0f + 0.05f * static_cast<float>(i) + 0.025f;
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

double weightedSum(const std::vector<float>& y, const std::vector<float>& r) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * r[i];
  return s;
}

// Compares the analytic gradient with central differences at every element;
// relative to the largest numeric component. Prints the worst element on failure.
bool matchesFiniteDifferences(const char* what, const Forward& f, std::vector<float> x,
                              const std::vector<float>& analytic, double h, double tol) {
  double worst = 0, scale = 1e-6;
  std::size_t worstAt = 0;
  std::vector<double> numeric(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    const float plus = static_cast<float>(x0 + h), minus = static_cast<float>(x0 - h);
    x[i] = plus;
    const double lp = f(x);
    x[i] = minus;
    const double lm = f(x);
    x[i] = x0;
    numeric[i] = (lp - lm) / (static_cast<double>(plus) - minus);
    scale = std::max(scale, std::fabs(numeric[i]));
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = std::fabs(analytic[i] - numeric[i]);
    if (e > worst) worst = e, worstAt = i;
  }
  const bool ok = worst <= tol * scale;
  if (!ok)
    qWarning("%s: element %zu analytic %.9g numeric %.9g (|err| %.3g > %.3g * max|numeric| %.3g)", what, worstAt,
             analytic[worstAt], numeric[worstAt], worst, tol, scale);
  return ok;
}

}  // namespace

class TestCpuBackendGradients : public QObject {
  Q_OBJECT

 private slots:
  void linearBackward();
  void conv2dBackward_data();
  void conv2dBackward();
  void poolBackward_data();
  void poolBackward();
  void batchNormBackward_data();
  void batchNormBackward();
  void activationBackward_data();
  void activationBackward();
  void dropoutBackward();
  void softmaxCrossEntropyGradient();
  void meanSquaredErrorGradient();

 private:
  CpuBackend be_;
  std::mt19937 rng_{1234};
};

// y = x W^T + b: dx = r W, dW = r^T x, db = sum over rows of r.
void TestCpuBackendGradients::linearBackward() {
  const int n = 5, in = 7, out = 4;
  auto x = randomValues(rng_, n * in), w = randomValues(rng_, out * in), b = randomValues(rng_, out);
  const auto r = randomValues(rng_, n * out);
  auto forward = [&](const std::vector<float>& xv, const std::vector<float>& wv, const std::vector<float>& bv) {
    Tensor tx = tensorOf(be_, {n, in}, xv), tw = tensorOf(be_, {out, in}, wv), tb = tensorOf(be_, {out}, bv);
    Tensor y = be_.empty({n, out}, Precision::fp32);
    be_.gemm(false, true, 1.0f, tx, tw, 0.0f, y);
    be_.addBias(y, tb);
    return weightedSum(download(be_, y), r);
  };
  Tensor tr = tensorOf(be_, {n, out}, r), tx = tensorOf(be_, {n, in}, x), tw = tensorOf(be_, {out, in}, w);
  Tensor dx = be_.empty({n, in}, Precision::fp32), dw = be_.empty({out, in}, Precision::fp32);
  Tensor db = be_.empty({out}, Precision::fp32);
  be_.gemm(false, false, 1.0f, tr, tw, 0.0f, dx);
  be_.gemm(true, false, 1.0f, tr, tx, 0.0f, dw);
  be_.biasGrad(tr, db);
  QVERIFY(matchesFiniteDifferences("linear dx", [&](const auto& v) { return forward(v, w, b); }, x, download(be_, dx), 1e-2, 1e-3));
  QVERIFY(matchesFiniteDifferences("linear dW", [&](const auto& v) { return forward(x, v, b); }, w, download(be_, dw), 1e-2, 1e-3));
  QVERIFY(matchesFiniteDifferences("linear db", [&](const auto& v) { return forward(x, w, v); }, b, download(be_, db), 1e-2, 1e-3));
}

void TestCpuBackendGradients::conv2dBackward_data() {
  QTest::addColumn<int>("stride");
  QTest::addColumn<int>("pad");
  QTest::newRow("stride 1 pad 1") << 1 << 1;
  QTest::newRow("stride 2 pad 0") << 2 << 0;
}

void TestCpuBackendGradients::conv2dBackward() {
  QFETCH(int, stride);
  QFETCH(int, pad);
  Conv2dGeometry g;
  g.n = 2, g.c = 2, g.h = 6, g.w = 5, g.k = 3, g.r = 3, g.s = 2;
  g.strideH = g.strideW = stride, g.padH = g.padW = pad;
  const Shape xs{g.n, g.c, g.h, g.w}, ws{g.k, g.c, g.r, g.s}, ys{g.n, g.k, g.outH(), g.outW()};
  auto x = randomValues(rng_, xs.numel()), w = randomValues(rng_, ws.numel());
  const auto r = randomValues(rng_, ys.numel());
  auto forward = [&](const std::vector<float>& xv, const std::vector<float>& wv) {
    Tensor tx = tensorOf(be_, xs, xv), tw = tensorOf(be_, ws, wv), y = be_.empty(ys, Precision::fp32);
    be_.conv2dForward(g, tx, tw, y);
    return weightedSum(download(be_, y), r);
  };
  Tensor tr = tensorOf(be_, ys, r), tx = tensorOf(be_, xs, x), tw = tensorOf(be_, ws, w);
  Tensor dx = be_.empty(xs, Precision::fp32), dw = be_.empty(ws, Precision::fp32);
  be_.conv2dBackwardData(g, tr, tw, dx);
  be_.conv2dBackwardFilter(g, tx, tr, dw);
  QVERIFY(matchesFiniteDifferences("conv dx", [&](const auto& v) { return forward(v, w); }, x, download(be_, dx), 1e-2, 1e-3));
  QVERIFY(matchesFiniteDifferences("conv dw", [&](const auto& v) { return forward(x, v); }, w, download(be_, dw), 1e-2, 1e-3));
}

void TestCpuBackendGradients::poolBackward_data() {
  QTest::addColumn<int>("kind");
  QTest::addColumn<int>("kernel");
  QTest::addColumn<int>("stride");
  QTest::addColumn<int>("pad");
  QTest::newRow("max 2x2 stride 2") << int(PoolKind::max) << 2 << 2 << 0;
  QTest::newRow("max 3x3 stride 2 pad 1") << int(PoolKind::max) << 3 << 2 << 1;
  QTest::newRow("avg 2x2 stride 2") << int(PoolKind::average) << 2 << 2 << 0;
  QTest::newRow("avg 3x3 stride 1 pad 1") << int(PoolKind::average) << 3 << 1 << 1;
}

void TestCpuBackendGradients::poolBackward() {
  QFETCH(int, kind);
  QFETCH(int, kernel);
  QFETCH(int, stride);
  QFETCH(int, pad);
  Pool2dGeometry g;
  g.kind = PoolKind(kind);
  g.n = 2, g.c = 2, g.h = 6, g.w = 5;
  g.kernelH = g.kernelW = kernel, g.strideH = g.strideW = stride, g.padH = g.padW = pad;
  const Shape xs{g.n, g.c, g.h, g.w}, ys{g.n, g.c, g.outH(), g.outW()};
  const auto x = distinctValues(rng_, xs.numel());
  const auto r = randomValues(rng_, ys.numel());
  auto forward = [&](const std::vector<float>& xv) {
    Tensor tx = tensorOf(be_, xs, xv), y = be_.empty(ys, Precision::fp32), idx = be_.empty(ys, Precision::fp32);
    be_.pool2dForward(g, tx, y, idx);
    return weightedSum(download(be_, y), r);
  };
  Tensor tx = tensorOf(be_, xs, x), y = be_.empty(ys, Precision::fp32), idx = be_.empty(ys, Precision::fp32);
  be_.pool2dForward(g, tx, y, idx);
  Tensor tr = tensorOf(be_, ys, r), dx = be_.empty(xs, Precision::fp32);
  be_.pool2dBackward(g, tr, idx, dx);
  QVERIFY(matchesFiniteDifferences("pool dx", forward, x, download(be_, dx), 1e-2, 1e-3));
}

void TestCpuBackendGradients::batchNormBackward_data() {
  QTest::addColumn<QList<qint64>>("dims");
  QTest::newRow("1d [12, 3]") << QList<qint64>{12, 3};
  QTest::newRow("2d [3, 2, 4, 3]") << QList<qint64>{3, 2, 4, 3};
}

void TestCpuBackendGradients::batchNormBackward() {
  QFETCH(QList<qint64>, dims);
  const Shape xs(std::vector<std::int64_t>(dims.begin(), dims.end()));
  const std::int64_t c = xs[1];
  auto x = randomValues(rng_, xs.numel(), -2.0f, 2.0f), gamma = randomValues(rng_, c, 0.5f, 1.5f);
  auto beta = randomValues(rng_, c);
  const auto r = randomValues(rng_, xs.numel());
  auto forward = [&](const std::vector<float>& xv, const std::vector<float>& gv, const std::vector<float>& bv) {
    Tensor tx = tensorOf(be_, xs, xv), tg = tensorOf(be_, {c}, gv), tb = tensorOf(be_, {c}, bv);
    Tensor rm = be_.zeros({c}, Precision::fp32), rv = be_.zeros({c}, Precision::fp32);
    Tensor y = be_.empty(xs, Precision::fp32), m = be_.empty({c}, Precision::fp32), is = be_.empty({c}, Precision::fp32);
    be_.batchNormForward(tx, tg, tb, rm, rv, 0.1f, 1e-5f, true, y, m, is);
    return weightedSum(download(be_, y), r);
  };
  Tensor tx = tensorOf(be_, xs, x), tg = tensorOf(be_, {c}, gamma), tb = tensorOf(be_, {c}, beta);
  Tensor rm = be_.zeros({c}, Precision::fp32), rv = be_.zeros({c}, Precision::fp32);
  Tensor y = be_.empty(xs, Precision::fp32), m = be_.empty({c}, Precision::fp32), is = be_.empty({c}, Precision::fp32);
  be_.batchNormForward(tx, tg, tb, rm, rv, 0.1f, 1e-5f, true, y, m, is);
  Tensor tr = tensorOf(be_, xs, r), dx = be_.empty(xs, Precision::fp32);
  Tensor dg = be_.empty({c}, Precision::fp32), db = be_.empty({c}, Precision::fp32);
  be_.batchNormBackward(tx, tr, tg, m, is, dx, dg, db);
  QVERIFY(matchesFiniteDifferences("bn dx", [&](const auto& v) { return forward(v, gamma, beta); }, x, download(be_, dx), 1e-2, 2e-3));
  QVERIFY(matchesFiniteDifferences("bn dgamma", [&](const auto& v) { return forward(x, v, beta); }, gamma, download(be_, dg), 1e-2, 1e-3));
  QVERIFY(matchesFiniteDifferences("bn dbeta", [&](const auto& v) { return forward(x, gamma, v); }, beta, download(be_, db), 1e-2, 1e-3));
}

void TestCpuBackendGradients::activationBackward_data() {
  QTest::addColumn<int>("activation");
  // Every registered activation (core/activations.h): a new one is checked without a new row.
  for (Activation a : kAllActivations) QTest::newRow(std::string(toString(a)).c_str()) << int(a);
}

void TestCpuBackendGradients::activationBackward() {
  QFETCH(int, activation);
  const Activation a = Activation(activation);
  const Shape s{40};
  const auto x = distinctValues(rng_, 40);
  const auto r = randomValues(rng_, 40);
  auto forward = [&](const std::vector<float>& xv) {
    Tensor tx = tensorOf(be_, s, xv), y = be_.empty(s, Precision::fp32);
    be_.activationForward(a, 0.1f, tx, y);
    return weightedSum(download(be_, y), r);
  };
  Tensor tx = tensorOf(be_, s, x), y = be_.empty(s, Precision::fp32), dx = be_.empty(s, Precision::fp32);
  be_.activationForward(a, 0.1f, tx, y);
  Tensor tr = tensorOf(be_, s, r);
  be_.activationBackward(a, 0.1f, tx, y, tr, dx);
  QVERIFY(matchesFiniteDifferences("activation dx", forward, x, download(be_, dx), 1e-3, 1e-3));
}

void TestCpuBackendGradients::dropoutBackward() {
  const Shape s{64};
  const auto x = randomValues(rng_, 64), r = randomValues(rng_, 64);
  auto forward = [&](const std::vector<float>& xv) {
    Tensor tx = tensorOf(be_, s, xv), y = be_.empty(s, Precision::fp32), m = be_.empty(s, Precision::fp32);
    be_.dropoutForward(0.4f, 11, 5, tx, y, m);
    return weightedSum(download(be_, y), r);
  };
  Tensor tx = tensorOf(be_, s, x), y = be_.empty(s, Precision::fp32), m = be_.empty(s, Precision::fp32);
  be_.dropoutForward(0.4f, 11, 5, tx, y, m);
  Tensor tr = tensorOf(be_, s, r), dx = be_.empty(s, Precision::fp32);
  be_.dropoutBackward(0.4f, tr, m, dx);
  QVERIFY(matchesFiniteDifferences("dropout dx", forward, x, download(be_, dx), 1e-2, 1e-4));
}

// With no loss scaling the gradient written by the loss is d(mean loss)/dlogits.
void TestCpuBackendGradients::softmaxCrossEntropyGradient() {
  const int n = 6, k = 5;
  const Shape s{n, k};
  const auto logits = randomValues(rng_, n * k, -3.0f, 3.0f);
  std::vector<float> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = float(i % k);
  Tensor tl = tensorOf(be_, {n}, labels);
  LossScaleRule none;
  none.mode = LossScaleMode::none;
  auto loss = [&](const std::vector<float>& v) {
    auto st = be_.createStepState(none, 0);
    Tensor tx = tensorOf(be_, s, v), d = be_.empty(s, Precision::fp32);
    be_.softmaxCrossEntropy(tx, tl, *st, d);
    be_.updateLossScale(*st, 1);
    return double(be_.drainStepRecords(*st)[0].loss);
  };
  auto st = be_.createStepState(none, 0);
  Tensor tx = tensorOf(be_, s, logits), d = be_.empty(s, Precision::fp32);
  be_.softmaxCrossEntropy(tx, tl, *st, d);
  QVERIFY(matchesFiniteDifferences("softmax-CE dlogits", loss, logits, download(be_, d), 1e-2, 1e-3));
}

void TestCpuBackendGradients::meanSquaredErrorGradient() {
  const Shape s{4, 3};
  const auto p = randomValues(rng_, 12), t = randomValues(rng_, 12);
  Tensor tt = tensorOf(be_, s, t);
  LossScaleRule none;
  none.mode = LossScaleMode::none;
  auto loss = [&](const std::vector<float>& v) {
    auto st = be_.createStepState(none, 0);
    Tensor tp = tensorOf(be_, s, v), d = be_.empty(s, Precision::fp32);
    be_.meanSquaredError(tp, tt, *st, d);
    be_.updateLossScale(*st, 1);
    return double(be_.drainStepRecords(*st)[0].loss);
  };
  auto st = be_.createStepState(none, 0);
  Tensor tp = tensorOf(be_, s, p), d = be_.empty(s, Precision::fp32);
  be_.meanSquaredError(tp, tt, *st, d);
  QVERIFY(matchesFiniteDifferences("mse dprediction", loss, p, download(be_, d), 1e-2, 1e-3));
}

QTEST_GUILESS_MAIN(TestCpuBackendGradients)
#include "tst_cpu_backend_gradients.moc"
