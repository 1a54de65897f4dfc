// `precisionlab-cli numbers` run as a real process: the IEEE answers in --json,
// every format side by side, negative values before and after "--", the aligned table,
// block-scaled formats block by block (JSON and table), and one-line errors with a
// non-zero exit for bad input.
#include <QtTest>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <cmath>

namespace {

struct CliResult {
  int exitCode = -1;
  QString out;
  QString err;
};

CliResult runCli(const QStringList& arguments) {
  QProcess process;
  process.start(QStringLiteral(PLAB_CLI_PATH), arguments);
  CliResult result;
  if (!process.waitForFinished(30000)) {
    result.err = QStringLiteral("did not finish: ") + process.errorString();
    return result;
  }
  result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;
  result.out = QString::fromUtf8(process.readAllStandardOutput());
  result.err = QString::fromUtf8(process.readAllStandardError());
  return result;
}

QJsonArray runJson(const QStringList& arguments) {
  const CliResult r = runCli(arguments);
  if (r.exitCode != 0) {
    qWarning("exit %d, stderr: %s", r.exitCode, qPrintable(r.err));
    return {};
  }
  QJsonParseError error;
  const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &error);
  if (!doc.isArray()) qWarning("not a JSON array (%s): %s", qPrintable(error.errorString()), qPrintable(r.out));
  return doc.array();
}

}  // namespace

class TestCliNumbers : public QObject {
  Q_OBJECT

 private slots:
  void fp16JsonGivesIeeeAnswers_data() {
    QTest::addColumn<int>("index");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("bits");
    QTest::addColumn<QString>("valueClass");
    QTest::newRow("0.1") << 0 << QJsonValue(0.0999755859375) << "0x2e66" << "normal";
    QTest::newRow("65519") << 1 << QJsonValue(65504.0) << "0x7bff" << "normal";
    QTest::newRow("65520") << 2 << QJsonValue(QStringLiteral("inf")) << "0x7c00" << "inf";
    QTest::newRow("1e-8") << 3 << QJsonValue(0.0) << "0x0000" << "zero";
    QTest::newRow("4e-8") << 4 << QJsonValue(5.960464477539063e-08) << "0x0001" << "subnormal";
    QTest::newRow("-0") << 5 << QJsonValue(-0.0) << "0x8000" << "zero";
  }

  void fp16JsonGivesIeeeAnswers() {
    QFETCH(int, index);
    QFETCH(QJsonValue, value);
    QFETCH(QString, bits);
    QFETCH(QString, valueClass);
    const QJsonArray array = runJson({"numbers", "--format", "fp16", "--json", "0.1", "65519",
                                      "65520", "1e-8", "4e-8", "-0"});
    QCOMPARE(array.size(), 6);
    const QJsonObject o = array.at(index).toObject();
    for (const char* key : {"input", "value", "bits", "class", "abs_error", "rel_error", "sign",
                            "exponent_field", "mantissa_field", "format"}) {
      QVERIFY2(o.contains(QLatin1String(key)), key);
    }
    QCOMPARE(o.value("value"), value);
    QCOMPARE(o.value("bits").toString(), bits);
    QCOMPARE(o.value("class").toString(), valueClass);
    QCOMPARE(o.value("format").toString(), QStringLiteral("fp16"));
  }

