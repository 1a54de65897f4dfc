// The format facts (precision.h) agree with what the reference decodes from the bit
// patterns that define them, names parse back, and each precision has its own colour.
#include <QtTest>
#include <cmath>
#include <set>

#include "bits_text.h"
#include "numerics/convert.h"
#include "numerics/precision.h"

using namespace plab;
using plab::test::hex;

Q_DECLARE_METATYPE(plab::Precision)
Q_DECLARE_METATYPE(plab::ValueClass)

class TestFormats : public QObject {
  Q_OBJECT

 private slots:
  void factsMatchDecodedPatterns_data();
  void factsMatchDecodedPatterns();
  void epsilonIsGapAfterOne_data();
  void epsilonIsGapAfterOne();
  void layoutsAddUp_data();
  void layoutsAddUp();
  void namesParseBack();
  void unknownNameIsRejected();
  void allowedNamesListsEveryFormat();
  void coloursAreDistinctHex();
  void classifiesBoundaryPatterns_data();
  void classifiesBoundaryPatterns();
};

void TestFormats::factsMatchDecodedPatterns_data() {
  // Patterns of the largest finite, smallest normal and smallest subnormal value.
  QTest::addColumn<Precision>("precision");
  QTest::addColumn<quint32>("maxBits");
  QTest::addColumn<quint32>("minNormalBits");
  QTest::addColumn<quint32>("minSubnormalBits");
  QTest::newRow("fp32") << Precision::fp32 << 0x7F7FFFFFu << 0x00800000u << 0x00000001u;
  QTest::newRow("tf32") << Precision::tf32 << 0x7F7FE000u << 0x00800000u << 0x00002000u;
  QTest::newRow("fp16") << Precision::fp16 << 0x7BFFu << 0x0400u << 0x0001u;
  QTest::newRow("bf16") << Precision::bf16 << 0x7F7Fu << 0x0080u << 0x0001u;
  QTest::newRow("fp8_e4m3") << Precision::fp8_e4m3 << 0x7Eu << 0x08u << 0x01u;
  QTest::newRow("fp8_e5m2") << Precision::fp8_e5m2 << 0x7Bu << 0x04u << 0x01u;
}

void TestFormats::factsMatchDecodedPatterns() {
  QFETCH(Precision, precision);
  QFETCH(quint32, maxBits);
  QFETCH(quint32, minNormalBits);
  QFETCH(quint32, minSubnormalBits);
  const FormatInfo& f = formatInfo(precision);
  QCOMPARE(static_cast<double>(decode(precision, maxBits)), f.maxFinite);
  QCOMPARE(static_cast<double>(decode(precision, minNormalBits)), f.minNormal);
  QCOMPARE(static_cast<double>(decode(precision, minSubnormalBits)), f.minSubnormal);
  QVERIFY2(classify(precision, maxBits) == ValueClass::normal, qPrintable(hex(maxBits)));
  QVERIFY2(classify(precision, minNormalBits) == ValueClass::normal, qPrintable(hex(minNormalBits)));
  QVERIFY2(classify(precision, minSubnormalBits) == ValueClass::subnormal, qPrintable(hex(minSubnormalBits)));
  QCOMPARE(f.minSubnormal, std::ldexp(f.minNormal, -f.mantissaBits));
}

void TestFormats::epsilonIsGapAfterOne_data() {
  QTest::addColumn<Precision>("precision");
  for (Precision p : kAllPrecisions) QTest::newRow(toString(p).data()) << p;
}

void TestFormats::epsilonIsGapAfterOne() {
  QFETCH(Precision, precision);
  const FormatInfo& f = formatInfo(precision);
  const float nextAfterOne = static_cast<float>(1.0 + f.epsilon);
  QCOMPARE(roundTo(precision, nextAfterOne), nextAfterOne);
  // Half an epsilon above one is a tie, which goes to the even neighbour: one.
  QCOMPARE(roundTo(precision, static_cast<float>(1.0 + f.epsilon / 2)), 1.0f);
}

void TestFormats::layoutsAddUp_data() { epsilonIsGapAfterOne_data(); }

