// The IDX reader on real files: written here (plain and gzipped, valid and broken)
// and Debian's Fashion-MNIST when it is installed.
#include <QtTest>

#include <cmath>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/idx.h"
#include "idx_writer.h"

using nlohmann::json;
using namespace plab::testing;

namespace {

// Writes a complete IDX set (train 12 images, test 5, 4x3 pixels) into dir.
void writeSet(const QString& dir, bool gzip, std::uint32_t rows = 4, std::uint32_t cols = 3) {
  auto write = gzip ? writeGzip : writePlain;
  const QString ext = gzip ? ".gz" : "";
  QVERIFY(write(dir + "/train-images-idx3-ubyte" + ext, idxImages(12, rows, cols)));
  QVERIFY(write(dir + "/train-labels-idx1-ubyte" + ext, idxLabels(12)));
  QVERIFY(write(dir + "/t10k-images-idx3-ubyte" + ext, idxImages(5, rows, cols)));
  QVERIFY(write(dir + "/t10k-labels-idx1-ubyte" + ext, idxLabels(5)));
}

json idxSpec(const QString& dir) { return {{"name", "idx"}, {"path", dir.toStdString()}}; }

QString errorOf(const json& spec) {
  try {
    plab::loadDataset(spec, 0);
  } catch (const plab::DatasetError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

class TestIdxReader : public QObject {
  Q_OBJECT

 private slots:
  void readsPlainAndGzipped_data() {
    QTest::addColumn<bool>("gzip");
    QTest::newRow("plain") << false;
    QTest::newRow("gzip") << true;
  }
  void readsPlainAndGzipped() {
    QFETCH(bool, gzip);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeSet(dir.path(), gzip);
    const plab::Dataset d = plab::loadDataset(idxSpec(dir.path()), 0);
    QCOMPARE(d.trainCount, 12);
    QCOMPARE(d.testCount, 5);
    QCOMPARE(d.sampleShape, (plab::Shape{1, 4, 3}));
    QCOMPARE(d.numClasses, 10);  // largest label 9, + 1
    // Pixel i of image n is ((n*12 + i) * 7 + n) % 256 (idx_writer.h), scaled by 1/255.
    for (std::size_t i = 0; i < d.trainX.size(); ++i) {
      const std::size_t image = i / 12;
      const float expected = float((i * 7 + image) % 256) / 255.0f;
      QVERIFY2(d.trainX[i] == expected, qPrintable(QStringLiteral("pixel %1: %2 vs %3").arg(i).arg(d.trainX[i]).arg(expected)));
    }
    QCOMPARE(d.trainY[11], 1.0f);  // labels are i % 10
    QCOMPARE(d.testY[4], 4.0f);
  }

  void limitsCutTheSets() {
    QTemporaryDir dir;
    writeSet(dir.path(), true);
    json spec = idxSpec(dir.path());
    spec["limit_train"] = 7;
    spec["limit_test"] = 2;
    const plab::Dataset d = plab::loadDataset(spec, 0);
    QCOMPARE(d.trainCount, 7);
    QCOMPARE(d.trainX.size(), std::size_t(7 * 12));
    QCOMPARE(d.testY.size(), std::size_t(2));
  }

  void normalizeStandardisesWithTrainingStatistics() {
    QTemporaryDir dir;
    writeSet(dir.path(), false);
    json spec = idxSpec(dir.path());
    const plab::Dataset raw = plab::loadDataset(spec, 0);
    spec["normalize"] = true;
    const plab::Dataset d = plab::loadDataset(spec, 0);
    double sum = 0, sumSq = 0;
    for (float v : d.trainX) {
      sum += v;
      sumSq += double(v) * v;
    }
    const double n = double(d.trainX.size());
    QVERIFY2(std::abs(sum / n) < 1e-5, qPrintable(QStringLiteral("mean %1").arg(sum / n)));
    QVERIFY2(std::abs(sumSq / n - 1.0) < 1e-4, qPrintable(QStringLiteral("variance %1").arg(sumSq / n)));
    // The test set is mapped with the training statistics: same affine map, same order.
    const double scale = (d.trainX[1] - d.trainX[0]) / double(raw.trainX[1] - raw.trainX[0]);
    const double expected = d.trainX[0] + (raw.testX[5] - raw.trainX[0]) * scale;
    QVERIFY2(std::abs(d.testX[5] - expected) < 1e-5, qPrintable(QStringLiteral("test pixel %1 vs %2").arg(d.testX[5]).arg(expected)));
    spec["normalize"] = "yes";
    QVERIFY_THROWS_EXCEPTION(plab::DatasetError, plab::loadDataset(spec, 0));
  }

  // Each row breaks one file of a valid set and names what the message must say.
  void brokenFileGetsAnErrorNamingIt_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("gzip");
    QTest::addColumn<QString>("expected");
    const QByteArray images = idxImages(12, 4, 3);
    QTest::newRow("bad magic") << "train-images-idx3-ubyte" << QByteArray(16, '\0') + images.mid(16) << false
                               << "train-images-idx3-ubyte: bad magic 0x00000000, expected 0x00000803";
    QTest::newRow("labels magic in images") << "train-images-idx3-ubyte" << idxLabels(12) << true
                                            << "bad magic 0x00000801, expected 0x00000803";
    QTest::newRow("truncated images") << "train-images-idx3-ubyte" << images.left(images.size() - 5) << false
                                      << "train-images-idx3-ubyte: truncated: the header promises 144 bytes of images but only 139 follow";
    QTest::newRow("truncated header") << "t10k-labels-idx1-ubyte" << idxLabels(5).left(6) << false
                                      << "t10k-labels-idx1-ubyte: truncated: the header needs 8 bytes";
    QTest::newRow("empty file") << "t10k-images-idx3-ubyte" << QByteArray() << false << "too short for the IDX magic";
    QTest::newRow("trailing bytes") << "train-labels-idx1-ubyte" << idxLabels(12) + "xyz" << false
                                    << "3 unexpected bytes after the 12 labels";
    QTest::newRow("label count") << "train-labels-idx1-ubyte" << idxLabels(11) << true
                                 << "train-labels-idx1-ubyte.gz: 11 labels but train-images-idx3-ubyte.gz has 12 images";
    QTest::newRow("zero rows") << "train-images-idx3-ubyte" << idxImages(12, 0, 3) << false
                               << "wrong dims: images are 0x3";
    QTest::newRow("test dims differ") << "t10k-images-idx3-ubyte" << idxImages(5, 3, 4) << true
                                      << "wrong dims: images are 3x4 but the training images are 4x3";
  }
  void brokenFileGetsAnErrorNamingIt() {
    QFETCH(QString, file);
    QFETCH(QByteArray, bytes);
    QFETCH(bool, gzip);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    writeSet(dir.path(), gzip);
    const QString path = dir.path() + "/" + file + (gzip ? ".gz" : "");
    QVERIFY(gzip ? writeGzip(path, bytes) : writePlain(path, bytes));
    const QString error = errorOf(idxSpec(dir.path()));
    QVERIFY2(error.contains(expected), qPrintable(QStringLiteral("got \"%1\", expected \"%2\"").arg(error, expected)));
    QVERIFY2(error.contains(dir.path()), qPrintable("the message does not give the folder: " + error));
  }

  void truncatedGzipStreamIsReported() {
    QTemporaryDir dir;
    writeSet(dir.path(), true);
    const QString path = dir.path() + "/train-images-idx3-ubyte.gz";
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray whole = f.readAll();
    f.close();
    QVERIFY(writePlain(path, whole.left(whole.size() / 2)));
    const QString error = errorOf(idxSpec(dir.path()));
    QVERIFY2(error.contains(path) && error.contains("truncated"), qPrintable(error));
  }

  void missingFileIsNamed() {
    QTemporaryDir dir;
    writeSet(dir.path(), false);
    QVERIFY(QFile::remove(dir.path() + "/t10k-labels-idx1-ubyte"));
    const QString error = errorOf(idxSpec(dir.path()));
    QVERIFY2(error.contains(dir.path() + "/t10k-labels-idx1-ubyte.gz: file not found"), qPrintable(error));
  }

  void mnistLabelOutOfRangeIsReported() {
    QTemporaryDir dir;
    writeSet(dir.path(), false);
    QVERIFY(writePlain(dir.path() + "/train-labels-idx1-ubyte", idxLabels(12, 12)));  // labels 0..11
    const QString error = errorOf({{"name", "mnist"}, {"path", dir.path().toStdString()}});
    QVERIFY2(error.contains("label 10 at index 10 is out of range 0..9"), qPrintable(error));
  }

  void readsDebianFashionMnist() {
    const QString folder = "/usr/share/datasets/fashion-mnist";
    if (!QFile::exists(folder + "/train-images-idx3-ubyte.gz"))
      QSKIP("Debian's dataset-fashion-mnist is not installed (no /usr/share/datasets/fashion-mnist)");
    const plab::Dataset d = plab::loadDataset({{"name", "fashion-mnist"}}, 0);
    QCOMPARE(d.trainCount, 60000);
    QCOMPARE(d.testCount, 10000);
    QCOMPARE(d.sampleShape, (plab::Shape{1, 28, 28}));
    QCOMPARE(d.numClasses, 10);
    QCOMPARE(d.classNames.front(), std::string("T-shirt/top"));
    QCOMPARE(d.classNames.back(), std::string("Ankle boot"));
    const auto [lo, hi] = std::minmax_element(d.trainX.begin(), d.trainX.end());
    QCOMPARE(*lo, 0.0f);
    QCOMPARE(*hi, 1.0f);
    std::vector<int> perClass(10, 0);
    for (float y : d.trainY) ++perClass[std::size_t(y)];
    for (int c = 0; c < 10; ++c) QCOMPARE(perClass[std::size_t(c)], 6000);  // Fashion-MNIST is balanced
  }
};

QTEST_GUILESS_MAIN(TestIdxReader)
#include "tst_idx_reader.moc"