  void negativeZeroKeepsItsSign() {
    // QJsonDocument reads -0.0 back as 0, so the sign is checked in the text itself.
    const CliResult r = runCli({"numbers", "--format", "fp16", "--json", "-0"});
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains(QRegularExpression("\"value\":\\s*-0(\\.0)?\\s*[,}]")), qPrintable(r.out));
    const QJsonArray array = QJsonDocument::fromJson(r.out.toUtf8()).array();
    QCOMPARE(array.at(0).toObject().value("sign").toInt(), 1);
  }

  void underflowReportsFullRelativeError() {
    const QJsonObject o = runJson({"numbers", "--format", "fp16", "--json", "1e-8"}).at(0).toObject();
    QCOMPARE(o.value("abs_error").toDouble(), 1e-8);
    QCOMPARE(o.value("rel_error").toDouble(), 1.0);
  }

  void bf16OfOneTenth() {
    const QJsonObject o = runJson({"numbers", "--format", "bf16", "--json", "0.1"}).at(0).toObject();
    QCOMPARE(o.value("value").toDouble(), 0.10009765625);
    QCOMPARE(o.value("bits").toString(), QStringLiteral("0x3dcd"));
  }

  void fp8SaturatesInsteadOfInf() {
    const QJsonArray array = runJson({"numbers", "--format", "fp8_e4m3", "--json", "1000", "inf"});
    QCOMPARE(array.size(), 2);
    for (const QJsonValue& v : array) {
      QCOMPARE(v.toObject().value("value").toDouble(), 448.0);
      QCOMPARE(v.toObject().value("bits").toString(), QStringLiteral("0x7e"));
    }
  }

  void formatAllShowsEveryFormat() {
    const QJsonArray array = runJson({"numbers", "--format", "all", "--json", "0.1", "1e-8"});
    QCOMPARE(array.size(), 12);
    const QStringList expected = {"fp32", "tf32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2"};
    for (int i = 0; i < 12; ++i) {
      QCOMPARE(array.at(i).toObject().value("format").toString(), expected.at(i % 6));
    }
    QCOMPARE(array.at(0).toObject().value("bits").toString(), QStringLiteral("0x3dcccccd"));
    QCOMPARE(array.at(1).toObject().value("bits").toString(), QStringLiteral("0x3dccc000"));
  }

  void negativeValuesWorkBeforeAndAfterDashDash_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::newRow("direct") << QStringList{"numbers", "--format", "fp16", "--json", "-1e-8", "-0", "-2"};
    QTest::newRow("after --") << QStringList{"numbers", "--format", "fp16", "--json", "--", "-1e-8", "-0", "-2"};
    QTest::newRow("mixed around --") << QStringList{"numbers", "--format", "fp16", "--json", "-1e-8", "--", "-0", "-2"};
    QTest::newRow("options after values") << QStringList{"numbers", "-1e-8", "-0", "-2", "--json", "--format", "fp16"};
  }

  void negativeValuesWorkBeforeAndAfterDashDash() {
    QFETCH(QStringList, arguments);
    const QJsonArray array = runJson(arguments);
    QCOMPARE(array.size(), 3);
    QCOMPARE(array.at(0).toObject().value("bits").toString(), QStringLiteral("0x8000"));
    QCOMPARE(array.at(1).toObject().value("bits").toString(), QStringLiteral("0x8000"));
    QCOMPARE(array.at(2).toObject().value("bits").toString(), QStringLiteral("0xc000"));
  }

  void infAndNanAreStrings() {
    const QJsonArray array = runJson({"numbers", "--format", "fp16", "--json", "--", "-inf", "nan"});
    QCOMPARE(array.size(), 2);
    QCOMPARE(array.at(0).toObject().value("value").toString(), QStringLiteral("-inf"));
    QCOMPARE(array.at(0).toObject().value("input").toString(), QStringLiteral("-inf"));
    QCOMPARE(array.at(1).toObject().value("value").toString(), QStringLiteral("nan"));
    QCOMPARE(array.at(1).toObject().value("class").toString(), QStringLiteral("nan"));
  }

  void tableIsAligned() {
    const CliResult r = runCli({"numbers", "--format", "all", "0.1", "65520", "-1e-8"});
    QCOMPARE(r.exitCode, 0);
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 18);
    QVERIFY2(lines.at(0).startsWith("input"), qPrintable(lines.at(0)));
    // Every row starts each column where the header does.
    for (const char* column : {"format", "value", "bits", "class", "outcome"}) {
      const int at = lines.at(0).indexOf(QLatin1String(column));
      QVERIFY(at > 0);
      for (const QString& line : lines.mid(1)) {
        QVERIFY2(line.at(at - 1) == ' ' && line.at(at) != ' ',
                 qPrintable(QStringLiteral("column %1 at %2 in: %3").arg(column).arg(at).arg(line)));
      }
    }
    QVERIFY2(r.out.contains("0x7c00") && r.out.contains("overflow to inf"), qPrintable(r.out));
  }

  // A block-scaled format quantises the values as consecutive blocks: one JSON object
  // with the blocks' scales and the values. mxfp4 [0.1, 1, 3, -7]: one block, scale 1.
  void blockFormatJsonHasBlocksAndValues() {
    const CliResult r = runCli({"numbers", "--format", "mxfp4", "--json", "0.1", "1", "3", "-7"});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(o.value("format").toString(), QStringLiteral("mxfp4"));
    QCOMPARE(o.value("block_size").toInt(), 32);
    QCOMPARE(o.value("scale_format").toString(), QStringLiteral("e8m0"));
    QCOMPARE(o.value("bits_per_value").toDouble(), 4.25);
    QVERIFY(!o.contains("tensor_scale"));
    const QJsonArray blocks = o.value("blocks").toArray();
    QCOMPARE(blocks.size(), 1);
    QCOMPARE(blocks.at(0).toObject().value("scale_bits").toString(), QStringLiteral("0x7f"));
    QCOMPARE(blocks.at(0).toObject().value("scale").toDouble(), 1.0);
    QCOMPARE(blocks.at(0).toObject().value("count").toInt(), 4);
    const QJsonArray values = o.value("values").toArray();
    QCOMPARE(values.size(), 4);
    const QJsonObject last = values.at(3).toObject();
    QCOMPARE(last.value("bits").toString(), QStringLiteral("0xf"));
    QCOMPARE(last.value("value").toDouble(), -6.0);
    QCOMPARE(last.value("element").toDouble(), -6.0);
    QCOMPARE(last.value("block").toInt(), 0);
    QCOMPARE(last.value("outcome").toString(), QStringLiteral("saturated to the largest element"));
    QCOMPARE(values.at(0).toObject().value("outcome").toString(), QStringLiteral("underflow to zero"));
  }

  // nvfp4 [7, 1, 3, 0.1]: t = 349525 * 2^-27 (7 / 2688 rounded down to 19 bits), block
  // scale 448 (0x7e); a NaN block (the next 16 values) has scale 0x7f and NaN values.
  void nvfp4JsonHasTheTensorScale() {
    QStringList arguments = {"numbers", "--format", "nvfp4", "--json", "7", "1", "3", "0.1"};
    for (int i = 0; i < 12; ++i) arguments << "0";
    arguments << "nan" << "5";
    const CliResult r = runCli(arguments);
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(o.value("tensor_scale").toDouble(), std::ldexp(349525.0, -27));
    QCOMPARE(o.value("tensor_amax").toDouble(), 7.0);
    QCOMPARE(o.value("bits_per_value").toDouble(), 4.5);
    const QJsonArray blocks = o.value("blocks").toArray();
    QCOMPARE(blocks.size(), 2);
    QCOMPARE(blocks.at(0).toObject().value("scale_bits").toString(), QStringLiteral("0x7e"));
    QCOMPARE(blocks.at(0).toObject().value("scale").toDouble(), 448.0);
    QCOMPARE(blocks.at(1).toObject().value("scale_bits").toString(), QStringLiteral("0x7f"));
    QCOMPARE(blocks.at(1).toObject().value("scale").toString(), QStringLiteral("nan"));
    QCOMPARE(o.value("values").toArray().at(17).toObject().value("value").toString(), QStringLiteral("nan"));
  }

  // The table: the format's line, then each block's scale before its values, the
  // columns aligned as for the other formats. 32 x 0.5 then 40: block 1 has scale
  // 2^(floor(log2 0.5) - 2) = 2^-3 (0x7c); block 2 (value 33) 2^(5 - 2) = 8 (0x82), and
  // 40 / 8 = 5 is a tie that goes to the even element 4: 32.
  void blockFormatTableShowsEachBlocksScale() {
    QStringList arguments = {"numbers", "--format", "mxfp4"};
    for (int i = 0; i < 32; ++i) arguments << "0.5";
    arguments << "40";
    const CliResult r = runCli(arguments);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("mxfp4: e2m1 elements in blocks of 32, one e8m0 scale per block: 4.25 bits per value\n"),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("block 1, values 1-32: e8m0 scale 0x7c = 0.125 (2^-3)\n"), qPrintable(r.out));
    QVERIFY2(r.out.contains("block 2, value 33: e8m0 scale 0x82 = 8 (2^3)\n"), qPrintable(r.out));
    const QStringList lines = r.out.split('\n', Qt::SkipEmptyParts);
    const int header = int(lines.indexOf(QRegularExpression("input .*")));  // a whole-line match
    QVERIFY(header > 0);
    QStringList rows;
    for (const QString& line : lines.mid(header + 1)) {
      if (!line.startsWith("block ")) rows << line;
    }
    QCOMPARE(rows.size(), 33);
    for (const char* column : {"format", "value", "bits", "class", "outcome"}) {
      const int at = lines.at(header).indexOf(QLatin1String(column));
      for (const QString& line : rows) {
        QVERIFY2(line.at(at - 1) == ' ' && line.at(at) != ' ',
                 qPrintable(QStringLiteral("column %1 at %2 in: %3").arg(column).arg(at).arg(line)));
      }
    }
    QVERIFY2(rows.last().startsWith("40 ") && rows.last().contains(" 32 ") && rows.last().contains("0x6"),
             qPrintable(rows.last()));
  }

  void badInputGivesOneLineError_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("named");
    QTest::newRow("unknown format") << QStringList{"numbers", "--format", "fp61", "1"} << "fp61";
    QTest::newRow("not a number") << QStringList{"numbers", "--format", "fp16", "1", "abc"} << "abc";
    QTest::newRow("trailing junk") << QStringList{"numbers", "--format", "fp16", "1.5x"} << "1.5x";
    QTest::newRow("no value") << QStringList{"numbers", "--format", "fp16"} << "VALUE";
  }

  void badInputGivesOneLineError() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, named);
    const CliResult r = runCli(arguments);
    QVERIFY2(r.exitCode > 0, qPrintable(QStringLiteral("exit %1").arg(r.exitCode)));
    QVERIFY(r.out.isEmpty());
    QCOMPARE(r.err.trimmed().count('\n'), 0);
    QVERIFY2(r.err.contains(named), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestCliNumbers)
#include "tst_cli_numbers.moc"
