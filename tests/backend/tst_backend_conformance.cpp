// The backend conformance suite on the CPU backend (the same checks as
// `precisionlab-cli selftest --backend cpu`), plus proof that its tolerances can
// fail: deliberately wrong results are rejected.
#include <QtTest>

#include <cmath>
#include <set>

#include "backend/conformance.h"
#include "backend/conformance_check.h"
#include "backend/cpu/cpu_backend.h"
#include "numerics/convert.h"

using namespace plab;
using namespace plab::conformance;

class TestBackendConformance : public QObject {
  Q_OBJECT

 private slots:
  void cpuBackendPassesEveryCheck();
  void everyOpRunsInEveryFormat();
  void missingRoundingFails();
  void truncationInsteadOfNearestEvenFails();
  void offByTwoUlpsFailsElementwise();
  void oneUlpFlipPassesProducts();
  void exactCheckRejectsOneBit();
  void largeProductErrorFails();

 private:
  std::vector<ConformanceResult> results_;
};

void TestBackendConformance::cpuBackendPassesEveryCheck() {
  CpuBackend backend;
  results_ = runConformance(backend);
  QVERIFY(results_.size() > 300);
  int failed = 0;
  for (const auto& r : results_) {
    if (r.pass) continue;
    ++failed;
    qWarning("FAIL %s [%s] %s: max error %g > %g (%s) %s", r.op.c_str(), r.format.c_str(), r.shape.c_str(),
             r.maxError, r.limit, r.tolerance.c_str(), r.detail.c_str());
  }
  QCOMPARE(failed, 0);
}

void TestBackendConformance::everyOpRunsInEveryFormat() {
  if (results_.empty()) {
    CpuBackend backend;
    results_ = runConformance(backend);
  }
  const char* ops[] = {"gemm NN", "gemm NT", "gemm TN", "gemm TT", "linear with bias",
                       "linear without bias", "linear with bias = gemm + addBias + convert",
                       "linear without bias = gemm + convert", "addBias", "biasGrad", "conv2d forward",
                       "conv2d backward data", "conv2d backward filter", "maxpool forward", "avgpool forward",
                       "batchnorm forward", "batchnorm backward dx", "activation gelu forward",
                       "activation sigmoid backward", "dropout forward", "dropout backward",
                       "softmax cross-entropy dlogits", "mse dprediction", "convert fp32->format", "convert stats",
                       "optimizer adam (master) working", "optimizer sgd nesterov (no master) working",
                       "measureShadow"};
  for (const char* op : ops)
    for (Precision p : kScalarPrecisions) {
      bool found = false;
      for (const auto& r : results_) found = found || (r.op == op && r.format == toString(p));
      if (!found) QFAIL(qPrintable(QString("no check of %1 in %2").arg(op).arg(QString::fromUtf8(toString(p).data()))));
    }
  // Bad class labels: each kind of bad value, for the loss and for evaluation.
  int labelChecks = 0;
  for (const auto& r : results_) labelChecks += r.op.rfind("bad class label", 0) == 0;
  QCOMPARE(labelChecks, 15);
}

// A product left unrounded in an fp16 output is close to the reference but not an
// fp16 value: the representability rule catches it.
void TestBackendConformance::missingRoundingFails() {
  std::vector<float> got;
  std::vector<double> want, terms;
  for (int i = 0; i < 100; ++i) {
    const float exact = 1.0f + static_cast<float>(i) * 0.001234f;
    got.push_back(exact);
    want.push_back(roundTo(Precision::fp16, exact));
    terms.push_back(std::fabs(exact));
  }
  const auto r = compare({"gemm", "[100]", Precision::fp16, 1.0f, &got, &want, &terms}, Tolerance::summed(1e-5, 0.05));
  QVERIFY2(!r.pass, r.detail.c_str());
  QVERIFY(r.detail.find("not representable") != std::string::npos);
}

// Rounding toward zero instead of to nearest: each value within one ulp, so only the
// mismatch share can tell; it is about half of the values.
void TestBackendConformance::truncationInsteadOfNearestEvenFails() {
  std::vector<float> got;
  std::vector<double> want, terms;
  for (int i = 0; i < 1000; ++i) {
    const float exact = 1.0f + static_cast<float>(i) * 0.000731f;
    const float nearest = roundTo(Precision::bf16, exact);
    const float truncated = std::bit_cast<float>(std::bit_cast<std::uint32_t>(exact) & 0xffff0000u);
    got.push_back(truncated);
    want.push_back(nearest);
    terms.push_back(exact);
  }
  const auto r = compare({"gemm", "[1000]", Precision::bf16, 1.0f, &got, &want, &terms}, Tolerance::summed(1e-5, 0.05));
  QVERIFY2(!r.pass, r.detail.c_str());
}

void TestBackendConformance::offByTwoUlpsFailsElementwise() {
  const float base = 0.75f;
  const float ulp = static_cast<float>(ulpAt(Precision::fp16, base));
  std::vector<float> got{base + 2 * ulp};
  std::vector<double> want{base};
  const auto r = compare({"activation", "[1]", Precision::fp16, 1.0f, &got, &want, nullptr}, Tolerance::inUlps(1));
  QVERIFY(!r.pass);
  QCOMPARE(r.maxError, 2.0);
}

// The counterpart: one value rounded the other way (one ulp) among many is what the
// product tolerance exists to allow.
void TestBackendConformance::oneUlpFlipPassesProducts() {
  std::vector<float> got;
  std::vector<double> want, terms;
  for (int i = 0; i < 100; ++i) {
    const float v = roundTo(Precision::fp16, 1.0f + static_cast<float>(i) * 0.01f);
    got.push_back(v);
    want.push_back(v);
    terms.push_back(v);
  }
  got[5] = got[5] + static_cast<float>(ulpAt(Precision::fp16, got[5]));
  const auto r = compare({"gemm", "[100]", Precision::fp16, 1.0f, &got, &want, &terms}, Tolerance::summed(1e-5, 0.05));
  QVERIFY2(r.pass, r.detail.c_str());
}

void TestBackendConformance::exactCheckRejectsOneBit() {
  std::vector<float> got{1.0f, std::nextafter(2.0f, 3.0f)};
  std::vector<double> want{1.0, 2.0};
  const auto r = compare({"convert", "[2]", Precision::fp32, 1.0f, &got, &want, nullptr}, Tolerance::exact());
  QVERIFY(!r.pass);
  QVERIFY2(r.detail.find("0x40000001") != std::string::npos, r.detail.c_str());
}

// An fp32 product 1e-4 off in relative terms (a wrong accumulation) exceeds 1e-5 * sum|terms|.
void TestBackendConformance::largeProductErrorFails() {
  std::vector<float> got{100.01f};
  std::vector<double> want{100.0}, terms{100.0};
  const auto r = compare({"gemm", "[1]", Precision::fp32, 1.0f, &got, &want, &terms}, Tolerance::summed(1e-5, 1.0));
  QVERIFY(!r.pass);
  QVERIFY(r.maxError > 5.0);
}

QTEST_GUILESS_MAIN(TestBackendConformance)
#include "tst_backend_conformance.moc"
