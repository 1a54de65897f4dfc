// `precisionlab-cli run` end to end: the real binary, real SQLite files, real
// datasets and real signals. Each bad input must give a clear error and exit code.
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <signal.h>
#include <unistd.h>

#include "cli_test_support.h"
#include "store/store.h"

using namespace plab;
using namespace plab::test;
using nlohmann::json;

namespace {

std::int64_t stepRows(const std::string& db) {
  try {
    RunReader reader(db);
    const auto runs = reader.listRuns();
    return runs.empty() ? 0 : std::int64_t(reader.loadSteps(runs.front().id).size());
  } catch (const std::exception&) {
    return 0;  // the file may not exist yet
  }
}

// Root ignores file permissions (CAP_DAC_OVERRIDE). Dropping that capability from the
// child's bounding set before exec makes a read-only file read-only for it, as it is
// for any other user; for a non-root user this is a harmless no-op.
void dropPermissionOverride(QProcess& p) {
  p.setChildProcessModifier([] {
    ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
    ::prctl(PR_CAPBSET_DROP, CAP_FOWNER, 0, 0, 0);
  });
}

// An IDX folder whose training images file has a wrong magic number.
QString corruptIdxFolder(const QDir& dir) {
  dir.mkpath("idx");
  const QDir idx(dir.filePath("idx"));
  QByteArray badImages("\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);  // magic 0x801: a label file's
  badImages.append(QByteArray(28 * 28, '\x10'));
  writeFile(idx.filePath("train-images-idx3-ubyte"), badImages);
  QByteArray labels("\x00\x00\x08\x01\x00\x00\x00\x01\x03", 9);
  writeFile(idx.filePath("train-labels-idx1-ubyte"), labels);
  writeFile(idx.filePath("t10k-images-idx3-ubyte"), badImages);
  writeFile(idx.filePath("t10k-labels-idx1-ubyte"), labels);
  return idx.path();
}

}  // namespace

class TestCliRun : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

 private slots:
  void runStoresReadableRunAndSummary() {
    const QString file = writeExperiment(QDir(dir_.path()), "ok.json", tinySpirals());
    const QString db = dir_.filePath("ok.sqlite"), summaryPath = dir_.filePath("summary.json");
    const CliResult r = runCli({"run", file, "--db", db, "--summary-json", summaryPath, "--backend", "cpu"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    QFile f(summaryPath);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const json s = json::parse(f.readAll().toStdString());
    for (const char* key : {"run_id", "status", "backend", "device", "steps", "skipped_steps", "overflow_events",
                            "final_loss_scale", "final_train_loss", "test_loss", "test_accuracy", "median_step_ms"})
      QVERIFY2(s.contains(key), key);
    QCOMPARE(QString::fromStdString(s["status"].get<std::string>()), QStringLiteral("completed"));
    QCOMPARE(s["steps"].get<int>(), 32);
    QVERIFY(s["median_step_ms"].get<double>() > 0);

    RunReader reader(db.toStdString());
    const auto run = reader.getRun(s["run_id"].get<std::int64_t>());
    QVERIFY(run.has_value());
    QCOMPARE(int(run->status), int(RunStatus::completed));
    QCOMPARE(reader.loadSteps(run->id).size(), std::size_t(32));
    QCOMPARE(reader.loadEpochs(run->id).size(), std::size_t(2));
    QVERIFY(!reader.loadLayerStats(run->id).empty());
    // Not a terminal: plain progress lines, no carriage returns.
    QVERIFY2(!r.out.contains('\r'), qPrintable(r.out));
    QVERIFY2(r.out.contains("epoch 2"), qPrintable(r.out));
  }

  // On a terminal the progress line is rewritten in place. `script` (util-linux, in
  // every Debian) gives the run a pseudo-terminal as its stdout.
  void progressLineOverwritesOnATerminal() {
    if (QStandardPaths::findExecutable("script").isEmpty()) QSKIP("util-linux `script` is not installed");
    json j = tinySpirals();
    j["epochs"] = 40;  // long enough for a few progress reports
    const QString file = writeExperiment(QDir(dir_.path()), "tty.json", j);
    const QString command = QString("'%1' run '%2' --db '%3'").arg(cliPath(), file, dir_.filePath("tty.sqlite"));
    QProcess p;
    p.start("script", {"-qec", command, "/dev/null"});
    QVERIFY(p.waitForFinished(60000));
    const QString out = QString::fromUtf8(p.readAllStandardOutput());
    QVERIFY2(p.exitCode() == 0, qPrintable(out));
    QVERIFY2(out.contains("\rstep "), qPrintable(out));
  }

  void benchPrintsJsonAndStoresTheResults() {
    const QString file = writeExperiment(QDir(dir_.path()), "bench.json", tinySpirals());
    const std::string db = dir_.filePath("bench.sqlite").toStdString();
    const CliResult r = runCli({"bench", file, "--json", "--steps", "5", "--warmup", "1", "--batch", "16", "--db",
                                QString::fromStdString(db), "--backend", "cpu"});
    QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
    const json j = json::parse(r.out.toStdString());
    QCOMPARE(j["results"].size(), std::size_t(5));
    for (const auto& result : j["results"]) QCOMPARE(result["batch_size"].get<int>(), 16);
    RunReader reader(db);
    const auto speed = reader.loadSpeed(j["run_id"].get<std::int64_t>());
    QCOMPARE(speed.size(), std::size_t(5));
    QCOMPARE(QString::fromStdString(speed[2].config), QStringLiteral("fp16-mixed"));
    QVERIFY(!speed[2].layers.empty());
  }

  void stopSignalCancelsAndFlushes_data() {
    QTest::addColumn<int>("signal");
    QTest::addColumn<int>("exitCode");
    QTest::newRow("SIGTERM") << int(SIGTERM) << 143;
    QTest::newRow("SIGINT (Ctrl-C)") << int(SIGINT) << 130;
  }
  void stopSignalCancelsAndFlushes() {
    QFETCH(int, signal);
    QFETCH(int, exitCode);
    const QString file = writeExperiment(QDir(dir_.path()), "long.json", endlessSpirals());
    const QString tag = QString::number(signal);
    const std::string db = dir_.filePath("term" + tag + ".sqlite").toStdString();
    const QString summaryPath = dir_.filePath("term" + tag + ".json");
    QProcess p;
    p.start(cliPath(), {"run", file, "--db", QString::fromStdString(db), "--summary-json", summaryPath});
    QVERIFY(p.waitForStarted());
    QVERIFY2(waitUntil([&] { return stepRows(db) > 0; }), "no step rows were committed within 20 s");
    ::kill(pid_t(p.processId()), signal);
    QVERIFY(p.waitForFinished(20000));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), exitCode);
    QFile f(summaryPath);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const json s = json::parse(f.readAll().toStdString());
    QCOMPARE(QString::fromStdString(s["status"].get<std::string>()), QStringLiteral("cancelled"));
    RunReader reader(db);
    const auto runs = reader.listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(int(runs[0].status), int(RunStatus::cancelled));
    // Everything was flushed: every step the run reports is in the store.
    QCOMPARE(std::int64_t(reader.loadSteps(runs[0].id).size()), s["steps"].get<std::int64_t>());
  }

