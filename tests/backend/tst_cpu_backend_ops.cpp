// Targeted behaviour of the CPU backend's ops: where each rounding happens, what the
// statistics count, the dropout mask, fp8 scaling, errors, backend choice.
#include <QtTest>

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "backend/counter_rng.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/registry.h"
#include "numerics/convert.h"

using namespace plab;

namespace {

std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  b.download(t, v.data());
  return v;
}

Tensor tensorOf(Backend& b, const Shape& s, Precision p, const std::vector<float>& v) {
  Tensor t = b.empty(s, p);
  b.upload(v.data(), t);
  return t;
}

QString hex(float v) { return QString("0x%1").arg(std::bit_cast<std::uint32_t>(v), 8, 16, QChar('0')); }

}  // namespace

class TestCpuBackendOps : public QObject {
  Q_OBJECT

 private slots:
  void shapePrintsItsDims();
  void cpuBackendKeepsEveryTensorNchw();
  void channelsLastTensorRefusesAFlatView();
  void convLayoutChoiceParsesAndNamesTheBadValue();
  void gemmRoundsOnceIntoFp16();
  void gemmTf32RoundsFp32InputsFirst();
  void gemmShapeMismatchNamesBothShapes();
  void linearAddsBiasBeforeTheOneRounding();
  void linearBiasOfWrongSizeIsNamed();
  void uploadRoundsIntoEachFormat_data();
  void uploadRoundsIntoEachFormat();
  void fp8StoresValueTimesScale();
  void setFp8ScaleRejectsBadInput();
  void statsCountsUnderflows();
  void statsOfTensorCountsZerosAndHistogram();
  void dropoutMaskIsDeterministic();
  void activationNanPassesThrough();
  void badLabelNamesRowAndValue_data();
  void badLabelNamesRowAndValue();
  void infoNamesCpuAndOpenBlas();
  void autoPicksCpuWithReason();
  void unknownBackendNameIsRejected();

 private:
  CpuBackend be_;
};

void TestCpuBackendOps::shapePrintsItsDims() {
  QCOMPARE(QString::fromStdString(Shape({128, 1, 28, 28}).toString()), QString("[128, 1, 28, 28]"));
  QCOMPARE(QString::fromStdString(Shape().toString()), QString("[]"));
}

// 1 + 2^-11 + 2^-11: rounding after each addition would tie back to 1 twice (nearest
// even); the fp32 sum rounded once is 1 + 2^-10, fp16 bits 0x3c01.
void TestCpuBackendOps::gemmRoundsOnceIntoFp16() {
  const float tiny = std::ldexp(1.0f, -11);
  Tensor a = tensorOf(be_, {1, 3}, Precision::fp16, {1.0f, tiny, tiny});
  Tensor b = tensorOf(be_, {3, 1}, Precision::fp16, {1.0f, 1.0f, 1.0f});
  Tensor c = be_.empty({1, 1}, Precision::fp16);
  be_.gemm(false, false, 1.0f, a, b, 0.0f, c);
  const float got = download(be_, c)[0];
  QVERIFY2(encode(Precision::fp16, got) == 0x3c01,
           qPrintable(QString("got %1 (fp16 0x%2), want 1.0009765625 (0x3c01)")
                          .arg(got, 0, 'g', 12)
                          .arg(encode(Precision::fp16, got), 4, 16, QChar('0'))));
}

