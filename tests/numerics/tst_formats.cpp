// The format facts (precision.h) agree with what the reference decodes from the bit
// patterns that define them and with the conversions, storage sizes and tensor byte
// counts follow the table, names parse back, and each precision has its own colour.
#include <QtTest>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

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
  void limitsFollowFromTheLayout_data();
  void limitsFollowFromTheLayout();
  void everyPatternAgreesWithTheLimits_data();
  void everyPatternAgreesWithTheLimits();
  void conversionsRespectTheLimits_data();
  void conversionsRespectTheLimits();
  void storageFollowsTheTable_data();
  void storageFollowsTheTable();
  void tensorBytesCountElements_data();
  void tensorBytesCountElements();
  void tensorBytesCountBlockScales_data();
  void tensorBytesCountBlockScales();
  void isFp8ExactlyForTheFp8Formats();
  void unknownPrecisionValueIsAnError();
};

namespace {

// The row of a format that is not in the table: a block-scaled layout, for checking
// that tensorBytes counts block scales (docs/architecture.md, "Numerics").
FormatInfo blockScaledRow(int storageBits, int blockSize, ScaleFormat blockScale) {
  FormatInfo f = formatInfo(Precision::fp8_e4m3);
  f.name = "block-scaled test row";
  f.storageBits = storageBits;
  f.tensorScale = ScaleFormat::none;
  f.blockSize = blockSize;
  f.blockScale = blockScale;
  return f;
}

}  // namespace

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

// The scalar formats (block-scaled ones: tst_block_formats).
void TestFormats::epsilonIsGapAfterOne_data() {
  QTest::addColumn<Precision>("precision");
  for (Precision p : kScalarPrecisions) QTest::newRow(toString(p).data()) << p;
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
           QStringLiteral("fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, "
                          "mxfp6_e2m3, mxfp4, mxint8, nvfp4"));
  QCOMPARE(QString::fromStdString(scalarPrecisionNames()),
           QStringLiteral("fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2"));
  QCOMPARE(kScalarPrecisions.size() + kBlockPrecisions.size(), kAllPrecisions.size());
  for (Precision p : kScalarPrecisions) QVERIFY2(!isBlockScaled(p), toString(p).data());
  for (Precision p : kBlockPrecisions) QVERIFY2(isBlockScaled(p), toString(p).data());
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

void TestFormats::limitsFollowFromTheLayout_data() { epsilonIsGapAfterOne_data(); }

// Each limit from the exponent and mantissa widths and the bias alone.
void TestFormats::limitsFollowFromTheLayout() {
  QFETCH(Precision, precision);
  const FormatInfo& f = formatInfo(precision);
  const int m = f.mantissaBits;
  QCOMPARE(f.minNormal, std::ldexp(1.0, 1 - f.bias));
  QCOMPARE(f.minSubnormal, std::ldexp(1.0, 1 - f.bias - m));
  QCOMPARE(f.epsilon, std::ldexp(1.0, -m));
  const int topExponent = (1 << f.exponentBits) - 1;
  if (f.hasInfinity) {
    // The top exponent holds inf and NaN: the largest value has the one below it.
    QCOMPARE(f.maxFinite, (2.0 - std::ldexp(1.0, -m)) * std::ldexp(1.0, topExponent - 1 - f.bias));
  } else {
    // Only the all-ones pattern is NaN: the top exponent's next-to-largest fraction is max.
    QCOMPARE(f.maxFinite, (2.0 - std::ldexp(1.0, 1 - m)) * std::ldexp(1.0, topExponent - f.bias));
  }
  QVERIFY2(f.hasNaN, f.name.data());
}

void TestFormats::everyPatternAgreesWithTheLimits_data() {
  QTest::addColumn<Precision>("precision");
  for (Precision p : kScalarPrecisions) {
    if (formatInfo(p).totalBits <= 16) QTest::newRow(toString(p).data()) << p;
  }
}

