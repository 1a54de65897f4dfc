// The array functions (every path this CPU runs: avx512, f16c, portable) against the
// scalar reference, bit for bit: every fp16/bf16/fp8 pattern round-trips, and a sweep of
// fp32 inputs (every exponent, each format's ties and boundaries, NaN payloads, and a
// stride through all 2^32 patterns) rounds, encodes and decodes identically.
#include <QtTest>
#include <cmath>
#include <string>
#include <vector>

#include "bits_text.h"
#include "numerics/convert.h"
#include "numerics/precision.h"

using namespace plab;
using plab::test::bitsOf;
using plab::test::floatOf;
using plab::test::hex;

Q_DECLARE_METATYPE(plab::Precision)

namespace {

bool sameBits(float a, float b) {
  return bitsOf(a) == bitsOf(b);
}

// fp32 patterns that sit on or next to format p's rounding decisions.
void addBoundaryInputs(Precision p, std::vector<float>& inputs) {
  const FormatInfo& f = formatInfo(p);
  const int dropBits = 23 - f.mantissaBits;
  for (std::uint32_t exponent = 0; exponent < 256; ++exponent) {
    for (std::uint32_t sign : {0u, 1u}) {
      const std::uint32_t base = (sign << 31) | (exponent << 23);
      for (std::uint32_t fraction : {0u, 1u, 0x7FFFFFu, 0x400000u, 0x2AAAAAu, 0x555555u}) {
        inputs.push_back(floatOf(base | fraction));
      }
      if (dropBits == 0) continue;
      const std::uint32_t half = 1u << (dropBits - 1);
      for (std::uint32_t keptLsb : {0u, 1u}) {  // ties with an even and an odd neighbour
        const std::uint32_t tie = base | (keptLsb << dropBits) | half;
        for (int delta = -1; delta <= 1; ++delta) inputs.push_back(floatOf(tie + delta));
      }
    }
  }
  // Around each fact: max (and the overflow threshold, half an ulp above), min normal,
  // min subnormal and half of it; each also just below and just above.
  const double maxUlp = std::ldexp(f.epsilon, std::ilogb(f.maxFinite));
  for (double v : {f.maxFinite, f.maxFinite + maxUlp / 2, f.maxFinite + maxUlp, f.minNormal,
                   f.minSubnormal, f.minSubnormal / 2, f.minSubnormal * 1.5}) {
    const float x = static_cast<float>(v);
    for (float y : {x, std::nextafter(x, 0.0f), std::nextafter(x, INFINITY)}) {
      inputs.push_back(y);
      inputs.push_back(-y);
    }
  }
  for (std::uint32_t nan : {0x7F800001u, 0x7FC00000u, 0x7FFFFFFFu, 0xFF800001u, 0xFFAAAAAAu,
                            0x7F802000u, 0x7F800000u, 0xFF800000u}) {
    inputs.push_back(floatOf(nan));
  }
}

// A stride through all 2^32 patterns: a prime step, so every bit position varies.
void addStrideInputs(std::vector<float>& inputs) {
  for (std::uint64_t b = 0; b < (1ull << 32); b += 4099) {
    inputs.push_back(floatOf(static_cast<std::uint32_t>(b)));
  }
}

std::vector<std::string> paths() { return availableConversionPaths(); }

}  // namespace

class TestFastPath : public QObject {
  Q_OBJECT

 private slots:
  void cleanup() { forceConversionPath(""); }

  void reportsPaths() {
    const std::vector<std::string> all = paths();
    QVERIFY(!all.empty());
    QCOMPARE(QString::fromStdString(all.back()), QStringLiteral("portable"));
    QCOMPARE(QString::fromStdString(all.front()), QString::fromLatin1(conversionPathName()));
    QVERIFY(!forceConversionPath("no-such-path"));
    qInfo("conversion paths on this CPU: %s", qPrintable(QString::fromStdString(
        [&] { std::string s; for (auto& p : all) s += p + " "; return s; }())));
  }