// (1 + 2^-11)^2: with the inputs rounded to tf32 first (ties to even: 1) the product
// is 1; the unrounded product 1 + 2^-10 + 2^-22 would round to 1 + 2^-10.
// x W^T = 1 + 2^-11 (an fp16 tie) and bias 2^-11: rounded once, 1 + 2^-10 (0x3c01);
// rounding the product first (to 1, ties to even) and again after the bias gives 1.
void TestCpuBackendOps::linearAddsBiasBeforeTheOneRounding() {
  const float tiny = std::ldexp(1.0f, -11);
  Tensor x = tensorOf(be_, {1, 2}, Precision::fp16, {1.0f, tiny});
  Tensor w = tensorOf(be_, {1, 2}, Precision::fp16, {1.0f, 1.0f});
  Tensor b = tensorOf(be_, {1}, Precision::fp16, {tiny});
  Tensor y = be_.empty({1, 1}, Precision::fp16);
  be_.linear(x, w, &b, y);
  const float got = download(be_, y)[0];
  QVERIFY2(encode(Precision::fp16, got) == 0x3c01, qPrintable("got " + hex(got) + ", want 1.0009765625 (fp16 0x3c01)"));
  be_.linear(x, w, nullptr, y);
  QCOMPARE(download(be_, y)[0], 1.0f);  // without the bias: 1 + 2^-11 rounds to even
}

void TestCpuBackendOps::linearBiasOfWrongSizeIsNamed() {
  Tensor x = be_.zeros({4, 3}, Precision::fp32), w = be_.zeros({5, 3}, Precision::fp32);
  Tensor b = be_.zeros({4}, Precision::fp32), y = be_.empty({4, 5}, Precision::fp32);
  try {
    be_.linear(x, w, &b, y);
    QFAIL("no exception");
  } catch (const std::invalid_argument& e) {
    QVERIFY2(QString(e.what()).contains("linear: bias has shape [4]") && QString(e.what()).contains("expected 5"),
             e.what());
  }
}

void TestCpuBackendOps::gemmTf32RoundsFp32InputsFirst() {
  const float x = 1.0f + std::ldexp(1.0f, -11);
  Tensor a = tensorOf(be_, {1, 1}, Precision::fp32, {x});
  Tensor b = tensorOf(be_, {1, 1}, Precision::fp32, {x});
  Tensor c = be_.empty({1, 1}, Precision::tf32);
  be_.gemm(false, false, 1.0f, a, b, 0.0f, c);
  const float got = download(be_, c)[0];
  QVERIFY2(got == 1.0f, qPrintable("got " + hex(got) + ", want 1.0 (0x3f800000)"));
}

void TestCpuBackendOps::gemmShapeMismatchNamesBothShapes() {
  Tensor a = be_.zeros({4, 5}, Precision::fp32), b = be_.zeros({6, 3}, Precision::fp32);
  Tensor c = be_.empty({4, 3}, Precision::fp32);
  try {
    be_.gemm(false, false, 1.0f, a, b, 0.0f, c);
    QFAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const QString m = e.what();
    QVERIFY2(m.contains("[4, 5]") && m.contains("[6, 3]") && m.contains("gemm"), qPrintable(m));
  }
}

void TestCpuBackendOps::uploadRoundsIntoEachFormat_data() {
  QTest::addColumn<int>("precision");
  QTest::addColumn<float>("input");
  QTest::addColumn<float>("expected");
  QTest::newRow("fp16 0.1") << int(Precision::fp16) << 0.1f << 0.0999755859375f;
  QTest::newRow("fp16 65520 overflows") << int(Precision::fp16) << 65520.0f << std::numeric_limits<float>::infinity();
  QTest::newRow("fp16 smallest subnormal") << int(Precision::fp16) << 4e-8f << std::ldexp(1.0f, -24);
  QTest::newRow("bf16 0.1") << int(Precision::bf16) << 0.1f << 0.10009765625f;
  QTest::newRow("tf32 1+2^-11 ties to even") << int(Precision::tf32) << 1.00048828125f << 1.0f;
  QTest::newRow("e4m3 saturates") << int(Precision::fp8_e4m3) << 1000.0f << 448.0f;
  QTest::newRow("e5m2 saturates") << int(Precision::fp8_e5m2) << 1e6f << 57344.0f;
}

void TestCpuBackendOps::uploadRoundsIntoEachFormat() {
  QFETCH(int, precision);
  QFETCH(float, input);
  QFETCH(float, expected);
  Tensor t = tensorOf(be_, {1}, Precision(precision), {input});
  const float got = download(be_, t)[0];
  QVERIFY2(got == expected, qPrintable("got " + hex(got) + " want " + hex(expected)));
}

