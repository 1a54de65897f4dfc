// Shape inference: what each layer makes of a sample, and the messages for networks
// that do not fit (they name the layer and both shapes).
#include <QtTest>

#include "data/dataset.h"
#include "model_test_util.h"

using namespace plab;
using namespace plab::test;

namespace {

Shape shapeOf(const QList<qint64>& dims) { return Shape(std::vector<std::int64_t>(dims.begin(), dims.end())); }

}  // namespace

class ShapeInference : public QObject {
  Q_OBJECT

 private slots:
  void infersOutputShapes_data() {
    QTest::addColumn<QString>("layers");
    QTest::addColumn<QList<qint64>>("sample");
    QTest::addColumn<QList<qint64>>("output");
    QTest::addColumn<qint64>("parameters");
    QTest::newRow("mlp 784-256-128-10")
        << R"([{"type": "flatten"}, {"type": "linear", "out": 256}, {"type": "relu"},
              {"type": "linear", "out": 128}, {"type": "relu"}, {"type": "linear", "out": 10}])"
        << QList<qint64>{1, 28, 28} << QList<qint64>{10}
        << qint64(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
    QTest::newRow("cnn conv-pool-conv-pool-linear")
        << R"([{"type": "conv2d", "out_channels": 8, "padding": 1}, {"type": "maxpool2d"},
              {"type": "conv2d", "out_channels": 16}, {"type": "avgpool2d"},
              {"type": "flatten"}, {"type": "linear", "out": 10}])"
        << QList<qint64>{1, 28, 28} << QList<qint64>{10}
        << qint64(8 * 9 + 8 + 16 * 8 * 9 + 16 + 16 * 6 * 6 * 10 + 10);
    QTest::newRow("conv stride 2 padding 1") << R"([{"type": "conv2d", "out_channels": 4, "stride": 2, "padding": 1}])"
                                             << QList<qint64>{3, 5, 5} << QList<qint64>{4, 3, 3}
                                             << qint64(4 * 3 * 9 + 4);
    QTest::newRow("maxpool 3 stride 2 padding 1") << R"([{"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1}])"
                                                  << QList<qint64>{2, 7, 7} << QList<qint64>{2, 4, 4} << qint64(0);
    QTest::newRow("batchnorm2d keeps the shape") << R"([{"type": "batchnorm2d"}, {"type": "gelu"}])"
                                                 << QList<qint64>{5, 4, 4} << QList<qint64>{5, 4, 4} << qint64(10);
    QTest::newRow("batchnorm1d and dropout") << R"([{"type": "linear", "out": 6}, {"type": "batchnorm1d"}, {"type": "dropout"}])"
                                             << QList<qint64>{2} << QList<qint64>{6} << qint64(2 * 6 + 6 + 12);
  }

  void infersOutputShapes() {
    QFETCH(QString, layers);
    QFETCH(QList<qint64>, sample);
    QFETCH(QList<qint64>, output);
    QFETCH(qint64, parameters);
    const auto infos = inferShapes(networkFromJson(layers.toStdString()), shapeOf(sample));
    QCOMPARE(QString::fromStdString(infos.back().outputShape.toString()),
             QString::fromStdString(shapeOf(output).toString()));
    qint64 total = 0;
    for (const auto& info : infos) total += info.parameterCount;
    QCOMPARE(total, parameters);
    for (std::size_t i = 1; i < infos.size(); ++i) QVERIFY(infos[i].inputShape == infos[i - 1].outputShape);
  }

  void reportsMismatchWithLayerAndShapes_data() {
    QTest::addColumn<QString>("layers");
    QTest::addColumn<QList<qint64>>("sample");
    QTest::addColumn<int>("layerIndex");
    QTest::addColumn<QString>("message");
    QTest::newRow("linear after conv without flatten")
        << R"([{"type": "conv2d", "out_channels": 8, "padding": 1}, {"type": "maxpool2d"}, {"type": "linear", "out": 10}])"
        << QList<qint64>{1, 28, 28} << 2
        << "layers[2] linear: expects input [1568] (flattened), got [8, 14, 14]; add a flatten layer";
    QTest::newRow("conv2d on flat points") << R"([{"type": "conv2d", "out_channels": 4}])" << QList<qint64>{2} << 0
                                           << "layers[0] conv2d: expects input [channels, height, width], got [2]; "
                                              "this dataset's samples are flat vectors, not images (conv2d needs an "
                                              "image dataset: shapes, mnist, fashion-mnist)";
    QTest::newRow("kernel larger than the input")
        << R"([{"type": "relu"}, {"type": "conv2d", "out_channels": 4, "kernel": 5}])" << QList<qint64>{1, 3, 3} << 1
        << "layers[1] conv2d: kernel 5 is larger than the input [1, 3, 3] with padding 0";
    QTest::newRow("pool after flatten") << R"([{"type": "flatten"}, {"type": "maxpool2d"}])" << QList<qint64>{1, 4, 4}
                                        << 1
                                        << "layers[1] maxpool2d: expects input [channels, height, width], got [16]; "
                                           "it needs images, not flat vectors (put it before any flatten)";
    QTest::newRow("batchnorm1d on images") << R"([{"type": "batchnorm1d"}])" << QList<qint64>{3, 8, 8} << 0
                                           << "layers[0] batchnorm1d: expects input [features], got [3, 8, 8]; use batchnorm2d for images";
    QTest::newRow("batchnorm2d on features") << R"([{"type": "linear", "out": 4}, {"type": "batchnorm2d"}])"
                                             << QList<qint64>{2} << 1
                                             << "layers[1] batchnorm2d: expects input [channels, height, width], got [4]; use batchnorm1d for flat features";
  }

  void reportsMismatchWithLayerAndShapes() {
    QFETCH(QString, layers);
    QFETCH(QList<qint64>, sample);
    QFETCH(int, layerIndex);
    QFETCH(QString, message);
    try {
      inferShapes(networkFromJson(layers.toStdString()), shapeOf(sample));
      QFAIL("no ShapeError");
    } catch (const ShapeError& e) {
      QCOMPARE(QString::fromUtf8(e.what()), message);
      QCOMPARE(e.layerIndex, layerIndex);
    }
  }

  void summaryCountsBytesAtTheLayerFormat() {
    const auto infos = inferShapes(
        networkFromJson(R"([{"type": "linear", "out": 256, "precision": "fp16"},
                            {"type": "batchnorm1d", "precision": "bf16"},
                            {"type": "linear", "out": 10, "precision": "fp8_e4m3"},
                            {"type": "linear", "out": 10, "precision": "tf32"}])"),
        Shape{784});
    QCOMPARE(infos[0].name, std::string("layers[0] linear"));
    QCOMPARE(infos[0].weightBytes, qint64((784 * 256 + 256) * 2));
    QCOMPARE(infos[0].activationBytesPerSample, qint64(256 * 2));
    QCOMPARE(infos[1].weightBytes, qint64(2 * 256 * 4));  // batch-norm parameters stay fp32
    QCOMPARE(infos[1].activationBytesPerSample, qint64(256 * 2));
    QCOMPARE(infos[2].weightBytes, qint64(256 * 10 + 10));
    QCOMPARE(infos[3].weightBytes, qint64((10 * 10 + 10) * 4));  // tf32 is stored in 32 bits
  }

  void outputMustFitTheDataset_data() {
    QTest::addColumn<QString>("layers");
    QTest::addColumn<QString>("loss");
    QTest::addColumn<int>("classes");
    QTest::addColumn<QString>("message");
    QTest::newRow("fits") << R"([{"type": "linear", "out": 3}])" << "cross_entropy" << 3 << "";
    QTest::newRow("too many outputs") << R"([{"type": "linear", "out": 5}])" << "cross_entropy" << 2
                                      << "network output [5] does not fit dataset test: its 2 classes need output [2] "
                                         "(the last linear layer's out)";
    QTest::newRow("mse on classes") << R"([{"type": "linear", "out": 2}])" << "mse" << 2
                                    << "network.loss: dataset test has class labels; use cross_entropy";
    QTest::newRow("regression fits") << R"([{"type": "linear", "out": 1}])" << "mse" << 0 << "";
    QTest::newRow("cross entropy on regression") << R"([{"type": "linear", "out": 1}])" << "cross_entropy" << 0
                                                 << "network.loss: dataset test has regression targets; use mse";
  }

  void outputMustFitTheDataset() {
    QFETCH(QString, layers);
    QFETCH(QString, loss);
    QFETCH(int, classes);
    QFETCH(QString, message);
    Dataset data;
    data.name = "test";
    data.sampleShape = Shape{2};
    data.numClasses = classes;
    data.targetSize = 1;
    QString got;
    try {
      inferShapesForDataset(networkFromJson(layers.toStdString(), loss.toStdString()), data);
    } catch (const ShapeError& e) {
      got = QString::fromUtf8(e.what());
      QCOMPARE(e.layerIndex, -1);
    }
    QCOMPARE(got, message);
  }
};

QTEST_GUILESS_MAIN(ShapeInference)
#include "tst_shapes.moc"
