// Every lesson in experiments/lessons runs as a sweep through the real binary, at full
// length on the CPU backend, and every one of its claims holds on the real runs.
// (scripts/check-lessons.sh checks the same on seeds 1-3; docs/lessons.md has its table.)
#include <QtTest>

#include <QTemporaryDir>

#include <fstream>

#include "cli_test_support.h"

using namespace plab::test;
using nlohmann::json;

class TestLessons : public QObject {
  Q_OBJECT
 private slots:
  void everyClaimHolds_data() {
    QTest::addColumn<QString>("file");
    QDir dir(QStringLiteral(PLAB_SOURCE_DIR "/experiments/lessons"));
    const QStringList files = dir.entryList({"*.json"}, QDir::Files, QDir::Name);
    QVERIFY(!files.isEmpty());
    for (const QString& name : files) QTest::newRow(qPrintable(name)) << dir.filePath(name);
  }
  void everyClaimHolds() {
    QFETCH(QString, file);
    QTemporaryDir dir;
    const QString summary = dir.filePath("summary.json");
    const CliResult r = runCli({"sweep", file, "--backend", "cpu", "--jobs", "2", "--db", dir.filePath("runs.sqlite"),
                                "--summary-json", summary}, 170000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    std::ifstream in(summary.toStdString());
    const json s = json::parse(in);
    QVERIFY2(!s["claims"].empty(), "a lesson without claims teaches nothing checkable");
    for (const json& c : s["claims"]) {
      QVERIFY2(c["status"] == "holds", qPrintable(QString::fromStdString(c.dump())));
    }
  }
};

QTEST_GUILESS_MAIN(TestLessons)
#include "tst_lessons.moc"
