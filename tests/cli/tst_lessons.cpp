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
  // docs/lessons.md carries each lesson's own words (scripts/lessons-doc.py writes them):
  // a lesson changed without its page fails here.
  void thePageShowsEveryLesson() {
    QFile page(QStringLiteral(PLAB_SOURCE_DIR "/docs/lessons.md"));
    QVERIFY(page.open(QIODevice::ReadOnly));
    const std::string doc = page.readAll().toStdString();
    QDir dir(QStringLiteral(PLAB_SOURCE_DIR "/experiments/lessons"));
    for (const QString& name : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) {
      std::ifstream in(dir.filePath(name).toStdString());
      const json lesson = json::parse(in);
      std::vector<std::string> texts = {"### " + lesson["title"].get<std::string>(), lesson["description"].get<std::string>(),
                                        "What to watch: " + lesson["lesson"]["watch"].get<std::string>()};
      for (const json& c : lesson["lesson"]["claims"]) texts.push_back("- " + c["claim"].get<std::string>());
      for (const std::string& t : texts) {
        QVERIFY2(doc.find(t) != std::string::npos,
                 qPrintable(name + ": docs/lessons.md lacks \"" + QString::fromStdString(t.substr(0, 80)) +
                            "\"; run scripts/lessons-doc.py"));
      }
    }
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
    int held = 0;
    for (const json& c : s["claims"]) {
      // Only a claim bound to another backend (a tensor-core speed claim) may be
      // "not applicable" here; every other one must hold on the CPU backend.
      const bool elsewhere = c["status"] == "not applicable" && c["measured"].get<std::string>().find("needs the ") == 0;
      QVERIFY2(c["status"] == "holds" || elsewhere, qPrintable(QString::fromStdString(c.dump())));
      held += c["status"] == "holds" ? 1 : 0;
    }
    QVERIFY2(held > 0, "a lesson must check something on the CPU backend");
  }
};

QTEST_GUILESS_MAIN(TestLessons)
#include "tst_lessons.moc"
