// The synthetic sets, the "dataset" spec checks and the batch iterator.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/random.h"

using nlohmann::json;
using plab::Dataset;
using plab::DatasetError;

Q_DECLARE_METATYPE(std::string)

namespace {

// Cross-checked against an independent Python implementation of the same algorithms
// (SplitMix64, xoshiro256**, Lemire's bounded integers, Fisher-Yates).
constexpr std::uint64_t kXorHash = 0xafbdc7009ebe50f9ull;
constexpr const char* kShuffleOrder = "2 7 13 4 3 8 16 5 6 0";

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Index of the first float whose bits differ, for failure messages.
QString firstDifference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return QStringLiteral("sizes %1 vs %2").arg(a.size()).arg(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    if (x != y) return QStringLiteral("index %1: 0x%2 vs 0x%3").arg(i).arg(x, 8, 16, QChar('0')).arg(y, 8, 16, QChar('0'));
  }
  return "none";
}

}  // namespace

class TestDataset : public QObject {
  Q_OBJECT

 private slots:
  void syntheticSetHasDeclaredShape_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<qint64>("sampleSize");
    QTest::addColumn<int>("classes");
    QTest::newRow("spirals") << "spirals" << qint64(2) << 2;
    QTest::newRow("moons") << "moons" << qint64(2) << 2;
    QTest::newRow("circles") << "circles" << qint64(2) << 2;
    QTest::newRow("xor") << "xor" << qint64(2) << 2;
    QTest::newRow("blobs") << "blobs" << qint64(2) << 3;
    QTest::newRow("sine") << "sine" << qint64(1) << 0;
    QTest::newRow("shapes") << "shapes" << qint64(16 * 16) << 4;
  }
  void syntheticSetHasDeclaredShape() {
    QFETCH(QString, name);
    QFETCH(qint64, sampleSize);
    QFETCH(int, classes);
    const Dataset d = plab::loadDataset({{"name", name.toStdString()}, {"train_size", 300}, {"test_size", 70}}, 42);
    QCOMPARE(d.name, name.toStdString());
    QCOMPARE(d.trainCount, 300);
    QCOMPARE(d.testCount, 70);
    QCOMPARE(d.sampleSize(), sampleSize);
    QCOMPARE(d.numClasses, classes);
    QCOMPARE(qsizetype(d.trainX.size()), qsizetype(300 * sampleSize));
    QCOMPARE(qsizetype(d.testX.size()), qsizetype(70 * sampleSize));
    QCOMPARE(d.trainY.size(), std::size_t(300));
    QCOMPARE(d.testY.size(), std::size_t(70));
    QCOMPARE(int(d.classNames.size()), classes);
    for (float v : d.trainX) QVERIFY2(std::isfinite(v), qPrintable(QString::number(v)));
    if (classes > 0) {
      std::vector<int> perClass(std::size_t(classes), 0);
      for (float label : d.trainY) {
        QVERIFY2(label >= 0 && label < classes && label == std::floor(label), qPrintable(QString::number(label)));
        ++perClass[std::size_t(label)];
      }
      // Labels cycle through the classes: counts differ by at most one.
      const auto [lo, hi] = std::minmax_element(perClass.begin(), perClass.end());
      QVERIFY2(*hi - *lo <= 1, qPrintable(QStringLiteral("class counts %1..%2").arg(*lo).arg(*hi)));
    }
  }

  void sameSeedGivesSameBits_data() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"spirals", "moons", "circles", "xor", "blobs", "sine", "shapes"}) QTest::newRow(n) << n;
  }
  void sameSeedGivesSameBits() {
    QFETCH(QString, name);
    const json spec = {{"name", name.toStdString()}, {"train_size", 200}, {"test_size", 50}};
    const Dataset a = plab::loadDataset(spec, 7), b = plab::loadDataset(spec, 7), c = plab::loadDataset(spec, 8);
    QVERIFY2(sameBits(a.trainX, b.trainX), qPrintable(firstDifference(a.trainX, b.trainX)));
    QVERIFY2(sameBits(a.trainY, b.trainY), qPrintable(firstDifference(a.trainY, b.trainY)));
    QVERIFY2(sameBits(a.testX, b.testX), qPrintable(firstDifference(a.testX, b.testX)));
    QVERIFY2(!sameBits(a.trainX, c.trainX), "seed 8 gave the same inputs as seed 7");
    QVERIFY2(!sameBits(a.trainX, a.testX), "train and test drew the same numbers");
  }

  void testSizeDoesNotChangeTrainingSet() {
    const Dataset a = plab::loadDataset({{"name", "moons"}, {"test_size", 10}}, 3);
    const Dataset b = plab::loadDataset({{"name", "moons"}, {"test_size", 900}}, 3);
    QVERIFY2(sameBits(a.trainX, b.trainX), qPrintable(firstDifference(a.trainX, b.trainX)));
  }

  void noiseZeroPutsPointsOnTheCurves() {
    const Dataset d = plab::loadDataset({{"name", "circles"}, {"noise", 0}, {"train_size", 100}}, 1);
    for (std::int64_t i = 0; i < d.trainCount; ++i) {
      const double r = std::hypot(d.trainX[std::size_t(2 * i)], d.trainX[std::size_t(2 * i + 1)]);
      const double expected = d.trainY[std::size_t(i)] == 0 ? 1.0 : 0.5;
      QVERIFY2(std::abs(r - expected) < 1e-6, qPrintable(QStringLiteral("point %1: radius %2, expected %3").arg(i).arg(r).arg(expected)));
    }
    const Dataset s = plab::loadDataset({{"name", "sine"}, {"noise", 0}, {"train_size", 100}}, 1);
    for (std::int64_t i = 0; i < s.trainCount; ++i)
      QVERIFY(std::abs(s.trainY[std::size_t(i)] - std::sin(s.trainX[std::size_t(i)])) < 1e-6);
  }

  void optionsChangeTheSet() {
    const Dataset s = plab::loadDataset({{"name", "spirals"}, {"classes", 5}}, 1);
    QCOMPARE(s.numClasses, 5);
    const Dataset img = plab::loadDataset({{"name", "shapes"}, {"image_size", 12}, {"classes", 6}}, 1);
    QCOMPARE(img.sampleShape, (plab::Shape{1, 12, 12}));
    QCOMPARE(img.classNames.back(), std::string("cross"));
    // The figures are drawn: every image has ink (noise 0 -> pixels are 0 or brightness).
    const Dataset clean = plab::loadDataset({{"name", "shapes"}, {"noise", 0}, {"train_size", 60}}, 2);
    for (std::int64_t i = 0; i < clean.trainCount; ++i) {
      const auto begin = clean.trainX.begin() + i * clean.sampleSize();
      const long ink = std::count_if(begin, begin + clean.sampleSize(), [](float v) { return v > 0.5f; });
      QVERIFY2(ink >= 4, qPrintable(QStringLiteral("image %1 has %2 inked pixels").arg(i).arg(ink)));
    }
  }

  void specErrorNamesTheField_data() {
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not object") << R"("spirals")" << "dataset: must be an object";
    QTest::newRow("no name") << R"({"noise": 0.1})" << "dataset.name: missing";
    QTest::newRow("unknown name") << R"({"name": "spirels"})" << R"(dataset.name: "spirels" is not one of spirals)";
    QTest::newRow("negative noise") << R"({"name": "moons", "noise": -1})" << "dataset.noise: must be >= 0 (got -1)";
    // Before the run, not at its first step as a NaN loss.
    QTest::newRow("noise beyond its range") << R"({"name": "moons", "noise": 1e308})"
                                            << "dataset.noise: must be <= 1e+06 (got 1e+308)";
    QTest::newRow("noise string") << R"({"name": "moons", "noise": "a"})" << "dataset.noise: must be a number";
    QTest::newRow("zero train") << R"({"name": "xor", "train_size": 0})" << "dataset.train_size: must be >= 1 (got 0)";
    QTest::newRow("fractional size") << R"({"name": "xor", "test_size": 2.5})" << "dataset.test_size: must be an integer";
    QTest::newRow("too many classes") << R"({"name": "shapes", "classes": 9})" << "dataset.classes: must be <= 6 (got 9)";
    QTest::newRow("classes on moons") << R"({"name": "moons", "classes": 3})" << "dataset.classes: unknown key for dataset \"moons\"";
    QTest::newRow("misspelt key") << R"({"name": "sine", "nosie": 0.1})" << "dataset.nosie: unknown key";
    QTest::newRow("idx without path") << R"({"name": "idx"})" << "dataset.path: required";
    QTest::newRow("noise on idx") << R"({"name": "fashion-mnist", "noise": 0.1})" << "dataset.noise: unknown key for dataset \"fashion-mnist\"";
    QTest::newRow("negative limit") << R"({"name": "mnist", "limit_train": -5})" << "dataset.limit_train: must be >= 0";
    QTest::newRow("missing folder") << R"({"name": "idx", "path": "/nonexistent/plab"})" << "/nonexistent/plab: dataset folder not found";
  }
  void specErrorNamesTheField() {
    QFETCH(QString, spec);
    QFETCH(QString, expected);
    try {
      plab::loadDataset(json::parse(spec.toStdString()), 1);
      QFAIL(qPrintable("no error for " + spec));
    } catch (const DatasetError& e) {
      QVERIFY2(QString(e.what()).contains(expected), qPrintable(QStringLiteral("got \"%1\", expected it to contain \"%2\"").arg(e.what(), expected)));
    }
  }

  void batchOrderDependsOnSeedAndEpochOnly() {
    const Dataset d = plab::loadDataset({{"name", "blobs"}, {"train_size", 103}}, 5);
    plab::BatchIterator a(d, 10, 99), b(d, 10, 99), c(d, 10, 100);
    std::vector<float> xa, ya, xb, yb, xc, yc;
    b.startEpoch(3);  // b visits another epoch first; epoch 1 must not depend on it
    a.startEpoch(1);
    b.startEpoch(1);
    c.startEpoch(1);
    bool differsFromOtherSeed = false;
    for (int batch = 0; batch < 10; ++batch) {
      QVERIFY(a.next(xa, ya));
      QVERIFY(b.next(xb, yb));
      QVERIFY(c.next(xc, yc));
      QVERIFY2(sameBits(xa, xb), qPrintable(QStringLiteral("batch %1: %2").arg(batch).arg(firstDifference(xa, xb))));
      QVERIFY(sameBits(ya, yb));
      differsFromOtherSeed |= !sameBits(xa, xc);
    }
    QVERIFY2(!a.next(xa, ya), "drop_last: the 3 leftover examples must not make an 11th batch");
    QVERIFY(differsFromOtherSeed);
    QCOMPARE(a.batchesPerEpoch(), 10);
  }

  void epochVisitsEveryExampleOnce() {
    // Distinct inputs: sine's x values, so each example is identified by its x.
    const Dataset d = plab::loadDataset({{"name", "sine"}, {"train_size", 53}}, 11);
    plab::BatchIterator it(d, 8, 1, /*dropLast=*/false);
    QCOMPARE(it.batchesPerEpoch(), 7);
    for (int epoch = 0; epoch < 2; ++epoch) {
      it.startEpoch(epoch);
      std::multiset<float> seen;
      std::vector<float> x, y, firstBatch;
      int batches = 0;
      while (it.next(x, y)) {
        QCOMPARE(x.size(), y.size());
        if (batches++ == 0) firstBatch = x;
        seen.insert(x.begin(), x.end());
      }
      QCOMPARE(batches, 7);
      QCOMPARE(x.size(), std::size_t(53 - 6 * 8));  // the last batch holds the remainder
      QCOMPARE(seen, std::multiset<float>(d.trainX.begin(), d.trainX.end()));
      QVERIFY2(!sameBits(firstBatch, std::vector<float>(d.trainX.begin(), d.trainX.begin() + 8)), "not shuffled");
    }
  }

  // Stored runs are re-run from their config, so a generator or the shuffle must
  // never change its numbers. These two use no libm (XOR with noise 0 is built from
  // uniform draws only; the shuffle is integer arithmetic), so the values below hold
  // on every platform. If one of these fails, a change broke reproducibility.
  void xorWithoutNoiseMatchesRecordedBits() {
    const Dataset d = plab::loadDataset({{"name", "xor"}, {"noise", 0}, {"train_size", 100}, {"test_size", 10}}, 42);
    std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a over the float bits
    for (float v : d.trainX) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, 4);
      for (int b = 0; b < 4; ++b) hash = (hash ^ ((bits >> (8 * b)) & 0xFF)) * 0x100000001b3ull;
    }
    QVERIFY2(hash == kXorHash, qPrintable(QStringLiteral("hash 0x%1, recorded 0x%2").arg(hash, 16, 16, QChar('0')).arg(kXorHash, 16, 16, QChar('0'))));
  }

  void rngMatchesTheReferenceAlgorithms() {
    std::uint64_t state = 0;  // SplitMix64 from 0: the published first outputs
    QCOMPARE(plab::data::splitMix64(state), 0xe220a8397b1dcdafull);
    QCOMPARE(plab::data::splitMix64(state), 0x6e789e6aa1b965f4ull);
    QCOMPARE(plab::data::splitMix64(state), 0x06c45d188009454full);
    plab::data::Rng rng(42);  // xoshiro256** seeded through SplitMix64(42)
    QCOMPARE(rng.nextU64(), 0x15780b2e0c2ec716ull);
    QCOMPARE(rng.nextU64(), 0x6104d9866d113a7eull);
    QCOMPARE(rng.nextU64(), 0xae17533239e499a1ull);
  }

  void shuffleMatchesRecordedOrder() {
    Dataset d;
    d.name = "indices";
    d.sampleShape = plab::Shape{1};
    d.trainCount = 20;
    for (int i = 0; i < 20; ++i) {
      d.trainX.push_back(float(i));
      d.trainY.push_back(0);
    }
    plab::BatchIterator it(d, 10, 7);
    it.startEpoch(3);
    std::vector<float> x, y;
    QVERIFY(it.next(x, y));
    QString order;
    for (float v : x) order += QString::number(int(v)) + " ";
    QCOMPARE(order.trimmed(), QString(kShuffleOrder));
  }

  void batchLargerThanSetIsAnError() {
    const Dataset d = plab::loadDataset({{"name", "xor"}, {"train_size", 20}}, 1);
    try {
      plab::BatchIterator it(d, 64, 1);
      QFAIL("no error");
    } catch (const DatasetError& e) {
      QVERIFY2(QString(e.what()).contains("batch_size: 64 is larger than the 20 training examples"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(DatasetError, plab::BatchIterator(d, 0, 1));
  }
};

QTEST_GUILESS_MAIN(TestDataset)
#include "tst_dataset.moc"