// Stored = round_e4m3(100 * 2) = round(200) = 192 (a tie between 192 and 208 goes to
// the even mantissa); logical value 192 / 2 = 96. amax records the 100.
void TestCpuBackendOps::fp8StoresValueTimesScale() {
  Tensor t = be_.empty({1}, Precision::fp8_e4m3);
  QVERIFY(t.scale() && t.amax());
  QCOMPARE(be_.fp8Scale(t), 1.0f);
  QCOMPARE(be_.fp8Amax(t), 0.0f);
  be_.setFp8Scale(t, 2.0f);
  const float v = 100.0f;
  be_.upload(&v, t);
  QCOMPARE(t.dataAs<float>()[0], 192.0f);
  QCOMPARE(download(be_, t)[0], 96.0f);
  QCOMPARE(be_.fp8Amax(t), 100.0f);
}

// Only fp8 tensors have a scale, and it must be a finite number > 0; the errors say
// which rule was broken.
void TestCpuBackendOps::setFp8ScaleRejectsBadInput() {
  Tensor half = be_.empty({3}, Precision::fp16);
  QCOMPARE(be_.fp8Scale(half), 1.0f);
  QCOMPARE(be_.fp8Amax(half), 0.0f);
  try {
    be_.setFp8Scale(half, 2.0f);
    QFAIL("an fp16 tensor took a scale");
  } catch (const std::invalid_argument& e) {
    QVERIFY2(QString(e.what()).contains("fp16"), e.what());
  }
  Tensor t = be_.empty({3}, Precision::fp8_e5m2);
  for (float bad : {0.0f, -1.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    try {
      be_.setFp8Scale(t, bad);
      QFAIL(qPrintable(QString("scale %1 was accepted").arg(bad)));
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("finite number > 0"), e.what());
    }
  }
  QCOMPARE(be_.fp8Scale(t), 1.0f);
}

void TestCpuBackendOps::statsCountsUnderflows() {
  const float inf = std::numeric_limits<float>::infinity();
  // 1e-8 underflows to 0 in fp16; 3e-8 rounds up to the smallest subnormal; 70000 overflows.
  Tensor src = tensorOf(be_, {7}, Precision::fp32, {1e-8f, 3e-8f, 0.0f, 70000.0f, 1e-3f, inf, -2.0f});
  Tensor dst = be_.empty({7}, Precision::fp16);
  TensorStats s;
  be_.convert(src, dst, &s);
  QCOMPARE(s.count, std::int64_t(7));
  QCOMPARE(s.underflows, std::int64_t(1));
  QCOMPARE(s.zeros, std::int64_t(2));
  QCOMPARE(s.overflows, std::int64_t(1));
  QCOMPARE(s.nonFinite, std::int64_t(1));
  QCOMPARE(s.maxAbs, 70000.0f);
  // log2|1e-8| = -26.6 -> bin -27; 70000 -> 16; -2 -> 1.
  QCOMPARE(s.log2Hist[-27 - kLog2HistMin], std::int64_t(1));
  QCOMPARE(s.log2Hist[16 - kLog2HistMin], std::int64_t(1));
  QCOMPARE(s.log2Hist[1 - kLog2HistMin], std::int64_t(1));
  const auto out = download(be_, dst);
  QCOMPARE(out[1], std::ldexp(1.0f, -24));
  QVERIFY(std::isinf(out[3]));
}

void TestCpuBackendOps::statsOfTensorCountsZerosAndHistogram() {
  Tensor t = tensorOf(be_, {5}, Precision::bf16, {0.0f, -0.0f, 0.75f, 1e-30f, -3.0f});
  TensorStats s;
  be_.stats(t, s);
  QCOMPARE(s.zeros, std::int64_t(2));
  QCOMPARE(s.underflows, std::int64_t(0));
  QCOMPARE(s.maxAbs, 3.0f);
  QCOMPARE(s.log2Hist[0], std::int64_t(1));  // 1e-30 = 2^-99.7 falls below the first bin
  QCOMPARE(s.log2Hist[-1 - kLog2HistMin], std::int64_t(1));
  QCOMPARE(s.log2Hist[1 - kLog2HistMin], std::int64_t(1));
}