  void forcePortableSwitchesPath() {
    forcePortableConversion(true);
    QCOMPARE(QString::fromLatin1(conversionPathName()), QStringLiteral("portable"));
    forcePortableConversion(false);
    QCOMPARE(QString::fromLatin1(conversionPathName()), QString::fromStdString(paths().front()));
  }

  void every16BitPatternRoundTrips_data() {
    QTest::addColumn<Precision>("precision");
    QTest::addColumn<QString>("path");
    for (const std::string& path : paths()) {
      for (Precision p : {Precision::fp16, Precision::bf16}) {
        QTest::newRow((std::string(toString(p)) + " " + path).c_str()) << p << QString::fromStdString(path);
      }
    }
  }

  // decode then encode gives the same bits; a signalling NaN comes back quiet (its
  // quiet bit set, the rest of its payload kept), never as a number.
  void every16BitPatternRoundTrips() {
    QFETCH(Precision, precision);
    QFETCH(QString, path);
    QVERIFY(forceConversionPath(path.toStdString()));
    const std::uint32_t quietBit = precision == Precision::fp16 ? 0x0200u : 0x0040u;
    std::vector<std::uint16_t> patterns(65536), back(65536);
    std::vector<float> values(65536);
    for (std::uint32_t b = 0; b < 65536; ++b) patterns[b] = static_cast<std::uint16_t>(b);
    decodeArray16(precision, patterns.data(), values.data(), patterns.size());
    encodeArray16(precision, values.data(), back.data(), values.size());
    for (std::uint32_t b = 0; b < 65536; ++b) {
      const bool isNan = classify(precision, b) == ValueClass::nan;
      const std::uint32_t expected = isNan ? (b | quietBit) : b;
      const float reference = decode(precision, b);
      if (back[b] != expected || !sameBits(values[b], reference)) {
        QFAIL(qPrintable(QStringLiteral("%1 pattern %2: decoded %3 (reference %4), re-encoded %5")
                             .arg(toString(precision).data(), hex(b, 4), hex(bitsOf(values[b])),
                                  hex(bitsOf(reference)), hex(back[b], 4))));
      }
    }
  }

  void every8BitPatternRoundTrips_data() {
    QTest::addColumn<Precision>("precision");
    QTest::addColumn<QString>("path");
    for (const std::string& path : paths()) {
      for (Precision p : {Precision::fp8_e4m3, Precision::fp8_e5m2}) {
        QTest::newRow((std::string(toString(p)) + " " + path).c_str()) << p << QString::fromStdString(path);
      }
    }
  }

  // Every NaN comes back as the canonical 0x7F, and e5m2's +-inf as +-max finite (0x7B),
  // as CUDA's satfinite conversion gives; every other pattern comes back unchanged.
  void every8BitPatternRoundTrips() {
    QFETCH(Precision, precision);
    QFETCH(QString, path);
    QVERIFY(forceConversionPath(path.toStdString()));
    std::vector<std::uint8_t> patterns(256), back(256);
    std::vector<float> values(256);
    for (std::uint32_t b = 0; b < 256; ++b) patterns[b] = static_cast<std::uint8_t>(b);
    decodeArray8(precision, patterns.data(), values.data(), patterns.size());
    encodeArray8(precision, values.data(), back.data(), values.size());
    for (std::uint32_t b = 0; b < 256; ++b) {
      const ValueClass c = classify(precision, b);
      const std::uint32_t expected =
          c == ValueClass::nan ? 0x7Fu : c == ValueClass::inf ? ((b & 0x80u) | 0x7Bu) : b;
      const float reference = decode(precision, b);
      if (back[b] != expected || encode(precision, reference) != expected ||
          !sameBits(values[b], reference)) {
        QFAIL(qPrintable(QStringLiteral("%1 pattern %2: decoded %3 (reference %4), re-encoded %5, want %6")
                             .arg(toString(precision).data(), hex(b, 2), hex(bitsOf(values[b])),
                                  hex(bitsOf(reference)), hex(back[b], 2), hex(expected, 2))));
      }
    }
  }

