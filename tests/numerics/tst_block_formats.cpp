// Conformance of the block-scaled formats (engine/numerics/block_format.h): OCP
// Microscaling (mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4, mxint8) and NVFP4.
// - every element pattern decodes to the value its fields say (independent formulas, or
//   the scalar fp8 decoder), and encoding each decoded value gives the pattern back;
// - encoding rounds to the nearest element, ties to the even pattern, saturating (checked
//   against a brute-force search over the decoded table);
// - block-scale edge cases: all-zero blocks, NaN/inf in a block, amax at and just off a
//   power of two, saturation, subnormal elements, e8m0's limits, NVFP4's scale step-down;
// - hand-worked blocks, one or more per format, with the arithmetic in a comment;
// - storage counts the scales.
// Whole tensors (quantising twice, the fast path) are in tst_block_tensors.cpp.
#include <QtTest>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "bits_text.h"
#include "numerics/block_format.h"
#include "numerics/convert.h"

using namespace plab;
using plab::test::bitsOf;
using plab::test::hex;

Q_DECLARE_METATYPE(plab::Precision)

namespace {

const double kNan = std::numeric_limits<double>::quiet_NaN();
const float kInfF = std::numeric_limits<float>::infinity();
const float kNanF = std::numeric_limits<float>::quiet_NaN();

QString name(Precision p) { return QString::fromLatin1(toString(p).data()); }

// The value of a sign-magnitude float element written out from its fields, for the
// formats without inf or NaN (e3m2, e2m3, e2m1): no code shared with the engine.
double fieldValue(std::uint32_t bits, int exponentBits, int mantissaBits, int bias) {
  const int total = 1 + exponentBits + mantissaBits;
  const bool negative = (bits >> (total - 1)) & 1u;
  const int exponentField = int((bits >> mantissaBits) & ((1u << exponentBits) - 1u));
  const double fraction = double(bits & ((1u << mantissaBits) - 1u)) / double(1u << mantissaBits);
  const double magnitude = exponentField == 0 ? fraction * std::pow(2.0, 1 - bias)
                                              : (1.0 + fraction) * std::pow(2.0, exponentField - bias);
  return negative ? -magnitude : magnitude;
}

// What every pattern of each element format must decode to.
double expectedElement(Precision p, std::uint32_t bits) {
  switch (p) {
    case Precision::mxfp8_e4m3: return decode(Precision::fp8_e4m3, bits);  // the scalar fp8 reference
    case Precision::mxfp8_e5m2: return decode(Precision::fp8_e5m2, bits);
    case Precision::mxfp6_e3m2: return fieldValue(bits, 3, 2, 3);
    case Precision::mxfp6_e2m3: return fieldValue(bits, 2, 3, 1);
    case Precision::mxfp4:
    case Precision::nvfp4: {
      // OCP's e2m1 table, written out.
      const double table[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
      return table[bits];
    }
    case Precision::mxint8: return double(static_cast<std::int8_t>(bits)) / 64.0;
    case Precision::fp32:
    case Precision::tf32:
    case Precision::fp16:
    case Precision::bf16:
    case Precision::fp8_e4m3:
    case Precision::fp8_e5m2: break;
  }
  return kNan;
}

bool sameValue(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

// The nearest element to x by brute force over every pattern: ties go to the even
// pattern (the lower mantissa bit is 0), magnitudes beyond the largest saturate.
std::uint32_t nearestElement(Precision p, double x) {
  const std::uint32_t count = elementPatternCount(p);
  std::uint32_t best = 0;
  double bestDistance = INFINITY;
  for (std::uint32_t b = 0; b < count; ++b) {
    const double v = decodeElement(p, b);
    if (!std::isfinite(v)) continue;
    // A float element's zero keeps x's sign (mxint8 has one zero).
    if (v == 0 && p != Precision::mxint8 && std::signbit(v) != std::signbit(x)) continue;
    if (p == Precision::mxint8 && b == 0x80) continue;             // -2: saturation is symmetric
    const double d = std::fabs(v - x);
    if (d < bestDistance || (d == bestDistance && (b & 1u) == 0)) {
      best = b;
      bestDistance = d;
    }
  }
  return best;
}

}  // namespace

class TestBlockFormats : public QObject {
  Q_OBJECT

 private slots:
  void formats_data() {
    QTest::addColumn<Precision>("precision");
    for (Precision p : kBlockPrecisions) QTest::newRow(toString(p).data()) << p;
  }

  // ---- the table's rows -------------------------------------------------------------

  void rowsDescribeTheFormats() {
    struct Expected {
      Precision p;
      FormatFamily family;
      int elementBits, blockSize;
      ScaleFormat scale;
      double maxFinite;
      int emax;
    };
    const Expected rows[] = {
        {Precision::mxfp8_e4m3, FormatFamily::mx, 8, 32, ScaleFormat::e8m0, 448, 8},
        {Precision::mxfp8_e5m2, FormatFamily::mx, 8, 32, ScaleFormat::e8m0, 57344, 15},
        {Precision::mxfp6_e3m2, FormatFamily::mx, 6, 32, ScaleFormat::e8m0, 28, 4},
        {Precision::mxfp6_e2m3, FormatFamily::mx, 6, 32, ScaleFormat::e8m0, 7.5, 2},
        {Precision::mxfp4, FormatFamily::mx, 4, 32, ScaleFormat::e8m0, 6, 2},
        {Precision::mxint8, FormatFamily::mx, 8, 32, ScaleFormat::e8m0, 127.0 / 64, 0},
        {Precision::nvfp4, FormatFamily::nvfp4, 4, 16, ScaleFormat::fp8_e4m3, 6, 2},
    };
    QCOMPARE(std::size(rows), kBlockPrecisions.size());
    for (const Expected& e : rows) {
      const FormatInfo& f = formatInfo(e.p);
      QVERIFY2(f.family == e.family, qPrintable(name(e.p)));
      QCOMPARE(f.totalBits, e.elementBits);
      QCOMPARE(f.storageBits, e.elementBits);
      QCOMPARE(f.blockSize, e.blockSize);
      QVERIFY2(f.blockScale == e.scale, qPrintable(name(e.p)));
      QCOMPARE(f.maxFinite, e.maxFinite);
      QCOMPARE(elementMaxExponent(e.p), e.emax);
      QVERIFY(isBlockScaled(e.p) && !isFp8(e.p));
      QVERIFY2((f.tensorScale == ScaleFormat::fp32) == (e.p == Precision::nvfp4), qPrintable(name(e.p)));
      QCOMPARE(elementPatternCount(e.p), 1u << e.elementBits);
    }
  }

  // Storage includes the scales: mxfp4 4.25 bits a value, nvfp4 4.5 (its fp32 tensor
  // scale lives beside the data, as fp8's does, and is not counted).
  void tensorBytesCountTheScales() {
    QCOMPARE(tensorBytes(Precision::mxfp4, 32), std::size_t(16 + 1));
    QCOMPARE(8.0 * double(tensorBytes(Precision::mxfp4, 3200)) / 3200, 4.25);
    QCOMPARE(tensorBytes(Precision::nvfp4, 16), std::size_t(8 + 1));
    QCOMPARE(8.0 * double(tensorBytes(Precision::nvfp4, 1600)) / 1600, 4.5);
    QCOMPARE(tensorBytes(Precision::mxfp6_e3m2, 32), std::size_t(24 + 1));
    QCOMPARE(tensorBytes(Precision::mxfp6_e2m3, 64), std::size_t(48 + 2));
    QCOMPARE(tensorBytes(Precision::mxfp8_e4m3, 32), std::size_t(33));
    QCOMPARE(tensorBytes(Precision::mxint8, 33), std::size_t(33 + 2));  // a started block keeps its scale
    QCOMPARE(tensorBytes(Precision::mxfp4, 1000), std::size_t(500 + 32));
    QCOMPARE(tensorBytes(Precision::nvfp4, 0), std::size_t(0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, elementBytes(Precision::mxfp4));  // half a byte
  }

  // ---- elements -------------------------------------------------------------------

  void everyElementPatternDecodes_data() { formats_data(); }
  void everyElementPatternDecodes() {
    QFETCH(Precision, precision);
    const FormatInfo& f = formatInfo(precision);
    double largest = 0;
    int nans = 0, infs = 0;
    for (std::uint32_t b = 0; b < elementPatternCount(precision); ++b) {
      const double got = decodeElement(precision, b);
      const double want = expectedElement(precision, b);
      QVERIFY2(sameValue(got, want), qPrintable(QStringLiteral("%1 %2: got %3, want %4")
                                                    .arg(name(precision), hex(b, 2))
                                                    .arg(got, 0, 'g', 17)
                                                    .arg(want, 0, 'g', 17)));
      const ValueClass c = classifyElement(precision, b);
      QCOMPARE(c == ValueClass::nan, std::isnan(got));
      QCOMPARE(c == ValueClass::inf, std::isinf(got));
      QCOMPARE(c == ValueClass::zero, got == 0);
      nans += std::isnan(got) ? 1 : 0;
      infs += std::isinf(got) ? 1 : 0;
      if (std::isfinite(got)) largest = std::max(largest, got);  // mxint8's -2 is beyond +max
      if (c == ValueClass::subnormal) QVERIFY(std::fabs(got) < f.minNormal);
    }
    QCOMPARE(largest, f.maxFinite);
    QCOMPARE(infs > 0, f.hasInfinity);
    QCOMPARE(nans > 0, f.hasNaN);
    // e4m3: only S.1111.111; e5m2: 3 NaN fractions per sign; the others: none.
    const int expectedNans = precision == Precision::mxfp8_e4m3 ? 2 : precision == Precision::mxfp8_e5m2 ? 6 : 0;
    QCOMPARE(nans, expectedNans);
    // The limits of the row, read off the patterns that define them.
    double smallestSubnormal = INFINITY, smallestNormal = INFINITY;
    for (std::uint32_t b = 0; b < elementPatternCount(precision); ++b) {
      const double v = std::fabs(decodeElement(precision, b));
      if (classifyElement(precision, b) == ValueClass::subnormal) smallestSubnormal = std::min(smallestSubnormal, v);
      if (classifyElement(precision, b) == ValueClass::normal) smallestNormal = std::min(smallestNormal, v);
    }
    QCOMPARE(smallestNormal, f.minNormal);
    if (precision != Precision::mxint8) QCOMPARE(smallestSubnormal, f.minSubnormal);  // integers have none
    QCOMPARE(decodeElement(precision, encodeElement(precision, 1.0 + f.epsilon)), 1.0 + f.epsilon);
  }

  void encodingEachDecodedValueGivesItsPattern_data() { formats_data(); }
  void encodingEachDecodedValueGivesItsPattern() {
    QFETCH(Precision, precision);
    for (std::uint32_t b = 0; b < elementPatternCount(precision); ++b) {
      const double v = decodeElement(precision, b);
      if (std::isnan(v)) {
        QCOMPARE(classifyElement(precision, encodeElement(precision, v)), ValueClass::nan);
        continue;
      }
      if (precision == Precision::mxint8 && b == 0x80) {
        // -2 decodes, but saturation is symmetric (+-127/64, the element's max).
        QCOMPARE(v, -2.0);
        QCOMPARE(encodeElement(precision, v), 0x81u);
        continue;
      }
      QVERIFY2(encodeElement(precision, v) == b,
               qPrintable(QStringLiteral("%1: %2 decodes to %3, encodes to %4")
                              .arg(name(precision), hex(b, 2))
                              .arg(v)
                              .arg(hex(encodeElement(precision, v), 2))));
    }
  }

  // Between every two neighbouring values: the midpoint (a tie), and a hair either side;
  // beyond the largest; and random values: all as the brute-force nearest element.
  void encodingRoundsToNearestEven_data() { formats_data(); }
  void encodingRoundsToNearestEven() {
    QFETCH(Precision, precision);
    std::vector<double> values;
    for (std::uint32_t b = 0; b < elementPatternCount(precision); ++b) {
      const double v = decodeElement(precision, b);
      if (std::isfinite(v) && !(precision == Precision::mxint8 && b == 0x80)) values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    std::vector<double> probes;
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
      const double mid = (values[i] + values[i + 1]) / 2;
      probes.insert(probes.end(), {mid, std::nextafter(mid, -INFINITY), std::nextafter(mid, INFINITY)});
    }
    const double max = formatInfo(precision).maxFinite;
    probes.insert(probes.end(), {max * 1.01, -max * 1.5, max * 1e6, 1e-30, -1e-30, 0.0, -0.0});
    std::mt19937 rng(13);
    std::uniform_real_distribution<double> uniform(-1.2 * max, 1.2 * max);
    for (int i = 0; i < 2000; ++i) probes.push_back(uniform(rng));
    for (double x : probes) {
      const std::uint32_t got = encodeElement(precision, x);
      const std::uint32_t want = nearestElement(precision, x);
      QVERIFY2(got == want, qPrintable(QStringLiteral("%1 of %2: got %3, want %4")
                                           .arg(name(precision))
                                           .arg(x, 0, 'g', 17)
                                           .arg(hex(got, 2), hex(want, 2))));
    }
  }

  // The MX fp8 elements agree with the scalar fp8 conversion on every finite fp32 bit
  // pattern's neighbourhood (both round to nearest even and saturate).
  void fp8ElementsAgreeWithTheScalarFp8() {
    std::mt19937 rng(5);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 200000; ++i) {
      const float x = plab::test::floatOf(bits(rng));
      if (!std::isfinite(x)) continue;
      QCOMPARE(encodeElement(Precision::mxfp8_e4m3, x), encode(Precision::fp8_e4m3, x));
      QCOMPARE(encodeElement(Precision::mxfp8_e5m2, x), encode(Precision::fp8_e5m2, x));
    }
  }

  // Inf and NaN are not clamped (OCP MX): e5m2 keeps inf, e4m3 has only NaN for it, and
  // an element with neither refuses them (a block holding one gets a NaN scale).
  void specialsAreNotClamped() {
    QCOMPARE(encodeElement(Precision::mxfp8_e5m2, INFINITY), 0x7Cu);
    QCOMPARE(encodeElement(Precision::mxfp8_e5m2, -INFINITY), 0xFCu);
    QCOMPARE(encodeElement(Precision::mxfp8_e4m3, INFINITY), 0x7Fu);
    QCOMPARE(encodeElement(Precision::mxfp8_e4m3, kNan), 0x7Fu);
    QCOMPARE(encodeElement(Precision::mxfp8_e5m2, kNan), 0x7Fu);
    for (Precision p : {Precision::mxfp6_e3m2, Precision::mxfp6_e2m3, Precision::mxfp4, Precision::mxint8,
                        Precision::nvfp4}) {
      for (double x : {kNan, double(INFINITY)}) {
        try {
          (void)encodeElement(p, x);
          QFAIL(qPrintable(name(p) + QStringLiteral(" took a special")));
        } catch (const std::invalid_argument& e) {
          QVERIFY2(QString(e.what()).contains(name(p)), e.what());
        }
      }
    }
    // Finite beyond the largest: saturates (mxint8 symmetrically).
    QCOMPARE(encodeElement(Precision::mxint8, -5.0), 0x81u);
    QCOMPARE(encodeElement(Precision::mxint8, 5.0), 0x7Fu);
    QCOMPARE(encodeElement(Precision::mxfp4, -100.0), 0xFu);
  }

  // ---- scales ---------------------------------------------------------------------

  void scalesDecode() {
    QCOMPARE(decodeScale(ScaleFormat::e8m0, 127), 1.0);
    QCOMPARE(decodeScale(ScaleFormat::e8m0, 0), std::ldexp(1.0, -127));
    QCOMPARE(decodeScale(ScaleFormat::e8m0, 254), std::ldexp(1.0, 127));
    QVERIFY(std::isnan(decodeScale(ScaleFormat::e8m0, 255)));
    QCOMPARE(decodeScale(ScaleFormat::fp8_e4m3, 0x7E), 448.0);
    QCOMPARE(decodeScale(ScaleFormat::fp8_e4m3, 0x01), std::ldexp(1.0, -9));
    QVERIFY(std::isnan(decodeScale(ScaleFormat::fp8_e4m3, 0x7F)));
    QCOMPARE(decodeScale(ScaleFormat::fp32, bitsOf(0.25f)), 0.25);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decodeScale(ScaleFormat::none, 0));
  }

  // ---- block edge cases (MX) --------------------------------------------------------

  // floor(log2 0) = -inf: the smallest scale 2^-127 (0x00); zeros keep their signs
  // (mxint8 has no -0).
  void allZeroBlockHasTheSmallestScale_data() { formats_data(); }
  void allZeroBlockHasTheSmallestScale() {
    QFETCH(Precision, precision);
    const std::vector<float> zeros = {0.0f, -0.0f, 0.0f};
    const BlockQuantisation q = quantiseBlocks(precision, zeros);
    QCOMPARE(q.blocks.size(), std::size_t(1));
    if (formatInfo(precision).family == FormatFamily::mx) {
      QCOMPARE(q.blocks[0].scaleBits, 0x00u);
      QCOMPARE(q.blocks[0].scale, std::ldexp(1.0, -127));
    } else {
      QCOMPARE(q.blocks[0].scaleBits, 0x00u);  // nvfp4: e4m3 zero, the block is zeros
      QCOMPARE(q.tensorScale, std::ldexp(1.0f, -126));
    }
    const std::uint32_t negativeZero = precision == Precision::mxint8 ? 0u : 1u << (formatInfo(precision).totalBits - 1);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0u, negativeZero, 0u}));
    QVERIFY(q.values[0] == 0.0f && !std::signbit(q.values[0]));
    QCOMPARE(std::signbit(q.values[1]), precision != Precision::mxint8);
  }

  // A NaN or an inf has no e8m0 exponent: the block's scale is NaN (0xFF; NVFP4: e4m3's
  // 0x7F) and every value of that block decodes as NaN; the next block is untouched.
  void nanOrInfMakesTheBlockNan_data() {
    QTest::addColumn<Precision>("precision");
    QTest::addColumn<float>("special");
    for (Precision p : kBlockPrecisions) {
      QTest::newRow(qPrintable(name(p) + " nan")) << p << kNanF;
      QTest::newRow(qPrintable(name(p) + " inf")) << p << kInfF;
      QTest::newRow(qPrintable(name(p) + " -inf")) << p << -kInfF;
    }
  }
  void nanOrInfMakesTheBlockNan() {
    QFETCH(Precision, precision);
    QFETCH(float, special);
    const auto blockSize = std::size_t(formatInfo(precision).blockSize);
    std::vector<float> x(2 * blockSize, 1.0f);
    std::fill_n(x.begin(), blockSize, 100.0f);
    x[3] = special;
    x[blockSize + 1] = 4.0f;
    const BlockQuantisation q = quantiseBlocks(precision, x);
    QCOMPARE(q.blocks.size(), std::size_t(2));
    const bool mx = formatInfo(precision).family == FormatFamily::mx;
    QCOMPARE(q.blocks[0].scaleBits, mx ? kE8m0Nan : 0x7Fu);
    QVERIFY(std::isnan(q.blocks[0].scale));
    for (std::size_t i = 0; i < blockSize; ++i) {
      QVERIFY2(std::isnan(q.values[i]), qPrintable(QString::number(i)));
      QCOMPARE(q.elementBits[i], 0u);
    }
    QVERIFY(!std::isnan(q.blocks[1].scale));
    QCOMPARE(q.values[blockSize], 1.0f);
    QCOMPARE(q.values[blockSize + 1], mx ? 4.0f : q.values[blockSize + 1]);
    if (!mx) {
      // NVFP4's tensor amax skips the NaN block (whose 100s decode as NaN): 4 sets it.
      QCOMPARE(q.tensorAmax, 4.0);
      QVERIFY(std::fabs(q.values[blockSize + 1] - 4.0f) < 1e-5f);
    }
  }

  // amax exactly 4 = 2^2 and mxfp4 (emax 2): k = 2 - 2 = 0, scale 1, element 4 exact.
  // Just above (4 + 2^-21): still k = 0; 4.0000005 rounds to element 4.
  // Just below (4 - 2^-22): floor(log2) = 1, k = -1, scale 0.5: 3.9999998 / 0.5 =
  // 7.9999995 is beyond e2m1's 6 and saturates: the value becomes 6 * 0.5 = 3. This is
  // the rule as written (the scale's floor), and the spec's known cost.
  void amaxAtAndNearAPowerOfTwo() {
    const float above = std::nextafter(4.0f, 8.0f), below = std::nextafter(4.0f, 0.0f);
    BlockQuantisation q = quantiseBlocks(Precision::mxfp4, std::vector<float>{4.0f, 1.0f});
    QCOMPARE(q.blocks[0].scaleBits, 127u);
    QCOMPARE(q.values, (std::vector<float>{4.0f, 1.0f}));
    q = quantiseBlocks(Precision::mxfp4, std::vector<float>{above, 1.0f});
    QCOMPARE(q.blocks[0].scaleBits, 127u);
    QCOMPARE(q.values, (std::vector<float>{4.0f, 1.0f}));
    q = quantiseBlocks(Precision::mxfp4, std::vector<float>{below, 1.0f});
    QCOMPARE(q.blocks[0].scaleBits, 126u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7u, 0x4u}));  // 6 and 2
    QCOMPARE(q.values, (std::vector<float>{3.0f, 1.0f}));
  }

  // mxfp8_e4m3 (emax 8): amax 500, floor(log2 500) = 8, k = 0; 500 is beyond 448 and
  // saturates to 448 (0x7e); 300 rounds to 288 (step 32 in [256, 512): 300/32 = 9.375
  // -> 9, 1.125 * 2^8: field 15, fraction 001, 0x79); -460 saturates to -448 (0xfe).
  void elementsSaturate() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp8_e4m3, std::vector<float>{500.0f, 300.0f, -460.0f});
    QCOMPARE(q.blocks[0].scaleBits, 127u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7Eu, 0x79u, 0xFEu}));
    QCOMPARE(q.values, (std::vector<float>{448.0f, 288.0f, -448.0f}));
  }

  // mxfp4 with amax 6 (k = 0): e2m1's subnormal step is 0.5. 0.25 is a tie between 0
  // and 0.5 and goes to the even pattern 0; 0.3 rounds to 0.5 (0x1); -0.75 is a tie
  // between 0.5 (0x1, odd) and 1 (0x2, even): -1.
  // With amax 8 (k = 1, scale 2): 0.75 / 2 = 0.375 rounds to 0.5: value 1.
  void subnormalElements() {
    BlockQuantisation q = quantiseBlocks(Precision::mxfp4, std::vector<float>{6.0f, 0.25f, 0.3f, -0.75f});
    QCOMPARE(q.blocks[0].scaleBits, 127u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7u, 0x0u, 0x1u, 0xAu}));
    QCOMPARE(q.values, (std::vector<float>{6.0f, 0.0f, 0.5f, -1.0f}));
    q = quantiseBlocks(Precision::mxfp4, std::vector<float>{8.0f, 0.75f});
    QCOMPARE(q.blocks[0].scaleBits, 128u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x6u, 0x1u}));
    QCOMPARE(q.values, (std::vector<float>{8.0f, 1.0f}));
  }

  // e8m0's limits. FLT_MAX: floor(log2) = 127. mxfp4: k = 125 (0xfc); FLT_MAX / 2^125
  // = 7.99999952 saturates to 6: 1.5 * 2^127. mxint8 (emax 0): k = 127 (0xfe, the
  // largest scale); FLT_MAX / 2^127 * 64 = 127.99999 rounds to 128 and saturates to 127:
  // 127/64 * 2^127.
  // Tiny: amax 2^-149 gives k = -151 (mxfp4), clamped to -127 (0x00); 2^-149 / 2^-127 =
  // 2^-22 is below e2m1's 0.25 and becomes 0. mxfp8_e5m2 (emax 15) with amax 2^-140:
  // k = -155, clamped to -127; 2^-140 / 2^-127 = 2^-13 is an e5m2 normal (min 2^-14):
  // kept exactly.
  void e8m0Limits() {
    BlockQuantisation q = quantiseBlocks(Precision::mxfp4, std::vector<float>{FLT_MAX, -1e30f});
    QCOMPARE(q.blocks[0].scaleBits, 252u);
    QCOMPARE(q.values[0], std::ldexp(1.5f, 127));
    QCOMPARE(q.values[1], 0.0f);  // 1e30 / 2^125 = 2.35e-8 underflows
    q = quantiseBlocks(Precision::mxint8, std::vector<float>{FLT_MAX});
    QCOMPARE(q.blocks[0].scaleBits, 254u);
    QCOMPARE(q.elementBits[0], 0x7Fu);
    QCOMPARE(q.values[0], std::ldexp(127.0f / 64.0f, 127));
    const float smallest = std::ldexp(1.0f, -149);
    q = quantiseBlocks(Precision::mxfp4, std::vector<float>{smallest});
    QCOMPARE(q.blocks[0].scaleBits, 0u);
    QCOMPARE(q.values[0], 0.0f);
    q = quantiseBlocks(Precision::mxfp8_e5m2, std::vector<float>{std::ldexp(1.0f, -140), -std::ldexp(3.0f, -143)});
    QCOMPARE(q.blocks[0].scaleBits, 0u);
    QCOMPARE(q.values[0], std::ldexp(1.0f, -140));
    // -3 * 2^-143 / 2^-127 = -3 * 2^-16: e5m2's subnormal 3 (0x83), kept.
    QCOMPARE(q.elementBits[1], 0x83u);
    QCOMPARE(q.values[1], -std::ldexp(3.0f, -143));
  }

  // ---- hand-worked blocks -------------------------------------------------------------

  // mxfp4 [0.1, 1, 3, -7]: amax 7, floor(log2 7) = 2, emax 2: k = 0, scale 1 (0x7f).
  // 0.1 is nearer 0 than 0.5: 0 (0x0); 1 and 3 are elements (0x2, 0x5); -7 saturates
  // to -6 (0xf).
  void handWorkedMxfp4() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp4, std::vector<float>{0.1f, 1.0f, 3.0f, -7.0f});
    QCOMPARE(q.blocks[0].scaleBits, 0x7Fu);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x0u, 0x2u, 0x5u, 0xFu}));
    QCOMPARE(q.values, (std::vector<float>{0.0f, 1.0f, 3.0f, -6.0f}));
  }

  // mxfp6_e3m2 (bias 3) [1, 10, -0.3, 100]: amax 100, floor(log2 100) = 6, emax 4: k = 2,
  // scale 4 (0x81). 1/4 = 2^-2, the smallest normal (field 1): 0x04. 10/4 = 2.5 =
  // 1.25 * 2^1 (field 4, fraction 01): 0x11. -0.3/4 = -0.075: subnormal step 2^-4, 1.2
  // steps -> 1: -0.0625 (0x21), value -0.25. 100/4 = 25 in [16, 32), step 4: 6.25 -> 6,
  // 24 = 1.5 * 2^4 (field 7, fraction 10): 0x1e, value 96.
  void handWorkedMxfp6E3m2() {
    const BlockQuantisation q =
        quantiseBlocks(Precision::mxfp6_e3m2, std::vector<float>{1.0f, 10.0f, -0.3f, 100.0f});
    QCOMPARE(q.blocks[0].scaleBits, 0x81u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x04u, 0x11u, 0x21u, 0x1Eu}));
    QCOMPARE(q.values, (std::vector<float>{1.0f, 10.0f, -0.25f, 96.0f}));
  }

  // mxfp6_e2m3 (bias 1) [0.5, 1.1, 7]: amax 7, floor(log2 7) = 2 = emax: k = 0 (0x7f).
  // 0.5 = 4 subnormal steps of 1/8: 0x04. 1.1 in [1, 2), step 1/8: 8.8 -> 9, 1.125
  // (field 1, fraction 001): 0x09. 7 = 1.75 * 4 (field 3, fraction 110): 0x1e.
  void handWorkedMxfp6E2m3() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp6_e2m3, std::vector<float>{0.5f, 1.1f, 7.0f});
    QCOMPARE(q.blocks[0].scaleBits, 0x7Fu);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x04u, 0x09u, 0x1Eu}));
    QCOMPARE(q.values, (std::vector<float>{0.5f, 1.125f, 7.0f}));
  }

  // mxfp8_e4m3 [1000, 1]: floor(log2 1000) = 9, emax 8: k = 1, scale 2 (0x80).
  // 1000/2 = 500 saturates to 448 (0x7e): 896. 1/2 = 2^-1 (field 6): 0x30, value 1.
  void handWorkedMxfp8E4m3() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp8_e4m3, std::vector<float>{1000.0f, 1.0f});
    QCOMPARE(q.blocks[0].scaleBits, 0x80u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7Eu, 0x30u}));
    QCOMPARE(q.values, (std::vector<float>{896.0f, 1.0f}));
  }

  // mxfp8_e5m2 [3, 1e-6]: floor(log2 3) = 1, emax 15: k = -14, scale 2^-14 (0x71).
  // 3 * 2^14 = 49152 = 1.5 * 2^15 (field 30, fraction 10): 0x7a, exact. 1e-6 * 2^14 =
  // 0.016384 in [2^-6, 2^-5), step 2^-8: 4.19 -> 4, 2^-6 (field 9): 0x24, value
  // 2^-6 * 2^-14 = 2^-20.
  void handWorkedMxfp8E5m2() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp8_e5m2, std::vector<float>{3.0f, 1e-6f});
    QCOMPARE(q.blocks[0].scaleBits, 0x71u);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7Au, 0x24u}));
    QCOMPARE(q.values, (std::vector<float>{3.0f, std::ldexp(1.0f, -20)}));
  }

  // mxint8 [1, -0.3, 0.01]: floor(log2 1) = 0, emax 0: k = 0 (0x7f). Elements are
  // integers / 64: 1 -> 64 (0x40); -0.3 * 64 = -19.2 -> -19 (0xed), -0.296875;
  // 0.01 * 64 = 0.64 -> 1 (0x01), 0.015625.
  void handWorkedMxint8() {
    const BlockQuantisation q = quantiseBlocks(Precision::mxint8, std::vector<float>{1.0f, -0.3f, 0.01f});
    QCOMPARE(q.blocks[0].scaleBits, 0x7Fu);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x40u, 0xEDu, 0x01u}));
    QCOMPARE(q.values, (std::vector<float>{1.0f, -0.296875f, 0.015625f}));
  }

  // Two mxfp4 blocks of 32: each has its own scale. Block 1: 32 values of 0.75 (k =
  // floor(log2 0.75) - 2 = -3, scale 1/8: 6 exactly). Block 2: 32 values of 40 (k = 5 - 2
  // = 3, scale 8: 40/8 = 5, a tie between 4 (0x6) and 6 (0x7): 4, value 32). A third,
  // short block of one 0.1: k = -4 - 2 = -6, 0.1 * 64 = 6.4 -> 6: 0.09375.
  void blocksAreConsecutiveAndShortAtTheEnd() {
    std::vector<float> x(65, 0.75f);
    std::fill(x.begin() + 32, x.begin() + 64, 40.0f);
    x[64] = 0.1f;
    const BlockQuantisation q = quantiseBlocks(Precision::mxfp4, x);
    QCOMPARE(q.blocks.size(), std::size_t(3));
    QCOMPARE(q.blocks[0].first, std::size_t(0));
    QCOMPARE(q.blocks[1].first, std::size_t(32));
    QCOMPARE(q.blocks[2].first, std::size_t(64));
    QCOMPARE(q.blocks[2].count, std::size_t(1));
    QCOMPARE(q.blocks[0].scaleBits, 124u);
    QCOMPARE(q.blocks[1].scaleBits, 130u);
    QCOMPARE(q.blocks[2].scaleBits, 121u);
    QCOMPARE(q.values[0], 0.75f);
    QCOMPARE(q.elementBits[32], 0x6u);
    QCOMPARE(q.values[63], 32.0f);
    QCOMPARE(q.values[64], 0.09375f);
  }

  // nvfp4 [7, 1, 3, 0.1]: tensor amax 7; 7 / 2688 * 2^27 = 349525.33, so t = 349525 *
  // 2^-27 (19 significant bits, rounded down). Block amax 7: 7 / (6t) = 448.0004 rounds
  // to e4m3's 448 (0x7e). Elements are x / (448t), 448t = 1.1666655...: 7 -> 6.0000057,
  // saturates to 6 (0x7), value 2688t = 6.99999332...; 1 -> 0.857 -> 1 (0x2), value 448t;
  // 3 -> 2.571 -> 3 (0x5), value 1344t; 0.1 -> 0.0857 -> 0 (0x0).
  void handWorkedNvfp4() {
    const BlockQuantisation q = quantiseBlocks(Precision::nvfp4, std::vector<float>{7.0f, 1.0f, 3.0f, 0.1f});
    const double t = std::ldexp(349525.0, -27);
    QCOMPARE(double(q.tensorScale), t);
    QCOMPARE(q.tensorAmax, 7.0);
    QCOMPARE(q.blocks[0].scaleBits, 0x7Eu);
    QCOMPARE(q.blocks[0].scale, 448.0);
    QVERIFY(!q.blocks[0].steppedDown);
    QCOMPARE(q.elementBits, (std::vector<std::uint32_t>{0x7u, 0x2u, 0x5u, 0x0u}));
    QCOMPARE(q.values, (std::vector<float>{float(2688 * t), float(448 * t), float(1344 * t), 0.0f}));
  }

  // nvfp4 with a tensor amax of 2688 (t = 1 exactly) and two small blocks of 16:
  // block 2, amax 0.018: 0.018 / 6 = 0.003 = 1.536 e4m3 subnormal steps (2^-9) -> 2, s =
  // 2^-8. Its largest element would be 0.018 / 2^-8 = 4.608 -> 4, not 6: the decoded
  // block's amax (4 * 2^-8) would pick s = 2^-9 next time, so s steps down to 2^-9 now
  // (0x01): 0.018 / 2^-9 = 9.2 saturates to 6, value 6 * 2^-9 = 0.01171875.
  // block 3, amax 0.007: 0.007 / 6 / 2^-9 = 0.597 -> 1 step; 0.007 / 2^-9 = 3.58 -> 4, not
  // 6: steps down to 0, and the block is zeros.
  void handWorkedNvfp4StepDown() {
    std::vector<float> x(48, 0.0f);
    x[0] = 2688.0f;
    x[16] = 0.018f;
    x[32] = -0.007f;
    const BlockQuantisation q = quantiseBlocks(Precision::nvfp4, x);
    QCOMPARE(q.tensorScale, 1.0f);
    QCOMPARE(q.blocks[0].scaleBits, 0x7Eu);
    QCOMPARE(q.values[0], 2688.0f);
    QCOMPARE(q.blocks[1].scaleBits, 0x01u);
    QVERIFY(q.blocks[1].steppedDown);
    QCOMPARE(q.elementBits[16], 0x7u);
    QCOMPARE(q.values[16], 0.01171875f);
    QCOMPARE(q.blocks[2].scaleBits, 0x00u);
    QVERIFY(q.blocks[2].steppedDown);
    QCOMPARE(q.elementBits[32], 0x8u);  // -0
    QCOMPARE(q.values[32], -0.0f);
    QVERIFY(std::signbit(q.values[32]));
    // And so quantising the decoded tensor gives the same bits.
    const BlockQuantisation again = quantiseBlocks(Precision::nvfp4, q.values);
    QCOMPARE(again.elementBits, q.elementBits);
    for (std::size_t b = 0; b < q.blocks.size(); ++b) QCOMPARE(again.blocks[b].scaleBits, q.blocks[b].scaleBits);
  }

  // ---- refusals -------------------------------------------------------------------------

  // The scalar conversions refuse block-scaled formats, naming the function and the
  // format; the block functions refuse the scalar ones.
  void scalarConversionsRefuseBlockFormats() {
    float v = 1.0f;
    for (Precision p : kBlockPrecisions) {
      try {
        (void)encode(p, 1.0f);
        QFAIL("encode took a block-scaled format");
      } catch (const std::invalid_argument& e) {
        QVERIFY2(QString(e.what()).contains(QStringLiteral("encode: ") + name(p)), e.what());
        QVERIFY2(QString(e.what()).contains(QStringLiteral("block")), e.what());
      }
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, decode(p, 0));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, roundTo(p, 1.0f));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, classify(p, 0));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, roundArray(p, &v, &v, 1));
      std::uint8_t code = 0;
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encodeArray8(p, &v, &code, 1));
    }
    for (Precision p : kScalarPrecisions) {
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encodeElement(p, 1.0));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantiseBlocks(p, std::vector<float>{1.0f}));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument, quantiseDequantise(p, &v, &v, 1));
    }
  }
};

QTEST_GUILESS_MAIN(TestBlockFormats)
#include "tst_block_formats.moc"