  void killedRunIsMarkedInterruptedOnNextOpen() {
    const QString file = writeExperiment(QDir(dir_.path()), "long9.json", endlessSpirals());
    const std::string db = dir_.filePath("kill.sqlite").toStdString();
    QProcess p;
    p.start(cliPath(), {"run", file, "--db", QString::fromStdString(db)});
    QVERIFY(p.waitForStarted());
    QVERIFY2(waitUntil([&] { return stepRows(db) > 0; }), "no step rows were committed within 20 s");
    p.kill();  // SIGKILL: no chance to flush or finish
    QVERIFY(p.waitForFinished(10000));
    RunReader reader(db);
    const auto runs = reader.listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(QString(toString(runs[0].status)), QStringLiteral("interrupted"));
    QVERIFY(!reader.loadSteps(runs[0].id).empty());  // the committed rows are kept
  }

  void badInputsGiveClearErrors_data() {
    QTest::addColumn<QByteArray>("content");   // the experiment file ("" : built from `patch`)
    QTest::addColumn<QString>("patch");        // JSON merged into tinySpirals()
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");      // must appear in stderr
    QTest::newRow("malformed JSON") << QByteArray("{\"seed\": 1,\n \"dataset\": {") << "" << 2 << "malformed JSON";
    QTest::newRow("unknown layer type")
        << QByteArray() << R"({"network": {"layers": [{"type": "lienar", "out": 2}], "loss": "cross_entropy"}})" << 2
        << "layers[0].type";
    QTest::newRow("unknown precision")
        << QByteArray() << R"({"network": {"layers": [{"type": "linear", "out": 2, "precision": "fp61"}], "loss": "cross_entropy"}})"
        << 2 << "\"fp61\" is not one of fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2";
    QTest::newRow("shape mismatch: a layer")
        << QByteArray() << R"({"network": {"layers": [{"type": "conv2d", "out_channels": 4}, {"type": "flatten"},
                                {"type": "linear", "out": 2}], "loss": "cross_entropy"}})"
        << 2 << "layers[0] conv2d";
    QTest::newRow("shape mismatch: the output")
        << QByteArray() << R"({"network": {"layers": [{"type": "linear", "out": 3}], "loss": "cross_entropy"}})" << 2
        << "need output [2]";
    QTest::newRow("missing dataset")
        << QByteArray() << R"({"dataset": {"name": "fashion-mnist", "path": "/nonexistent/fashion", "train_size": null, "test_size": null}})" << 3
        << "/nonexistent/fashion";
    // One message form everywhere: FILE: KEY.PATH: what is wrong (issue 15).
    QTest::newRow("dataset key out of range")
        << QByteArray() << R"({"dataset": {"train_size": 0}})" << 3 << "bad.json: dataset.train_size: must be >= 1 (got 0)";
    QTest::newRow("null where an integer belongs")  // (a merge patch would delete the key)
        << QByteArray::fromStdString([] {
             json j = tinySpirals();
             j["batch_size"] = nullptr;
             return j.dump();
           }())
        << "" << 2 << "bad.json: batch_size: expected an integer, got null\n";
    QTest::newRow("NaN loss")
        << QByteArray()
        << R"({"network": {"layers": [{"type": "linear", "out": 16}, {"type": "linear", "out": 16, "precision": "fp16", "init_gain": 1000000},
               {"type": "relu", "precision": "fp16"}, {"type": "linear", "out": 2}], "loss": "cross_entropy"},
               "loss_scaling": {"mode": "dynamic"}})"
        << 1 << "step 1: the loss is";
    // fp8 saturates infinities (SATFINITE): with AdamW's decay at lr 1000 the weights
    // grow ninefold a step until the forward pass overflows fp32, and the saturated
    // logits gave a finite loss, so the run completed (issue 17).
    QTest::newRow("fp8 at lr 1000")
        << QByteArray() << R"({"network": {"layers": [{"type": "linear", "out": 32, "precision": "fp8_e4m3"},
               {"type": "relu", "precision": "fp8_e4m3"}, {"type": "linear", "out": 2, "precision": "fp8_e4m3"}],
               "loss": "cross_entropy"}, "optimizer": {"type": "adamw", "lr": 1000}, "epochs": 10})"
        << 1 << "the loss is inf; the first layer whose activations were not finite is layers[2] linear (fp8_e4m3)";
    // Hostile files (issue 17): none may end the process by a signal or flood stderr.
    QTest::newRow("nested 300000 deep") << "{\"title\": " + QByteArray(300000, '[') + QByteArray(300000, ']') + "}" << ""
                                        << 2 << "bad.json:1:74: nested deeper than 64 levels";
    QTest::newRow("NUL, then text") << QByteArray::fromStdString(tinySpirals().dump()) + '\0' + R"({"steps": 1})" << ""
                                    << 2 << "a NUL byte after the JSON value";
    QTest::newRow("100000 values where a number belongs")
        << QByteArray::fromStdString([] {
             json j = tinySpirals();
             j["dataset"]["train_size"] = json(std::vector<int>(100000, 7));
             return j.dump();
           }())
        << "" << 3 << "train_size: must be an integer (got [7,7,7";
    // Legal but enormous shapes: refused before training by the memory estimate
    // (model/memory_estimate.h), not ended by a bare std::bad_alloc or the OOM killer.
    QTest::newRow("linear at the maximum out")
        << QByteArray() << R"({"dataset": {"name": "spirals", "train_size": 1048576}, "batch_size": 1048576,
             "network": {"layers": [{"type": "linear", "out": 16777216}, {"type": "relu"}, {"type": "linear", "out": 2}],
                         "loss": "cross_entropy"}})"
        << 2 << "layers[0] linear: training needs at least";
    QTest::newRow("2^24 channels")
        << QByteArray() << R"({"dataset": {"name": "shapes"}, "network": {"layers": [{"type": "conv2d", "out_channels": 16777216},
             {"type": "flatten"}, {"type": "linear", "out": 4}], "loss": "cross_entropy"}})"
        << 2 << "layers[0] conv2d: training needs at least";
    QTest::newRow("huge padding")
        << QByteArray() << R"({"dataset": {"name": "shapes"}, "network": {"layers": [{"type": "conv2d", "out_channels": 4096, "padding": 1024},
             {"type": "flatten"}, {"type": "linear", "out": 4}], "loss": "cross_entropy"}})"
        << 2 << "layers[0] conv2d: training needs at least";
  }
  void badInputsGiveClearErrors() {
    QFETCH(QByteArray, content);
    QFETCH(QString, patch);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    QByteArray text = content;
    if (text.isEmpty()) {
      json j = tinySpirals();
      j.merge_patch(json::parse(patch.toStdString()));
      text = QByteArray::fromStdString(j.dump(2));
    }
    const QString file = writeFile(dir_.filePath("bad.json"), text);
    const QString db = dir_.filePath("bad.sqlite");
    const CliResult r = runCli({"run", file, "--db", db});
    QVERIFY2(r.exitStatus == QProcess::NormalExit, qPrintable("ended by a signal\n" + r.describe()));
    QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
    QVERIFY2(r.err.contains(message), qPrintable(r.describe()));
    QVERIFY2(!r.err.contains("terminate called"), qPrintable(r.describe()));
    QVERIFY2(r.err.size() < 2000, qPrintable(QString("stderr of %1 characters: %2...").arg(r.err.size()).arg(r.err.left(300))));
  }

  // An allocation that fails although the estimate passed (the estimate is a lower
  // bound, and the limit here is the address space, not physical memory) names the
  // layer and what it was allocating, instead of a bare std::bad_alloc.
  void failedAllocationNamesTheLayer() {
    json j = tinySpirals();
    j["network"]["layers"][0]["out"] = 16777216;  // 2 x 2^24 weights each side, a batch of 32 x 64 MiB outputs
    const QString file = writeExperiment(QDir(dir_.path()), "oom.json", j);
    const QString db = dir_.filePath("oom.sqlite");
    const CliResult r = runCli({"run", file, "--db", db}, 60000, [](QProcess& p) {
      p.setChildProcessModifier([] {
        const rlimit limit{rlim_t(1) << 30, rlim_t(1) << 30};  // 1 GiB of address space
        ::setrlimit(RLIMIT_AS, &limit);
      });
    });
    QVERIFY2(r.exitStatus == QProcess::NormalExit, qPrintable("ended by a signal\n" + r.describe()));
    QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
    QVERIFY2(r.err.contains(QRegularExpression(R"(layers\[[02]\] linear \(fp32\): out of memory allocating )")),
             qPrintable(r.describe()));
    QVERIFY2(!r.err.contains("std::bad_alloc"), qPrintable(r.describe()));
  }

  void corruptIdxNamesFileAndProblem() {
    json j = tinySpirals();
    j["dataset"] = {{"name", "idx"}, {"path", corruptIdxFolder(QDir(dir_.path())).toStdString()}};
    j["network"]["layers"] = json::array({{{"type", "flatten"}}, {{"type", "linear"}, {"out", 10}}});
    const QString file = writeExperiment(QDir(dir_.path()), "idx.json", j);
    const CliResult r = runCli({"run", file, "--db", dir_.filePath("idx.sqlite")});
    QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
    QVERIFY2(r.err.contains("train-images-idx3-ubyte") && r.err.contains("magic"), qPrintable(r.describe()));
  }

  void nanLossRunIsStoredFailed() {
    json j = tinySpirals();
    j["network"]["layers"][0]["precision"] = "fp16";
    j["network"]["layers"][0]["init_gain"] = 1e6;
    j["network"]["layers"][0]["out"] = 4096;  // sums of 2 inputs x 1e6-scale weights overflow fp16 anyway
    const QString file = writeExperiment(QDir(dir_.path()), "nan.json", j);
    const std::string db = dir_.filePath("nan.sqlite").toStdString();
    const CliResult r = runCli({"run", file, "--db", QString::fromStdString(db)});
    QVERIFY2(r.exitCode == 1, qPrintable(r.describe()));
    RunReader reader(db);
    const auto runs = reader.listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(int(runs[0].status), int(RunStatus::failed));
    QVERIFY2(QString::fromStdString(runs[0].error).contains("layers[0] linear (fp16)"), runs[0].error.c_str());
  }

  void readOnlyDatabaseGivesClearError() {
    // A database made by a normal run, then made read-only (file and folder).
    QDir(dir_.path()).mkpath("ro");
    const QString roDir = dir_.filePath("ro");
    const QString db = roDir + "/runs.sqlite";
    const QString file = writeExperiment(QDir(dir_.path()), "ro.json", tinySpirals());
    QCOMPARE(runCli({"run", file, "--db", db}).exitCode, 0);
    QFile::setPermissions(db, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther);
    QFile::setPermissions(roDir, QFileDevice::ReadOwner | QFileDevice::ExeOwner);
    const CliResult r = runCli({"run", file, "--db", db}, 60000, dropPermissionOverride);
    QFile::setPermissions(roDir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    QVERIFY2(r.exitCode == 4, qPrintable(r.describe()));
    QVERIFY2(r.err.contains("database") && r.err.contains("runs.sqlite"), qPrintable(r.describe()));
    QVERIFY2(!r.err.contains("terminate called"), qPrintable(r.describe()));
  }
};

QTEST_GUILESS_MAIN(TestCliRun)
#include "tst_cli_run.moc"
