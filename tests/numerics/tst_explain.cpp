// explainValue: the per-value breakdown shared by `precisionlab-cli numbers` and the
// GUI's Precision Explorer: fields, unbiased exponent, errors and the outcome phrase.
#include <QtTest>
#include <cmath>

#include "numerics/explain.h"

using namespace plab;

Q_DECLARE_METATYPE(plab::Precision)

class TestExplain : public QObject {
  Q_OBJECT

 private slots:
  void splitsFieldsAndNamesOutcome_data() {
    QTest::addColumn<Precision>("precision");
    QTest::addColumn<double>("input");
    QTest::addColumn<quint32>("sign");
    QTest::addColumn<quint32>("exponentField");
    QTest::addColumn<quint32>("mantissaField");
    QTest::addColumn<int>("exponent");
    QTest::addColumn<QString>("outcome");
    QTest::newRow("fp16 0.1") << Precision::fp16 << 0.1 << 0u << 11u << 0x266u << -4 << QStringLiteral("rounded");
    QTest::newRow("fp16 1.5 exact") << Precision::fp16 << 1.5 << 0u << 15u << 0x200u << 0 << QStringLiteral("exact");
    QTest::newRow("fp16 65520") << Precision::fp16 << 65520.0 << 0u << 31u << 0u << 0 << QStringLiteral("overflow to inf");
    QTest::newRow("fp16 -1e-8") << Precision::fp16 << -1e-8 << 1u << 0u << 0u << 0 << QStringLiteral("underflow to zero");
    QTest::newRow("fp16 4e-8 subnormal") << Precision::fp16 << 4e-8 << 0u << 0u << 1u << -14 << QStringLiteral("rounded (subnormal)");
    QTest::newRow("tf32 0.1 fields at top of fraction") << Precision::tf32 << 0.1 << 0u << 123u << 0x266u << -4 << QStringLiteral("rounded");
    QTest::newRow("e4m3 1000 saturates") << Precision::fp8_e4m3 << 1000.0 << 0u << 15u << 6u << 8 << QStringLiteral("saturated to max finite");
    QTest::newRow("e5m2 -inf saturates") << Precision::fp8_e5m2 << -static_cast<double>(INFINITY) << 1u << 30u << 3u << 15 << QStringLiteral("inf saturated to max finite");
    QTest::newRow("bf16 nan") << Precision::bf16 << static_cast<double>(NAN) << 0u << 255u << 0x40u << 0 << QStringLiteral("nan stays nan");
  }

  void splitsFieldsAndNamesOutcome() {
    QFETCH(Precision, precision);
    QFETCH(double, input);
    QFETCH(quint32, sign);
    QFETCH(quint32, exponentField);
    QFETCH(quint32, mantissaField);
    QFETCH(int, exponent);
    QFETCH(QString, outcome);
    const ValueExplanation e = explainValue(precision, input);
    QCOMPARE(e.signField, sign);
    QCOMPARE(e.exponentField, exponentField);
    QCOMPARE(e.mantissaField, mantissaField);
    QCOMPARE(e.exponent, exponent);
    QCOMPARE(QString::fromStdString(e.outcome), outcome);
    QCOMPARE(e.bits, encode(precision, static_cast<float>(input)));
  }

  void errorsAreMeasuredAgainstTheInputAsGiven() {
    const ValueExplanation fp32 = explainValue(Precision::fp32, 0.1);
    QCOMPARE(fp32.absError, std::fabs(static_cast<double>(0.1f) - 0.1));
    QCOMPARE(fp32.relError, fp32.absError / 0.1);
    const ValueExplanation zero = explainValue(Precision::fp16, 0.0);
    QCOMPARE(zero.absError, 0.0);
    QCOMPARE(zero.relError, 0.0);
    const ValueExplanation overflow = explainValue(Precision::fp16, 1e6);
    QVERIFY(std::isinf(overflow.absError) && std::isinf(overflow.relError));
    QVERIFY(std::isnan(explainValue(Precision::fp16, NAN).relError));
  }

  void formatsBitsAndNumbers() {
    QCOMPARE(QString::fromStdString(bitsHex(Precision::fp16, 0x2E66)), QStringLiteral("0x2e66"));
    QCOMPARE(QString::fromStdString(bitsHex(Precision::fp8_e4m3, 0x7E)), QStringLiteral("0x7e"));
    QCOMPARE(QString::fromStdString(bitsHex(Precision::tf32, 0x3DCCC000)), QStringLiteral("0x3dccc000"));
    QCOMPARE(QString::fromStdString(bitsFieldsBinary(explainValue(Precision::fp16, 0.1))),
             QStringLiteral("0 01011 1001100110"));
    QCOMPARE(QString::fromStdString(formatNumber(0.0999755859375)), QStringLiteral("0.0999755859375"));
    QCOMPARE(QString::fromStdString(formatNumber(5.9604644775390625e-08)),
             QStringLiteral("5.960464477539063e-08"));
    QCOMPARE(QString::fromStdString(formatNumber(-0.0)), QStringLiteral("-0"));
    QCOMPARE(QString::fromStdString(formatNumber(-INFINITY)), QStringLiteral("-inf"));
    QCOMPARE(QString::fromStdString(formatNumber(NAN)), QStringLiteral("nan"));
  }
};

QTEST_GUILESS_MAIN(TestExplain)
#include "tst_explain.moc"