void TestCpuBackendOps::dropoutMaskIsDeterministic() {
  const std::int64_t n = 100000;
  const float p = 0.25f;
  Tensor x = be_.empty({n}, Precision::fp32);
  be_.fill(x, 2.0f);
  Tensor y = be_.empty({n}, Precision::fp32), m1 = be_.empty({n}, Precision::fp32);
  Tensor m2 = be_.empty({n}, Precision::fp32), m3 = be_.empty({n}, Precision::fp32);
  be_.dropoutForward(p, 7, 3, x, y, m1);
  be_.dropoutForward(p, 7, 3, x, y, m2);
  be_.dropoutForward(p, 7, 4, x, y, m3);
  const auto a = download(be_, m1), b = download(be_, m2), c = download(be_, m3), out = download(be_, y);
  QVERIFY(a == b);
  QVERIFY(a != c);
  double kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    kept += a[i];
    QVERIFY(c[i] == 0.0f ? out[i] == 0.0f : out[i] == 2.0f / 0.75f);
    // The mask is the shared counter hash, so the CUDA kernel draws the same one.
    QCOMPARE(a[i], dropoutKeeps(counterStream(7, 3), std::uint64_t(i), p) ? 1.0f : 0.0f);
  }
  // Keep share 0.75 with sd sqrt(0.75 * 0.25 / 1e5) = 0.0014: 5 sd.
  QVERIFY2(std::fabs(kept / n - 0.75) < 0.007, qPrintable(QString::number(kept / n)));
}

void TestCpuBackendOps::activationNanPassesThrough() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Activation a : kAllActivations) {
    Tensor x = tensorOf(be_, {2}, Precision::fp16, {nan, 1.0f});
    Tensor y = be_.empty({2}, Precision::fp16);
    be_.activationForward(a, 0.01f, x, y);
    QVERIFY2(std::isnan(download(be_, y)[0]), qPrintable(QString("activation %1").arg(toString(a).data())));
  }
}

void TestCpuBackendOps::badLabelNamesRowAndValue_data() {
  QTest::addColumn<float>("label");
  QTest::newRow("equal to the class count") << 3.0f;
  QTest::newRow("negative") << -1.0f;
  QTest::newRow("fractional") << 1.5f;
  QTest::newRow("NaN") << std::numeric_limits<float>::quiet_NaN();
  QTest::newRow("huge") << 1e30f;
}

void TestCpuBackendOps::badLabelNamesRowAndValue() {
  QFETCH(float, label);
  Tensor logits = be_.zeros({2, 3}, Precision::fp32), d = be_.empty({2, 3}, Precision::fp32);
  Tensor labels = tensorOf(be_, {2}, Precision::fp32, {0.0f, label});
  auto st = be_.createStepState(LossScaleRule{}, 0);
  try {
    be_.softmaxCrossEntropy(logits, labels, *st, d);
    QFAIL("no exception");
  } catch (const std::invalid_argument& e) {
    QVERIFY2(QString(e.what()).contains("row 1") && QString(e.what()).contains("[0, 3)"), e.what());
  }
}

void TestCpuBackendOps::infoNamesCpuAndOpenBlas() {
  const auto info = be_.info();
  QCOMPARE(QString::fromStdString(info.name), QString("cpu"));
  QVERIFY2(QString::fromStdString(info.device).contains("threads"), info.device.c_str());
  QVERIFY2(QString::fromStdString(info.details).contains("OpenBLAS kernel"), info.details.c_str());
}