  void arraysMatchReference_data() {
    QTest::addColumn<Precision>("precision");
    QTest::addColumn<QString>("path");
    for (const std::string& path : paths()) {
      for (Precision p : kScalarPrecisions) {
        QTest::newRow((std::string(toString(p)) + " " + path).c_str()) << p << QString::fromStdString(path);
      }
    }
  }

  void arraysMatchReference() {
    QFETCH(Precision, precision);
    QFETCH(QString, path);
    QVERIFY(forceConversionPath(path.toStdString()));
    std::vector<float> inputs;
    addBoundaryInputs(precision, inputs);
    addStrideInputs(inputs);
    checkRound(precision, inputs);
    checkEncode(precision, inputs);
  }

  // Lengths that are not a multiple of the vector width, at unaligned offsets, and in
  // place: the tails and the aliasing the training backend relies on.
  void arraysHandleTailsAndInPlace_data() { arraysMatchReference_data(); }

  void arraysHandleTailsAndInPlace() {
    QFETCH(Precision, precision);
    QFETCH(QString, path);
    QVERIFY(forceConversionPath(path.toStdString()));
    std::vector<float> inputs;
    addBoundaryInputs(precision, inputs);
    for (std::size_t offset : {0, 1, 3}) {
      for (std::size_t n = 0; n <= 70; ++n) {
        std::vector<float> buffer(inputs.begin() + offset, inputs.begin() + offset + n);
        roundArray(precision, buffer.data(), buffer.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          const float want = roundTo(precision, inputs[offset + i]);
          if (bitsOf(buffer[i]) != bitsOf(want)) {
            QFAIL(qPrintable(QStringLiteral("in place, n=%1 offset=%2 i=%3: %4 -> %5, want %6")
                                 .arg(n).arg(offset).arg(i).arg(hex(bitsOf(inputs[offset + i])),
                                 hex(bitsOf(buffer[i])), hex(bitsOf(want)))));
          }
        }
      }
    }
  }

 private:
  void checkRound(Precision p, const std::vector<float>& inputs) {
    std::vector<float> out(inputs.size());
    roundArray(p, inputs.data(), out.data(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const float want = roundTo(p, inputs[i]);
      if (bitsOf(out[i]) != bitsOf(want)) {
        QFAIL(qPrintable(QStringLiteral("roundArray(%1) of %2 gave %3, reference %4")
                             .arg(toString(p).data(), hex(bitsOf(inputs[i])), hex(bitsOf(out[i])),
                                  hex(bitsOf(want)))));
      }
    }
  }

  void checkEncode(Precision p, const std::vector<float>& inputs) {
    const int bits = formatInfo(p).totalBits;
    if (bits == 32) return;
    std::vector<std::uint32_t> got(inputs.size());
    if (bits == 16) {
      std::vector<std::uint16_t> out(inputs.size());
      encodeArray16(p, inputs.data(), out.data(), inputs.size());
      got.assign(out.begin(), out.end());
    } else {
      std::vector<std::uint8_t> out(inputs.size());
      encodeArray8(p, inputs.data(), out.data(), inputs.size());
      got.assign(out.begin(), out.end());
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::uint32_t want = encode(p, inputs[i]);
      if (got[i] != want) {
        QFAIL(qPrintable(QStringLiteral("encodeArray(%1) of %2 gave %3, reference %4")
                             .arg(toString(p).data(), hex(bitsOf(inputs[i])), hex(got[i], bits / 4),
                                  hex(want, bits / 4))));
      }
    }
  }
};

QTEST_GUILESS_MAIN(TestFastPath)
#include "tst_fast_path.moc"