void TestFormats::layoutsAddUp() {
  QFETCH(Precision, precision);
  const FormatInfo& f = formatInfo(precision);
  const int usedBits = 1 + f.exponentBits + f.mantissaBits;
  if (precision == Precision::tf32) {
    QCOMPARE(usedBits, 19);
    QCOMPARE(f.totalBits, 32);
  } else {
    QCOMPARE(usedBits, f.totalBits);
  }
  QCOMPARE(f.bias, (1 << (f.exponentBits - 1)) - 1);
  QCOMPARE(f.hasInfinity, precision != Precision::fp8_e4m3);
  QVERIFY2(f.precision == precision, toString(precision).data());
}

void TestFormats::namesParseBack() {
  for (Precision p : kAllPrecisions) {
    const std::optional<Precision> parsed = parsePrecision(toString(p));
    QVERIFY2(parsed.has_value(), toString(p).data());
    QVERIFY2(*parsed == p, toString(p).data());
  }
}

void TestFormats::unknownNameIsRejected() {
  QVERIFY(!parsePrecision("fp61").has_value());
  QVERIFY(!parsePrecision("FP16").has_value());
  QVERIFY(!parsePrecision("").has_value());
}

void TestFormats::allowedNamesListsEveryFormat() {
  QCOMPARE(QString::fromStdString(allowedPrecisionNames()),
           QStringLiteral("fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2"));
}

void TestFormats::coloursAreDistinctHex() {
  std::set<std::string_view> seen;
  for (Precision p : kAllPrecisions) {
    const std::string_view c = formatInfo(p).colour;
    QVERIFY2(c.size() == 7 && c[0] == '#', c.data());
    QVERIFY2(c.find_first_not_of("0123456789abcdef", 1) == std::string_view::npos, c.data());
    QVERIFY2(seen.insert(c).second, c.data());
  }
}

void TestFormats::classifiesBoundaryPatterns_data() {
  QTest::addColumn<Precision>("precision");
  QTest::addColumn<quint32>("bits");
  QTest::addColumn<ValueClass>("expected");
  QTest::newRow("fp16 +0") << Precision::fp16 << 0x0000u << ValueClass::zero;
  QTest::newRow("fp16 -0") << Precision::fp16 << 0x8000u << ValueClass::zero;
  QTest::newRow("fp16 max subnormal") << Precision::fp16 << 0x03FFu << ValueClass::subnormal;
  QTest::newRow("fp16 -inf") << Precision::fp16 << 0xFC00u << ValueClass::inf;
  QTest::newRow("fp16 snan") << Precision::fp16 << 0x7C01u << ValueClass::nan;
  QTest::newRow("bf16 inf") << Precision::bf16 << 0x7F80u << ValueClass::inf;
  QTest::newRow("bf16 nan") << Precision::bf16 << 0xFFC0u << ValueClass::nan;
  QTest::newRow("tf32 inf") << Precision::tf32 << 0x7F800000u << ValueClass::inf;
  QTest::newRow("tf32 subnormal") << Precision::tf32 << 0x00002000u << ValueClass::subnormal;
  QTest::newRow("e4m3 448 is normal") << Precision::fp8_e4m3 << 0x7Eu << ValueClass::normal;
  QTest::newRow("e4m3 top exponent 256 is normal") << Precision::fp8_e4m3 << 0x78u << ValueClass::normal;
  QTest::newRow("e4m3 nan") << Precision::fp8_e4m3 << 0x7Fu << ValueClass::nan;
  QTest::newRow("e4m3 -nan") << Precision::fp8_e4m3 << 0xFFu << ValueClass::nan;
  QTest::newRow("e5m2 inf") << Precision::fp8_e5m2 << 0x7Cu << ValueClass::inf;
  QTest::newRow("e5m2 nan") << Precision::fp8_e5m2 << 0x7Du << ValueClass::nan;
  QTest::newRow("e5m2 subnormal") << Precision::fp8_e5m2 << 0x83u << ValueClass::subnormal;
}

void TestFormats::classifiesBoundaryPatterns() {
  QFETCH(Precision, precision);
  QFETCH(quint32, bits);
  QFETCH(ValueClass, expected);
  const ValueClass got = classify(precision, bits);
  QVERIFY2(got == expected, qPrintable(QStringLiteral("%1 %2: got %3, want %4")
                                           .arg(toString(precision).data(), hex(bits, 4),
                                                toString(got), toString(expected))));
}

QTEST_GUILESS_MAIN(TestFormats)
#include "tst_formats.moc"
