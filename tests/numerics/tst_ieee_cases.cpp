// The scalar reference, one IEEE behaviour per test: ties to even, subnormals kept,
// underflow to signed zero, overflow to inf (fp16/bf16/tf32) or saturation (fp8, as
// CUDA's __nv_cvt_float_to_fp8 with __NV_SATFINITE), NaN kept. Each row gives an fp32
// input by its bits and the pattern the format must hold; failures print both in hex.
#include <QtTest>
#include <cmath>
#include <limits>

#include "bits_text.h"
#include "numerics/convert.h"

using namespace plab;
using plab::test::bitsOf;
using plab::test::describeFloat;
using plab::test::floatOf;
using plab::test::hex;

Q_DECLARE_METATYPE(plab::Precision)

namespace {

void addColumns() {
  QTest::addColumn<quint32>("inputBits");
  QTest::addColumn<quint32>("expectedBits");
}

void row(const char* name, float input, std::uint32_t expected) {
  QTest::newRow(name) << bitsOf(input) << expected;
}

void rowBits(const char* name, std::uint32_t inputBits, std::uint32_t expected) {
  QTest::newRow(name) << inputBits << expected;
}

// encode gives the expected pattern, and roundTo gives its decoded value.
void checkEncodes(Precision p) {
  QFETCH(quint32, inputBits);
  QFETCH(quint32, expectedBits);
  const float x = floatOf(inputBits);
  const int digits = formatInfo(p).totalBits / 4;
  const std::uint32_t got = encode(p, x);
  QVERIFY2(got == expectedBits,
           qPrintable(QStringLiteral("%1 of %2: got %3, want %4")
                          .arg(toString(p).data(), describeFloat(x), hex(got, digits),
                               hex(expectedBits, digits))));
  const float rounded = roundTo(p, x);
  const float decoded = decode(p, expectedBits);
  const bool same = bitsOf(rounded) == bitsOf(decoded) ||
                    (std::isnan(rounded) && std::isnan(decoded));
  QVERIFY2(same, qPrintable(QStringLiteral("roundTo(%1, %2) = %3, decode(%4) = %5")
                                .arg(toString(p).data(), describeFloat(x), describeFloat(rounded),
                                     hex(expectedBits, digits), describeFloat(decoded))));
}

const float kInf = std::numeric_limits<float>::infinity();
const float kFltMax = std::numeric_limits<float>::max();

}  // namespace

class TestIeeeCases : public QObject {
  Q_OBJECT

 private slots:
  void fp16MatchesIssueExamples_data() {
    addColumns();
    row("0.1", 0.1f, 0x2E66);
    row("65519 rounds down to max", 65519.0f, 0x7BFF);
    row("65520 overflows", 65520.0f, 0x7C00);
    row("1e-8 underflows", 1e-8f, 0x0000);
    row("4e-8 is the smallest subnormal", 4e-8f, 0x0001);
    row("-0", -0.0f, 0x8000);
  }
  void fp16MatchesIssueExamples() { checkEncodes(Precision::fp16); }

