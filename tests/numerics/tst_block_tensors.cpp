// Block-scaled formats on whole tensors (engine/numerics/block_format.h): quantising the
// decoded values again gives the same bits, and the training loop's fast path (also in
// place, and by rows with a stride) and dequantiseBlocks agree with the reference bit for
// bit, on random tensors whose blocks span up to 40 binades. The element and block rules
// are in tst_block_formats.cpp.
#include <QtTest>
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "bits_text.h"
#include "numerics/block_format.h"

using namespace plab;
using plab::test::bitsOf;

Q_DECLARE_METATYPE(plab::Precision)

namespace {

const float kInfF = std::numeric_limits<float>::infinity();
const float kNanF = std::numeric_limits<float>::quiet_NaN();

bool sameFloats(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (bitsOf(a[i]) != bitsOf(b[i])) return false;
  }
  return true;
}
// Random values, some exactly zero, as a tensor of weights or gradients: gaussian, each
// run of 16 values scaled by its own 2^-(0..spread) and each value by 2^-(0..4), around
// a random centre. Large spreads put whole blocks far below the tensor's amax.
std::vector<float> randomTensor(std::mt19937& rng, std::size_t n, float spreadBinades) {
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::uniform_real_distribution<float> runBinades(-spreadBinades, 0.0f);
  std::uniform_real_distribution<float> valueBinades(-4.0f, 0.0f);
  std::uniform_real_distribution<float> base(-40.0f, 40.0f);
  const float centre = base(rng);
  std::vector<float> x(n);
  float run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) run = runBinades(rng);
    x[i] = gauss(rng) * std::exp2(centre + run + valueBinades(rng));
  }
  for (std::size_t i = 0; i < n; i += 17) x[i] = 0.0f;
  return x;
}

}  // namespace

class TestBlockTensors : public QObject {
  Q_OBJECT

 private slots:
  void formats_data() {
    QTest::addColumn<Precision>("precision");
    for (Precision p : kBlockPrecisions) QTest::newRow(toString(p).data()) << p;
  }

  // ---- whole tensors -------------------------------------------------------------------

  // Quantising the decoded values again gives the same bits: random tensors over a wide
  // range (up to 40 binades within a tensor, so that NVFP4 blocks also land below
  // e4m3's normal range), with zeros, a few NaN/inf, FLT_MAX and fp32 subnormals.
  void quantisingTwiceGivesTheSameBits_data() { formats_data(); }
  void quantisingTwiceGivesTheSameBits() {
    QFETCH(Precision, precision);
    std::mt19937 rng(42);
    int steppedDown = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<float> x = randomTensor(rng, 100 + std::size_t(trial % 70), float(trial % 41));
      if (trial % 10 == 3) x[5] = kNanF;
      if (trial % 10 == 4) x[7] = -kInfF;
      if (trial % 10 == 5) x[9] = FLT_MAX;
      if (trial % 10 == 6) x[11] = std::ldexp(3.0f, -149);
      const BlockQuantisation q = quantiseBlocks(precision, x);
      const BlockQuantisation again = quantiseBlocks(precision, q.values);
      QVERIFY2(again.elementBits == q.elementBits, qPrintable(QStringLiteral("trial %1").arg(trial)));
      QCOMPARE(again.tensorScale, q.tensorScale);
      QCOMPARE(again.blocks.size(), q.blocks.size());
      for (std::size_t b = 0; b < q.blocks.size(); ++b) {
        QVERIFY2(again.blocks[b].scaleBits == q.blocks[b].scaleBits,
                 qPrintable(QStringLiteral("trial %1 block %2").arg(trial).arg(b)));
        steppedDown += q.blocks[b].steppedDown ? 1 : 0;
      }
      QVERIFY(sameFloats(again.values, q.values));
    }
    if (precision == Precision::nvfp4) QVERIFY2(steppedDown > 0, "the step-down rule was never exercised");
  }

  // The fast path (also in place), dequantiseBlocks and the row form agree with the
  // reference bit for bit.
  void fastPathMatchesTheReference_data() { formats_data(); }
  void fastPathMatchesTheReference() {
    QFETCH(Precision, precision);
    std::mt19937 rng(9);
    for (int trial = 0; trial < 100; ++trial) {
      std::vector<float> x = randomTensor(rng, 1 + std::size_t(trial * 7), float(trial % 30));
      if (trial % 9 == 2) x[0] = kNanF;
      const BlockQuantisation q = quantiseBlocks(precision, x);
      std::vector<float> out(x.size());
      quantiseDequantise(precision, x.data(), out.data(), x.size());
      QVERIFY2(sameFloats(out, q.values), qPrintable(QStringLiteral("trial %1").arg(trial)));
      std::vector<float> inPlace = x;
      quantiseDequantise(precision, inPlace.data(), inPlace.data(), inPlace.size());
      QVERIFY(sameFloats(inPlace, q.values));
      QVERIFY(sameFloats(dequantiseBlocks(q), q.values));
    }
    // Rows: 5 rows of 64 values (a whole number of blocks of 16 and 32), 70 floats
    // apart; the 6 floats between rows hold 1e30, which must not be read (it would set
    // the scale). The same as quantising the 320 values in one go.
    const std::size_t rows = 5, cols = 64, stride = 70;
    std::vector<float> packed = randomTensor(rng, rows * cols, 12.0f);
    std::vector<float> strided(rows * stride, 1e30f);
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(packed.begin() + long(r * cols), cols, strided.begin() + long(r * stride));
    std::vector<float> out(strided.size(), -1.0f);
    quantiseDequantiseRows(precision, strided.data(), out.data(), rows, cols, stride);
    const BlockQuantisation whole = quantiseBlocks(precision, packed);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) {
        QCOMPARE(bitsOf(out[r * stride + c]), bitsOf(whole.values[r * cols + c]));
      }
      if (r + 1 < rows) QCOMPARE(out[r * stride + cols], -1.0f);  // the gap is not written
    }
  }
};

QTEST_GUILESS_MAIN(TestBlockTensors)
#include "tst_block_tensors.moc"
