// explainValue: the per-value breakdown shared by `precisionlab-cli numbers` and the
// GUI's Precision Explorer: fields, unbiased exponent, errors and the outcome phrase.
#include <QtTest>
#include <cmath>
#include <stdexcept>
#include <vector>

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
  // A block-scaled format, block by block. mxfp4 [0.1, 1, 3, -7]: amax 7, scale
  // 2^(floor(log2 7) - 2) = 1 (0x7f); 0.1 underflows, -7 saturates to -6 (0xf).
  void explainsBlocks() {
    const BlockExplanation b = explainBlocks(Precision::mxfp4, {0.1, 1.0, 3.0, -7.0});
    QCOMPARE(b.blocks.size(), std::size_t(1));
    QVERIFY(!b.hasTensorScale);
    QCOMPARE(b.blocks[0].bits, 0x7Fu);
    QCOMPARE(b.blocks[0].value, 1.0);
    QCOMPARE(b.blocks[0].multiplier, 1.0);
    QCOMPARE(b.blocks[0].count, std::size_t(4));
    QCOMPARE(b.blocks[0].amax, 7.0);
    QVERIFY(b.blocks[0].note.empty());
    QCOMPARE(b.values.size(), std::size_t(4));
    QCOMPARE(QString::fromStdString(b.values[0].outcome), QStringLiteral("underflow to zero"));
    QCOMPARE(QString::fromStdString(b.values[1].outcome), QStringLiteral("exact"));
    QCOMPARE(QString::fromStdString(b.values[3].outcome), QStringLiteral("saturated to the largest element"));
    QCOMPARE(b.values[3].bits, 0xFu);
    QCOMPARE(b.values[3].element, -6.0);
    QCOMPARE(b.values[3].block, 0);
    QCOMPARE(double(b.values[3].value), -6.0);
    QCOMPARE(b.values[3].absError, 1.0);
    QCOMPARE(QString::fromStdString(bitsFieldsBinary(b.values[3])), QStringLiteral("1 11 1"));
    QCOMPARE(QString::fromStdString(bitsHex(Precision::mxfp4, 0xF)), QStringLiteral("0xf"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, explainBlocks(Precision::fp16, {1.0}));
  }

  // Each reason a scale is not the plain rule's is said in the block's note.
  void blockNotesSayWhy() {
    const BlockExplanation zeros = explainBlocks(Precision::mxfp4, {0.0, -0.0});
    QVERIFY2(QString::fromStdString(zeros.blocks[0].note).contains("all-zero"), zeros.blocks[0].note.c_str());
    QCOMPARE(zeros.blocks[0].bits, 0u);
    QCOMPARE(QString::fromStdString(zeros.values[1].outcome), QStringLiteral("exact"));

    const BlockExplanation nan = explainBlocks(Precision::mxfp4, {1.0, NAN, INFINITY});
    QVERIFY(std::isnan(nan.blocks[0].value));
    QCOMPARE(nan.blocks[0].bits, 0xFFu);
    QVERIFY2(QString::fromStdString(nan.blocks[0].note).startsWith("nan"), nan.blocks[0].note.c_str());
    QCOMPARE(QString::fromStdString(nan.values[0].outcome), QStringLiteral("nan: its block holds nan or inf"));
    QCOMPARE(QString::fromStdString(nan.values[1].outcome), QStringLiteral("nan stays nan"));
    QCOMPARE(QString::fromStdString(nan.values[2].outcome), QStringLiteral("inf: its block's scale is nan"));
    QVERIFY(nan.values[0].valueClass == ValueClass::nan);

    // 1e-40 (an fp32 subnormal): floor(log2) - 2 = -135, clamped to -127.
    const BlockExplanation tiny = explainBlocks(Precision::mxfp4, {1e-40});
    QVERIFY2(QString::fromStdString(tiny.blocks[0].note).contains("clamped"), tiny.blocks[0].note.c_str());
    QCOMPARE(QString::fromStdString(tiny.values[0].outcome), QStringLiteral("underflow to zero"));

    // nvfp4: t = 1 (amax 2688); the second block (amax 0.018) steps down to 2^-9, the
    // third (amax 0.007) down to 0 (tst_block_formats has the arithmetic).
    std::vector<double> x(48, 0.0);
    x[0] = 2688;
    x[16] = 0.018;
    x[32] = 0.007;
    const BlockExplanation nv = explainBlocks(Precision::nvfp4, x);
    QVERIFY(nv.hasTensorScale);
    QCOMPARE(nv.tensorScale, 1.0f);
    QCOMPARE(nv.tensorAmax, 2688.0);
    QCOMPARE(nv.blocks.size(), std::size_t(3));
    QVERIFY2(QString::fromStdString(nv.blocks[1].note).startsWith("stepped down"), nv.blocks[1].note.c_str());
    QCOMPARE(nv.blocks[1].multiplier, std::ldexp(1.0, -9));
    QVERIFY2(QString::fromStdString(nv.blocks[2].note).startsWith("0:"), nv.blocks[2].note.c_str());
    QCOMPARE(QString::fromStdString(nv.values[32].outcome), QStringLiteral("underflow to zero"));
    QCOMPARE(QString::fromStdString(nv.values[16].outcome), QStringLiteral("saturated to the largest element"));
  }

  // mxint8 -0.3 alone: amax 0.3, scale 2^floor(log2 0.3) = 2^-2; -0.3 / 0.25 * 64 = -76.8
  // -> -77 = 0xb3 (two's complement), -77/64 * 0.25 = -0.30078125.
  // mxfp6_e3m2 28 alone: scale 2^(4 - 4) = 1, 28 is e3m2's largest, 0x1f (two hex digits).
  void blockElementsShowTheirFields() {
    const ValueExplanation i8 = explainValue(Precision::mxint8, -0.3);
    QCOMPARE(i8.bits, 0xB3u);
    QCOMPARE(double(i8.value), -0.30078125);
    QCOMPARE(QString::fromStdString(bitsFieldsBinary(i8)), QStringLiteral("1 0110011"));
    QCOMPARE(QString::fromStdString(bitsHex(Precision::mxint8, i8.bits)), QStringLiteral("0xb3"));
    QCOMPARE(i8.element, -77.0 / 64);
    const ValueExplanation e3m2 = explainValue(Precision::mxfp6_e3m2, 28.0);
    QCOMPARE(QString::fromStdString(bitsHex(Precision::mxfp6_e3m2, e3m2.bits)), QStringLiteral("0x1f"));
    QCOMPARE(QString::fromStdString(bitsFieldsBinary(e3m2)), QStringLiteral("0 111 11"));
    QCOMPARE(e3m2.exponent, 4);
    QCOMPARE(QString::fromStdString(e3m2.outcome), QStringLiteral("exact"));
  }

  void describesBlockFormats() {
    QCOMPARE(QString::fromStdString(describeBlockFormat(Precision::mxfp4)),
             QStringLiteral("mxfp4: e2m1 elements in blocks of 32, one e8m0 scale per block: 4.25 bits per value"));
    QCOMPARE(QString::fromStdString(describeBlockFormat(Precision::nvfp4)),
             QStringLiteral("nvfp4: e2m1 elements in blocks of 16, one e4m3 scale per block and one fp32 scale per "
                            "tensor: 4.5 bits per value"));
    QCOMPARE(QString::fromStdString(describeBlockFormat(Precision::mxint8)),
             QStringLiteral("mxint8: int8 elements in blocks of 32, one e8m0 scale per block: 8.25 bits per value"));
    QCOMPARE(QString::fromStdString(scaleBitsHex(ScaleFormat::e8m0, 0x7F)), QStringLiteral("0x7f"));
  }
};

QTEST_GUILESS_MAIN(TestExplain)
#include "tst_explain.moc"