// All 2^bits patterns of the small formats: the largest finite, smallest normal and
// smallest subnormal decoded values are the table's, and inf/NaN patterns exist
// exactly when the table says so.
void TestFormats::everyPatternAgreesWithTheLimits() {
  QFETCH(Precision, precision);
  const FormatInfo& f = formatInfo(precision);
  double largest = 0, smallestNormal = INFINITY, smallestSubnormal = INFINITY;
  bool sawInf = false, sawNan = false;
  for (std::uint32_t bits = 0; bits < (1u << f.totalBits); ++bits) {
    const double v = std::fabs(double(decode(precision, bits)));
    switch (classify(precision, bits)) {
      case ValueClass::inf: sawInf = true; break;
      case ValueClass::nan: sawNan = true; break;
      case ValueClass::normal:
        largest = std::max(largest, v);
        smallestNormal = std::min(smallestNormal, v);
        break;
      case ValueClass::subnormal: smallestSubnormal = std::min(smallestSubnormal, v); break;
      case ValueClass::zero: break;
    }
  }
  QCOMPARE(largest, f.maxFinite);
  QCOMPARE(smallestNormal, f.minNormal);
  QCOMPARE(smallestSubnormal, f.minSubnormal);
  QCOMPARE(sawInf, f.hasInfinity);
  QCOMPARE(sawNan, f.hasNaN);
}

void TestFormats::conversionsRespectTheLimits_data() { epsilonIsGapAfterOne_data(); }

// The conversions in engine/numerics at the table's limits: max and the smallest
// subnormal round to themselves; one ulp above max overflows to inf (saturates to max
// for fp8, docs/architecture.md); half the smallest subnormal is a tie that goes to zero.
void TestFormats::conversionsRespectTheLimits() {
  QFETCH(Precision, precision);
  const FormatInfo& f = formatInfo(precision);
  const float max = float(f.maxFinite);
  QCOMPARE(double(roundTo(precision, max)), f.maxFinite);
  QCOMPARE(double(roundTo(precision, -max)), -f.maxFinite);
  const double ulpAtMax = f.maxFinite * f.epsilon / (2.0 - f.epsilon);  // 2^(e_max - m)
  const float above = float(f.maxFinite + ulpAtMax);  // inf in fp32 itself for fp32 and tf32
  const float expectedAbove = isFp8(precision) ? max : INFINITY;
  QCOMPARE(roundTo(precision, above), expectedAbove);
  QCOMPARE(roundTo(precision, -above), -expectedAbove);
  QCOMPARE(double(roundTo(precision, float(f.minNormal))), f.minNormal);
  QCOMPARE(double(roundTo(precision, float(f.minSubnormal))), f.minSubnormal);
  QCOMPARE(double(roundTo(precision, float(0.75 * f.minSubnormal))), f.minSubnormal);
  const float halfSubnormal = roundTo(precision, float(f.minSubnormal / 2));
  QCOMPARE(halfSubnormal, 0.0f);
  QVERIFY(!std::signbit(halfSubnormal));
  QVERIFY(std::isnan(roundTo(precision, std::numeric_limits<float>::quiet_NaN())));
}

void TestFormats::storageFollowsTheTable_data() {
  QTest::addColumn<Precision>("precision");
  QTest::addColumn<int>("bytes");
  QTest::newRow("fp32") << Precision::fp32 << 4;
  QTest::newRow("tf32 is kept in fp32 bits") << Precision::tf32 << 4;
  QTest::newRow("fp16") << Precision::fp16 << 2;
  QTest::newRow("bf16") << Precision::bf16 << 2;
  QTest::newRow("fp8_e4m3") << Precision::fp8_e4m3 << 1;
  QTest::newRow("fp8_e5m2") << Precision::fp8_e5m2 << 1;
}

// Storage bytes, and the array packers of engine/numerics accept exactly the formats
// whose storage is their width.
void TestFormats::storageFollowsTheTable() {
  QFETCH(Precision, precision);
  QFETCH(int, bytes);
  const FormatInfo& f = formatInfo(precision);
  QCOMPARE(f.storageBits, 8 * bytes);
  QCOMPARE(elementBytes(precision), std::size_t(bytes));
  QCOMPARE(f.blockSize, 1);
  QVERIFY(f.blockScale == ScaleFormat::none);
  const std::vector<float> in{1.5f, -0.25f};
  std::vector<std::uint16_t> out16(in.size());
  std::vector<std::uint8_t> out8(in.size());
  bool packs16 = true, packs8 = true;
  try { encodeArray16(precision, in.data(), out16.data(), in.size()); } catch (const std::invalid_argument&) { packs16 = false; }
  try { encodeArray8(precision, in.data(), out8.data(), in.size()); } catch (const std::invalid_argument&) { packs8 = false; }
  QCOMPARE(packs16, bytes == 2);
  QCOMPARE(packs8, bytes == 1);
}