  void fp16RoundsTiesToEven_data() {
    addColumns();
    row("1 + 2^-11 tie down to 1", 1.0f + std::ldexp(1.0f, -11), 0x3C00);
    row("1 + 3*2^-11 tie up to even", 1.0f + 3 * std::ldexp(1.0f, -11), 0x3C02);
    row("just above tie rounds up", std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f), 0x3C01);
    row("subnormal tie 3*2^-25 up to 0x0002", 3 * std::ldexp(1.0f, -25), 0x0002);
    row("subnormal tie 5*2^-25 down to 0x0002", 5 * std::ldexp(1.0f, -25), 0x0002);
    row("max-subnormal tie carries into min normal", std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 0x0400);
    row("65504 + 16 tie goes to even (inf)", 65520.0f, 0x7C00);
    row("-1 - 2^-11 tie", -1.0f - std::ldexp(1.0f, -11), 0xBC00);
  }
  void fp16RoundsTiesToEven() { checkEncodes(Precision::fp16); }

  void fp16KeepsSubnormals_data() {
    addColumns();
    row("2^-24", std::ldexp(1.0f, -24), 0x0001);
    row("-2^-24", -std::ldexp(1.0f, -24), 0x8001);
    row("max subnormal", std::ldexp(1023.0f, -24), 0x03FF);
    row("min normal", std::ldexp(1.0f, -14), 0x0400);
    row("2^-20", std::ldexp(1.0f, -20), 0x0010);
  }
  void fp16KeepsSubnormals() { checkEncodes(Precision::fp16); }

  void fp16UnderflowsToSignedZero_data() {
    addColumns();
    row("half min subnormal is a tie to zero", std::ldexp(1.0f, -25), 0x0000);
    row("just above half min subnormal", std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001);
    row("-1e-8", -1e-8f, 0x8000);
    row("fp32 min subnormal", floatOf(0x00000001), 0x0000);
    row("-fp32 min subnormal", floatOf(0x80000001), 0x8000);
  }
  void fp16UnderflowsToSignedZero() { checkEncodes(Precision::fp16); }

  void fp16OverflowsToInf_data() {
    addColumns();
    row("just below the threshold", std::nextafter(65520.0f, 0.0f), 0x7BFF);
    row("threshold 65520", 65520.0f, 0x7C00);
    row("-65520", -65520.0f, 0xFC00);
    row("1e10", 1e10f, 0x7C00);
    row("fp32 max", kFltMax, 0x7C00);
    row("inf", kInf, 0x7C00);
    row("-inf", -kInf, 0xFC00);
  }
  void fp16OverflowsToInf() { checkEncodes(Precision::fp16); }

  void fp16KeepsNanQuiet_data() {
    addColumns();
    rowBits("quiet nan", 0x7FC00000, 0x7E00);
    rowBits("negative nan keeps sign", 0xFFC00000, 0xFE00);
    rowBits("signalling nan is quieted, payload top kept", 0x7F802000, 0x7E01);
    rowBits("nan payload only in low bits stays nan", 0x7F800001, 0x7E00);
  }
  void fp16KeepsNanQuiet() { checkEncodes(Precision::fp16); }

  void bf16MatchesIssueExample_data() {
    addColumns();
    row("0.1", 0.1f, 0x3DCD);
  }
  void bf16MatchesIssueExample() { checkEncodes(Precision::bf16); }

  void bf16RoundsTiesToEven_data() {
    addColumns();
    rowBits("tie down to even", 0x3F808000, 0x3F80);
    rowBits("tie up to even", 0x3F818000, 0x3F82);
    rowBits("above tie", 0x3F808001, 0x3F81);
    rowBits("fp32 subnormal tie down", 0x00008000, 0x0000);
    rowBits("fp32 subnormal tie up", 0x00018000, 0x0002);
    rowBits("largest subnormal carries to min normal", 0x007FFFFF, 0x0080);
  }
  void bf16RoundsTiesToEven() { checkEncodes(Precision::bf16); }

  void bf16KeepsSubnormals_data() {
    addColumns();
    rowBits("min subnormal 2^-133", 0x00010000, 0x0001);
    rowBits("-min subnormal", 0x80010000, 0x8001);
    rowBits("below half min subnormal underflows", 0x00007FFF, 0x0000);
    rowBits("max subnormal", 0x007F0000, 0x007F);
  }
  void bf16KeepsSubnormals() { checkEncodes(Precision::bf16); }

  void bf16OverflowsToInf_data() {
    addColumns();
    rowBits("largest value rounding to max", 0x7F7F7FFF, 0x7F7F);
    rowBits("tie above max goes to inf", 0x7F7F8000, 0x7F80);
    row("fp32 max", kFltMax, 0x7F80);
    row("-fp32 max", -kFltMax, 0xFF80);
    row("inf", kInf, 0x7F80);
  }
  void bf16OverflowsToInf() { checkEncodes(Precision::bf16); }

  void bf16KeepsNanQuiet_data() {
    addColumns();
    rowBits("quiet nan", 0x7FC00000, 0x7FC0);
    rowBits("signalling nan with low payload only", 0x7F800001, 0x7FC0);
    rowBits("negative nan with payload", 0xFFA10000, 0xFFE1);
  }
  void bf16KeepsNanQuiet() { checkEncodes(Precision::bf16); }

  void tf32RoundsTiesToEven_data() {
    addColumns();
    rowBits("tie down", 0x3F801000, 0x3F800000);
    rowBits("tie up", 0x3F803000, 0x3F804000);
    rowBits("above tie", 0x3F801001, 0x3F802000);
    rowBits("0.1", 0x3DCCCCCD, 0x3DCCC000);
    rowBits("subnormal tie", 0x00001000, 0x00000000);
    rowBits("min subnormal 2^-136", 0x00002000, 0x00002000);
  }
  void tf32RoundsTiesToEven() { checkEncodes(Precision::tf32); }

  void tf32OverflowsToInf_data() {
    addColumns();
    row("fp32 max", kFltMax, 0x7F800000);
    rowBits("largest staying finite", 0x7F7FEFFF, 0x7F7FE000);
    row("-inf", -kInf, 0xFF800000);
    rowBits("nan quieted", 0x7F800001, 0x7FC00000);
  }
  void tf32OverflowsToInf() { checkEncodes(Precision::tf32); }

  void fp32IsUnchanged_data() {
    addColumns();
    rowBits("0.1", 0x3DCCCCCD, 0x3DCCCCCD);
    rowBits("min subnormal", 0x00000001, 0x00000001);
    rowBits("signalling nan", 0x7F800001, 0x7F800001);
  }
  void fp32IsUnchanged() { checkEncodes(Precision::fp32); }

  void fp8E4m3SaturatesToMax_data() {
    addColumns();
    row("448 is max", 448.0f, 0x7E);
    row("464 tie rounds to even 448", 464.0f, 0x7E);
    row("just above 464 saturates", std::nextafter(464.0f, 1000.0f), 0x7E);
    row("480 (would be the nan pattern) saturates", 480.0f, 0x7E);
    row("1e9 saturates", 1e9f, 0x7E);
    row("-1e9 saturates", -1e9f, 0xFE);
    row("inf saturates (satfinite)", kInf, 0x7E);
    row("-inf saturates (satfinite)", -kInf, 0xFE);
  }
  void fp8E4m3SaturatesToMax() { checkEncodes(Precision::fp8_e4m3); }

  void fp8E4m3RoundsTiesToEven_data() {
    addColumns();
    row("1 + 2^-4 tie down", 1.0f + 0.0625f, 0x38);
    row("1 + 3*2^-4 tie up", 1.0f + 0.1875f, 0x3A);
    row("subnormal tie 2^-10 to zero", std::ldexp(1.0f, -10), 0x00);
    row("subnormal tie 3*2^-10 up", 3 * std::ldexp(1.0f, -10), 0x02);
    row("max subnormal tie carries to min normal", std::ldexp(15.0f, -10), 0x08);
  }
  void fp8E4m3RoundsTiesToEven() { checkEncodes(Precision::fp8_e4m3); }

  void fp8E4m3KeepsSubnormals_data() {
    addColumns();
    row("min subnormal 2^-9", std::ldexp(1.0f, -9), 0x01);
    row("-min subnormal", -std::ldexp(1.0f, -9), 0x81);
    row("max subnormal", std::ldexp(7.0f, -9), 0x07);
    row("min normal 2^-6", std::ldexp(1.0f, -6), 0x08);
    row("tiny negative underflows to -0", -1e-30f, 0x80);
  }
  void fp8E4m3KeepsSubnormals() { checkEncodes(Precision::fp8_e4m3); }

  void fp8E4m3NanIsCanonical_data() {
    // CUDA replaces any NaN input by 0x7FFFFFFF before converting: the sign is lost.
    addColumns();
    rowBits("quiet nan", 0x7FC00000, 0x7F);
    rowBits("negative nan", 0xFFC00000, 0x7F);
    rowBits("signalling nan", 0x7F800001, 0x7F);
  }
  void fp8E4m3NanIsCanonical() { checkEncodes(Precision::fp8_e4m3); }

  void fp8E5m2SaturatesToMax_data() {
    addColumns();
    row("57344 is max", 57344.0f, 0x7B);
    row("just below 61440 rounds to max", std::nextafter(61440.0f, 0.0f), 0x7B);
    row("61440 tie saturates", 61440.0f, 0x7B);
    row("1e30 saturates", 1e30f, 0x7B);
    row("inf saturates (satfinite)", kInf, 0x7B);
    row("-inf saturates (satfinite)", -kInf, 0xFB);
  }
  void fp8E5m2SaturatesToMax() { checkEncodes(Precision::fp8_e5m2); }

  void fp8E5m2RoundsTiesToEven_data() {
    addColumns();
    row("1 + 2^-3 tie down", 1.125f, 0x3C);
    row("1 + 3*2^-3 tie up", 1.375f, 0x3E);
    row("subnormal tie 2^-17 to zero", std::ldexp(1.0f, -17), 0x00);
    row("subnormal tie 3*2^-17 up", 3 * std::ldexp(1.0f, -17), 0x02);
  }
  void fp8E5m2RoundsTiesToEven() { checkEncodes(Precision::fp8_e5m2); }

  void fp8E5m2KeepsSubnormals_data() {
    addColumns();
    row("min subnormal 2^-16", std::ldexp(1.0f, -16), 0x01);
    row("max subnormal", std::ldexp(3.0f, -16), 0x03);
    row("min normal 2^-14", std::ldexp(1.0f, -14), 0x04);
    row("-min subnormal", -std::ldexp(1.0f, -16), 0x81);
  }
  void fp8E5m2KeepsSubnormals() { checkEncodes(Precision::fp8_e5m2); }

  void fp8E5m2NanIsCanonical_data() {
    addColumns();
    rowBits("quiet nan", 0x7FC00000, 0x7F);
    rowBits("negative nan", 0xFFC00000, 0x7F);
  }
  void fp8E5m2NanIsCanonical() { checkEncodes(Precision::fp8_e5m2); }

  void fp8E5m2DecodesInfAndNan() {
    QCOMPARE(decode(Precision::fp8_e5m2, 0x7C), kInf);
    QCOMPARE(decode(Precision::fp8_e5m2, 0xFC), -kInf);
    QVERIFY(std::isnan(decode(Precision::fp8_e5m2, 0x7D)));
    QVERIFY(std::isnan(decode(Precision::fp8_e4m3, 0xFF)));
    QCOMPARE(decode(Precision::fp8_e4m3, 0x78), 256.0f);  // e4m3's top exponent is finite
  }
};

QTEST_GUILESS_MAIN(TestIeeeCases)
#include "tst_ieee_cases.moc"
