// `precisionlab-cli selftest` as a real process: the table and the JSON, the exit
// codes (0 all passed, 1 a failure or nothing ran, 2 a backend that cannot run).
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include "numerics/precision.h"  // kAllPrecisions

namespace {

struct Result {
  int exitCode = -1;
  QByteArray out, err;
};

Result runCli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(PLAB_BINARY_DIR "/app/cli/precisionlab-cli"), args);
  Result r;
  if (!p.waitForFinished(120000)) return r;
  r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

}  // namespace

class TestSelftestCli : public QObject {
  Q_OBJECT

 private slots:
  void cpuSuitePassesWithJson();
  void tablePrintsToleranceAndVerdictPerCheck();
  void unusableBackendExitsTwo();
  void allSkipsWhatCannotRunAndSaysWhy();
  void filterMatchingNothingFails();
};

void TestSelftestCli::cpuSuitePassesWithJson() {
  const Result r = runCli({"selftest", "--backend", "cpu", "--json"});
  QVERIFY2(r.exitCode == 0, r.err.constData());
  const QJsonObject root = QJsonDocument::fromJson(r.out).object();
  QVERIFY(root.value("passed").toBool());
  QCOMPARE(root.value("failed").toInt(), 0);
  const QJsonArray backends = root.value("backends").toArray();
  QCOMPARE(backends.size(), 1);
  const QJsonObject cpu = backends[0].toObject();
  QCOMPARE(cpu.value("backend").toString(), QString("cpu"));
  const QJsonArray checks = cpu.value("checks").toArray();
  QVERIFY(checks.size() > 300);
  QCOMPARE(root.value("checks").toInt(), checks.size());
  QSet<QString> formats;
  for (const auto& c : checks) {
    const QJsonObject o = c.toObject();
    QVERIFY(!o.value("tolerance").toString().isEmpty());
    QVERIFY(o.value("pass").toBool());
    formats.insert(o.value("format").toString());
  }
  // Every format of the table: the six per-value ones and the seven block-scaled ones
  // (blockQuantise, conformance_block.cpp).
  QCOMPARE(formats.size(), int(plab::kAllPrecisions.size()));
}

void TestSelftestCli::tablePrintsToleranceAndVerdictPerCheck() {
  const Result r = runCli({"selftest", "--filter", "gemm NT"});
  QCOMPARE(r.exitCode, 0);
  const QString text = QString::fromUtf8(r.out);
  QVERIFY2(text.contains("1e-05*sum|terms|"), qPrintable(text));
  // Two shapes in each of six formats, and the two fp8 cases with scales 3, 5 -> 0.7.
  QCOMPARE(text.count(QRegularExpression("^gemm NT .* PASS$", QRegularExpression::MultilineOption)), 14);
  QCOMPARE(text.count(QRegularExpression("^gemm NT \\(fp8 scales", QRegularExpression::MultilineOption)), 2);
  QVERIFY(text.contains("selftest: 14 checks, 0 failed: PASS"));
}

void TestSelftestCli::unusableBackendExitsTwo() {
#ifdef PLAB_HAVE_CUDA
  QSKIP("this build has the CUDA backend; whether it can run depends on the machine");
#endif
  const Result r = runCli({"selftest", "--backend", "cuda"});
  QCOMPARE(r.exitCode, 2);
  QVERIFY2(r.err.contains("CUDA backend not built"), r.err.constData());
}

void TestSelftestCli::allSkipsWhatCannotRunAndSaysWhy() {
#ifdef PLAB_HAVE_CUDA
  QSKIP("this build has the CUDA backend; whether it can run depends on the machine");
#endif
  const Result r = runCli({"selftest", "--backend", "all", "--filter", "dropout"});
  QCOMPARE(r.exitCode, 0);
  QVERIFY2(r.out.contains("backend cuda: skipped (cuda backend unavailable: CUDA backend not built)"), r.out.constData());
  QVERIFY(r.out.contains("backend cpu:"));
}

void TestSelftestCli::filterMatchingNothingFails() {
  const Result r = runCli({"selftest", "--filter", "no such op"});
  QCOMPARE(r.exitCode, 1);
  QVERIFY2(r.err.contains("no check ran"), r.err.constData());
}

QTEST_GUILESS_MAIN(TestSelftestCli)
#include "tst_selftest_cli.moc"