void TestFormats::tensorBytesCountElements_data() {
  QTest::addColumn<Precision>("precision");
  QTest::addColumn<qint64>("count");
  for (Precision p : kScalarPrecisions) {
    for (qint64 n : {0, 1, 7, 1000}) QTest::newRow(qPrintable(QStringLiteral("%1 x%2").arg(toString(p).data()).arg(n))) << p << n;
  }
}

void TestFormats::tensorBytesCountElements() {
  QFETCH(Precision, precision);
  QFETCH(qint64, count);
  QCOMPARE(tensorBytes(precision, count), std::size_t(count) * elementBytes(precision));
}

void TestFormats::tensorBytesCountBlockScales_data() {
  // Rows shaped as MXFP8 / MXFP6 / MXFP4 (e8m0 scale per 32) and NVFP4 (e4m3 per 16).
  QTest::addColumn<int>("storageBits");
  QTest::addColumn<int>("blockSize");
  QTest::addColumn<int>("scale");  // ScaleFormat
  QTest::addColumn<qint64>("count");
  QTest::addColumn<qint64>("bytes");
  const int e8m0 = int(ScaleFormat::e8m0), e4m3 = int(ScaleFormat::fp8_e4m3);
  QTest::newRow("mxfp8 64") << 8 << 32 << e8m0 << qint64(64) << qint64(64 + 2);
  QTest::newRow("mxfp8 100: a started block has its scale") << 8 << 32 << e8m0 << qint64(100) << qint64(100 + 4);
  QTest::newRow("mxfp6 32") << 6 << 32 << e8m0 << qint64(32) << qint64(24 + 1);
  QTest::newRow("mxfp4 64") << 4 << 32 << e8m0 << qint64(64) << qint64(32 + 2);
  QTest::newRow("mxfp4 33: half a byte rounds up") << 4 << 32 << e8m0 << qint64(33) << qint64(17 + 2);
  QTest::newRow("nvfp4 64") << 4 << 16 << e4m3 << qint64(64) << qint64(32 + 4);
  QTest::newRow("nvfp4 0") << 4 << 16 << e4m3 << qint64(0) << qint64(0);
}

void TestFormats::tensorBytesCountBlockScales() {
  QFETCH(int, storageBits);
  QFETCH(int, blockSize);
  QFETCH(int, scale);
  QFETCH(qint64, count);
  QFETCH(qint64, bytes);
  const FormatInfo f = blockScaledRow(storageBits, blockSize, static_cast<ScaleFormat>(scale));
  QCOMPARE(qint64(tensorBytes(f, count)), bytes);
}

void TestFormats::isFp8ExactlyForTheFp8Formats() {
  static_assert(isFp8(Precision::fp8_e4m3) && !isFp8(Precision::bf16), "isFp8 is a compile-time question");
  for (Precision p : kAllPrecisions) {
    const bool fp8 = p == Precision::fp8_e4m3 || p == Precision::fp8_e5m2;
    QVERIFY2(isFp8(p) == fp8, toString(p).data());
    // Only fp8 tensors (the backends' fp8 slots) and nvfp4 tensors carry a per-tensor scale.
    QVERIFY2((formatInfo(p).tensorScale == ScaleFormat::fp32) == (fp8 || p == Precision::nvfp4),
             toString(p).data());
    QVERIFY2(toString(p) == formatInfo(p).name, toString(p).data());
  }
}

// A corrupt Precision is an error naming the value, never read as another format.
void TestFormats::unknownPrecisionValueIsAnError() {
  const auto bad = static_cast<Precision>(200);
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, formatInfo(bad));
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, isFp8(bad));
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tensorBytes(bad, 4));
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encode(bad, 1.0f));
  float v = 1.0f;
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, roundArray(bad, &v, &v, 1));
  try {
    (void)formatInfo(bad);
  } catch (const std::invalid_argument& e) {
    QVERIFY2(QString(e.what()).contains(QStringLiteral("200")), e.what());
  }
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tensorBytes(Precision::fp16, -1));
  QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tensorBytes(blockScaledRow(4, 0, ScaleFormat::e8m0), 4));
}

QTEST_GUILESS_MAIN(TestFormats)
#include "tst_formats.moc"