void TestCpuBackendOps::autoPicksCpuWithReason() {
  std::string note;
  auto cpu = createBackend("cpu", note);
  QCOMPARE(QString::fromStdString(cpu->info().name), QString("cpu"));
  std::string reason;
  if (cudaUsable(reason)) QSKIP("a CUDA device is usable here; auto would pick it");
  auto chosen = createBackend("auto", note);
  QCOMPARE(QString::fromStdString(chosen->info().name), QString("cpu"));
  QVERIFY2(note.find(reason) != std::string::npos && !reason.empty(), note.c_str());
  try {
    createBackend("cuda", note);
    QFAIL("cuda without a usable device did not throw");
  } catch (const std::runtime_error& e) {
    QVERIFY2(std::string(e.what()).find(reason) != std::string::npos, e.what());
  }
}

void TestCpuBackendOps::unknownBackendNameIsRejected() {
  std::string note;
  try {
    createBackend("gpu", note);
    QFAIL("no exception");
  } catch (const std::invalid_argument& e) {
    QVERIFY2(QString(e.what()).contains("cpu, cuda, auto"), e.what());
  }
}

// The CPU backend stores only the logical order: it ignores the convolution layout
// setting, its convolutions and pooling write NCHW, toLayout copies NCHW and refuses
// to make NHWC.
void TestCpuBackendOps::cpuBackendKeepsEveryTensorNchw() {
  CpuBackend b;
  b.setConvLayout(ConvLayoutChoice::nhwc);
  QCOMPARE(int(b.convLayout()), int(ConvLayoutChoice::nchw));
  Conv2dGeometry g;
  g.n = 1, g.c = 2, g.h = 3, g.w = 3, g.k = 2, g.r = g.s = 1;
  std::vector<float> xv(18), wv{1, 0, 0, 1};
  for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = float(i);
  Tensor x = tensorOf(b, Shape{1, 2, 3, 3}, Precision::fp16, xv), w = tensorOf(b, Shape{2, 2, 1, 1}, Precision::fp16, wv);
  Tensor y = b.empty(Shape{1, 2, 3, 3}, Precision::fp16);
  b.conv2dForward(g, x, w, y);
  QCOMPARE(int(y.layout()), int(MemoryLayout::nchw));
  QCOMPARE(download(b, y), xv);  // the identity filter, in logical order
  Tensor copy = b.empty(y.shape(), Precision::fp16);
  b.toLayout(y, copy, MemoryLayout::nchw);
  QCOMPARE(download(b, copy), xv);
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, b.toLayout(y, copy, MemoryLayout::nhwc));
}

void TestCpuBackendOps::channelsLastTensorRefusesAFlatView() {
  CpuBackend b;
  Tensor t = b.empty(Shape{2, 3, 4, 4}, Precision::fp32);
  t.setLayout(MemoryLayout::nhwc);
  QVERIFY(t.reshaped(Shape{2, 3, 2, 8}).shape() == Shape({2, 3, 2, 8}));
  try {
    (void)t.reshaped(Shape{2, 48});
    QFAIL("a flat view of a channels-last tensor was allowed");
  } catch (const std::logic_error& e) {
    QVERIFY2(QString(e.what()).contains("nhwc") && QString(e.what()).contains("[2, 48]"), e.what());
  }
}

void TestCpuBackendOps::convLayoutChoiceParsesAndNamesTheBadValue() {
  QCOMPARE(int(parseConvLayoutChoice("nhwc", "x")), int(ConvLayoutChoice::nhwc));
  QCOMPARE(int(parseConvLayoutChoice("nchw", "x")), int(ConvLayoutChoice::nchw));
  QCOMPARE(int(parseConvLayoutChoice("auto", "x")), int(ConvLayoutChoice::automatic));
  QCOMPARE(QString::fromStdString(std::string(toString(ConvLayoutChoice::automatic))), QStringLiteral("auto"));
  try {
    parseConvLayoutChoice("NHWC8", "PLAB_CUDA_CONV_LAYOUT");
    QFAIL("NHWC8 was accepted");
  } catch (const std::invalid_argument& e) {
    QCOMPARE(QString(e.what()), QStringLiteral("PLAB_CUDA_CONV_LAYOUT: \"NHWC8\" is not one of nchw, nhwc, auto"));
  }
}

QTEST_GUILESS_MAIN(TestCpuBackendOps)
#include "tst_cpu_backend_ops.moc"
