// `precisionlab-cli numbers` run as a real process: the IEEE answers in --json,
// every format side by side, negative values before and after "--", the aligned table,
// and one-line errors with a non-zero exit for bad input.
#include <QtTest>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>

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
