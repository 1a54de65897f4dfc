// `precisionlab-cli advise` end to end: a real fp32 probe of lesson 1's deep sigmoid
// network through the real trainer into a real SQLite file, its advice printed per
// layer, and the proposal written as an experiment that opens and says the same.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "cli_test_support.h"
#include "model/experiment.h"
#include "store/store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {
const QString kExperiment = QStringLiteral(PLAB_SOURCE_DIR "/experiments/moons-deep-sigmoid-fp16.json");
}

class TestCliAdvise : public QObject {
  Q_OBJECT
 private slots:
  void probesAndProposesPerLayer() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.sqlite"), proposal = dir.filePath("advised.json");
    const CliResult r = runCli({"advise", kExperiment, "--steps", "60", "--backend", "cpu", "--db", db, "--write", proposal},
                               120000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    QVERIFY2(r.out.contains("probe run 1: 60 steps in fp32"), qPrintable(r.out));

    // The probe is a stored run like any other, every layer in fp32.
    RunReader reader(db.toStdString());
    const auto probe = reader.getRun(1);
    QVERIFY(probe);
    QCOMPARE(probe->status, RunStatus::completed);
    for (const json& layer : probe->config["network"]["layers"]) QCOMPARE(layer["precision"].get<std::string>(), std::string("fp32"));
    QVERIFY(!reader.loadLayerStats(1).empty());

    // The proposal opens, and each layer's format is the one printed for it.
    const Experiment advised = loadExperimentFile(proposal.toStdString());
    QVERIFY2(advised.title.find("(advised)") != std::string::npos, advised.title.c_str());
    QCOMPARE(int(advised.network.layers.size()), 15);
    for (std::size_t i = 0; i < advised.network.layers.size(); ++i) {
      const QString line = QStringLiteral("layers[%1] ").arg(i);
      const int at = r.out.indexOf(line);
      QVERIFY2(at >= 0, qPrintable(line));
      const QString row = r.out.mid(at, r.out.indexOf('\n', at) - at);
      const QString format = QString::fromLatin1(toString(advised.network.layers[i].precision).data());
      QVERIFY2(row.contains("-> " + format), qPrintable(row + " / " + format));
    }
    QVERIFY(advised.description.find("Formats chosen by the precision advisor") != std::string::npos);
  }

  void aTightErrorBoundRulesOutTheNarrowFormats() {
    QTemporaryDir dir;
    const QString proposal = dir.filePath("advised.json");
    const CliResult r = runCli({"advise", kExperiment, "--steps", "40", "--backend", "cpu", "--db", dir.filePath("runs.sqlite"),
                                "--error-bound", "0.001", "--write", proposal},
                               120000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    const Experiment advised = loadExperimentFile(proposal.toStdString());
    for (const LayerSpec& layer : advised.network.layers)
      QVERIFY2(layer.precision == Precision::fp16 || layer.precision == Precision::fp32, toString(layer.precision).data());
    QVERIFY2(r.out.contains("exceeds the bound 0.001"), qPrintable(r.out));
  }

  // Lesson 13 trains the advisor's choice for its base as a fixed variant: the advisor
  // must still choose it, or the lesson shows a choice the advisor no longer makes.
  void lesson13ShowsTheAdvisorsCurrentChoice() {
    QTemporaryDir dir;
    std::ifstream in(PLAB_SOURCE_DIR "/experiments/lessons/13-advisor-choice.json");
    const json lesson = json::parse(in);
    const QString base = dir.filePath("base.json"), proposal = dir.filePath("advised.json");
    std::ofstream(base.toStdString()) << lesson["base"].dump(2);
    const CliResult r = runCli({"advise", base, "--steps", "300", "--underflow-limit", "0.001", "--backend", "cpu", "--db",
                                dir.filePath("runs.sqlite"), "--write", proposal},
                               120000);
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    const Experiment advised = loadExperimentFile(proposal.toStdString());
    json choice;
    for (const json& v : lesson["variants"])
      if (v["name"] == "the advisor's choice") choice = v["set"];
    QVERIFY(choice.is_object());
    QCOMPARE(int(choice.size()), int(advised.network.layers.size()));
    for (std::size_t i = 0; i < advised.network.layers.size(); ++i) {
      const std::string key = "network.layers[" + std::to_string(i) + "].precision";
      QCOMPARE(QString::fromStdString(choice[key].get<std::string>()),
               QString::fromLatin1(toString(advised.network.layers[i].precision).data()));
    }
    QVERIFY2(!r.out.contains(", \n"), qPrintable(r.out));  // a reason never ends in a dangling comma
  }

  void aBadFileIsNamed() {
    QTemporaryDir dir;
    const CliResult r = runCli({"advise", dir.filePath("missing.json"), "--db", dir.filePath("runs.sqlite")});
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(r.err.contains("missing.json"), qPrintable(r.describe()));
  }
};

QTEST_MAIN(TestCliAdvise)
#include "tst_cli_advise.moc"
