// One run record (engine/core/run_record.h) whichever way a run reaches the GUI.
// The same short fp16 experiment with dynamic loss scaling (so that the scale grows
// and overflows) runs twice: once through the GUI's worker client, once headless
// (`precisionlab-cli run`, a real second process) while the GUI follows it in the
// store (RunFollower). Both end with the same rows in RunData, scale growth included,
// and with the backend they really ran on. A run written in stages with speed results
// is followed to the same RunData as when loaded whole; and the GUI's CSV export and
// `precisionlab-cli export` write the same bytes for the same stored run.
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QtTest>
#include <cmath>
#include <csignal>
#include <sys/types.h>

#include "gui_test_support.h"
#include "report/csv_export.h"
#include "runs/run_follower.h"
#include "runs/run_loader.h"
#include "runs/worker_client.h"
#include "store/store.h"

using namespace plab;
using namespace plab::ui;

namespace {

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Compares what does not depend on timing; names the first difference.
QString stepDifference(const StepMetrics& a, const StepMetrics& b) {
  if (a.step != b.step || a.epoch != b.epoch) return QStringLiteral("step/epoch");
  if (!same(a.loss, b.loss)) return QStringLiteral("loss %1 vs %2").arg(a.loss).arg(b.loss);
  if (!same(a.lossScale, b.lossScale)) return QStringLiteral("loss scale");
  if (a.overflow != b.overflow || a.skipped != b.skipped) return QStringLiteral("overflow/skipped");
  if (a.culprit != b.culprit) return QStringLiteral("culprit");
  if (!same(a.gradNorm, b.gradNorm)) return QStringLiteral("grad norm");
  if (!same(a.learningRate, b.learningRate)) return QStringLiteral("learning rate");
  return {};
}

bool sameStats(const LayerStatsRecord& a, const LayerStatsRecord& b) {
  return a.step == b.step && a.layerIndex == b.layerIndex && a.layerName == b.layerName && a.kind == b.kind &&
         a.precision == b.precision && a.stats.count == b.stats.count && a.stats.zeros == b.stats.zeros &&
         a.stats.underflows == b.stats.underflows && a.stats.overflows == b.stats.overflows &&
         a.stats.nonFinite == b.stats.nonFinite && same(a.stats.maxAbs, b.stats.maxAbs) &&
         a.stats.log2Hist == b.stats.log2Hist;
}

// The rows of two runs of one experiment; `timed`: also the timings (the same run twice).
QString recordDifference(const RunRecord& a, const RunRecord& b, bool timed) {
  if (a.steps.size() != b.steps.size()) return QStringLiteral("%1 vs %2 steps").arg(a.steps.size()).arg(b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    QString d = stepDifference(a.steps[i], b.steps[i]);
    if (d.isEmpty() && timed && (!same(a.steps[i].stepMs, b.steps[i].stepMs) ||
                                 !same(a.steps[i].samplesPerSecond, b.steps[i].samplesPerSecond)))
      d = QStringLiteral("timing");
    if (!d.isEmpty()) return QStringLiteral("step row %1: %2").arg(i).arg(d);
  }
  if (a.overflows.size() != b.overflows.size()) return QStringLiteral("overflow count");
  for (std::size_t i = 0; i < a.overflows.size(); ++i) {
    const auto &x = a.overflows[i], &y = b.overflows[i];
    if (x.step != y.step || !same(x.scaleBefore, y.scaleBefore) || !same(x.scaleAfter, y.scaleAfter) || x.layers != y.layers)
      return QStringLiteral("overflow %1").arg(i);
  }
  if (a.scaleGrowths.size() != b.scaleGrowths.size())
    return QStringLiteral("%1 vs %2 scale growths").arg(a.scaleGrowths.size()).arg(b.scaleGrowths.size());
  for (std::size_t i = 0; i < a.scaleGrowths.size(); ++i) {
    const auto &x = a.scaleGrowths[i], &y = b.scaleGrowths[i];
    if (x.step != y.step || !same(x.scaleBefore, y.scaleBefore) || !same(x.scaleAfter, y.scaleAfter))
      return QStringLiteral("scale growth %1").arg(i);
  }
  if (a.epochs.size() != b.epochs.size()) return QStringLiteral("epoch count");
  for (std::size_t i = 0; i < a.epochs.size(); ++i) {
    const auto &x = a.epochs[i], &y = b.epochs[i];
    if (x.epoch != y.epoch || x.step != y.step || !same(x.trainLoss, y.trainLoss) || !same(x.trainAccuracy, y.trainAccuracy) ||
        !same(x.testLoss, y.testLoss) || !same(x.testAccuracy, y.testAccuracy))
      return QStringLiteral("epoch %1").arg(i);
  }
  if (a.layerStats.size() != b.layerStats.size())
    return QStringLiteral("%1 vs %2 layer statistics").arg(a.layerStats.size()).arg(b.layerStats.size());
  for (std::size_t i = 0; i < a.layerStats.size(); ++i)
    if (!sameStats(a.layerStats[i], b.layerStats[i])) return QStringLiteral("layer statistics row %1").arg(i);
  if (a.speed.size() != b.speed.size()) return QStringLiteral("speed count");
  for (std::size_t i = 0; i < a.speed.size(); ++i) {
    const auto &x = a.speed[i], &y = b.speed[i];
    if (x.config != y.config || x.batchSize != y.batchSize || x.measuredSteps != y.measuredSteps ||
        x.layers.size() != y.layers.size())
      return QStringLiteral("speed %1").arg(i);
    if (timed && (!same(x.medianStepMs, y.medianStepMs) || !same(x.samplesPerSecond, y.samplesPerSecond)))
      return QStringLiteral("speed %1 timing").arg(i);
    for (std::size_t l = 0; l < x.layers.size(); ++l)
      if (x.layers[l].layerName != y.layers[l].layerName ||
          (timed && (!same(x.layers[l].forwardMs, y.layers[l].forwardMs) || !same(x.layers[l].backwardMs, y.layers[l].backwardMs))))
        return QStringLiteral("speed %1 layer %2").arg(i).arg(l);
  }
  // The summary's figures that are not timings or ids.
  for (const char* key : {"status", "error", "backend", "device", "steps", "skipped_steps", "overflow_events",
                          "final_loss_scale", "final_train_loss", "test_loss", "test_accuracy"})
    if (a.summary.value(key, nlohmann::json()) != b.summary.value(key, nlohmann::json()))
      return QStringLiteral("summary.%1: %2 vs %3")
          .arg(key, QString::fromStdString(a.summary.value(key, nlohmann::json()).dump()),
               QString::fromStdString(b.summary.value(key, nlohmann::json()).dump()));
  return {};
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

StepMetrics stepAt(std::int64_t s) {
  StepMetrics m;
  m.step = s;
  m.loss = s == 3 ? std::nan("") : 1.0 / double(s);
  m.lossScale = 1024;
  m.gradNorm = s == 3 ? INFINITY : 0.5;
  m.learningRate = 1e-3;
  m.stepMs = 0.25 * double(s);
  m.samplesPerSecond = 1000;
  return m;
}

}  // namespace

class TestGuiRecord : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;
  nlohmann::json experiment_;
  qint64 guiRun_ = 0, headlessRun_ = 0;
  RunDataPtr live_, followed_;
  std::size_t stepsBeforeFollowing_ = 0;

  QString path(const QString& name) const { return dir_.filePath(name); }

 private slots:
  void initTestCase() {
    window_ = test::makeWindow(dir_);
    window_->show();
    experiment_ = test::shortExperiment(*window_, 600);
    for (auto& layer : experiment_["network"]["layers"]) layer["precision"] = "fp16";
    // Growth every 40 clean steps from 2^16: the scale climbs into fp16's overflow and
    // backs off, so the run has both kinds of scale events.
    experiment_["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 40}};
    experiment_["backend"] = "cpu";
    experiment_["title"] = "record parity";
  }
  void cleanupTestCase() { window_.reset(); }

  void guiRunStreamsThroughTheWorker() {
    window_->document()->load(experiment_, {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    QVERIFY2(window_->startRun(), qPrintable(window_->lastWarning()));
    QVERIFY2(ended.wait(180000), qPrintable(window_->worker()->lastMessages().join(QStringLiteral(" / "))));
    QCOMPARE(ended.first().at(1).toString(), QStringLiteral("completed"));
    guiRun_ = ended.first().at(0).toLongLong();
    live_ = window_->worker()->run();
    QVERIFY(guiRun_ > 0 && live_);
    QVERIFY2(!live_->scaleGrowths.empty(), "the experiment should grow the loss scale");
    QVERIFY2(!live_->overflows.empty(), "the experiment should overflow");
    QVERIFY(!live_->layerStats.empty() && !live_->epochs.empty());
    // What the GUI streamed is what the worker stored, timings included.
    const RunDataPtr stored = loadRunData(window_->databasePath(), guiRun_);
    const QString d = recordDifference(*live_, *stored, /*timed=*/true);
    QVERIFY2(d.isEmpty(), qPrintable(d));
  }

  void headlessRunFollowedInTheStore() {
    QVERIFY(guiRun_ > 0);
    // The experiment as the GUI's run stored it, so both runs train the same thing.
    nlohmann::json asRun = RunReader(window_->databasePath().toStdString()).getRun(guiRun_)->config;
    QFile file(path(QStringLiteral("headless.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QByteArray::fromStdString(asRun.dump()));
    file.close();
    QProcess cli;
    cli.start(test::cliPath(), {QStringLiteral("run"), file.fileName(), QStringLiteral("--db"), window_->databasePath()});
    QVERIFY2(cli.waitForStarted(), qPrintable(test::cliPath() + QStringLiteral(": ") + cli.errorString()));
    // Catch the run while it is going, then hold the process (SIGSTOP) while the GUI
    // loads what is there, so that the rest can only reach the GUI by following.
    const std::string db = window_->databasePath().toStdString();
    auto running = [&] {
      RunReader reader(db, StoreOptions{.readOnly = true});
      for (const RunInfo& r : reader.listRuns())
        if (r.id > guiRun_ && r.status == RunStatus::running) headlessRun_ = r.id;
      return headlessRun_ > 0;
    };
    // The run row is committed at once; its steps at least once a second, which for
    // this short run may be only at its end, so the row alone is the sign.
    QTRY_VERIFY_WITH_TIMEOUT(running(), 60000);
    QCOMPARE(::kill(pid_t(cli.processId()), SIGSTOP), 0);
    followed_ = loadRunData(window_->databasePath(), headlessRun_);
    stepsBeforeFollowing_ = followed_->steps.size();
    QVERIFY(followed_->isLive());
    RunFollower follower(window_->databasePath());
    follower.follow({followed_});
    QVERIFY(follower.isFollowing());
    QCOMPARE(::kill(pid_t(cli.processId()), SIGCONT), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!followed_->isLive(), 180000);
    // The event loop of QTRY may have seen the process end already.
    if (cli.state() != QProcess::NotRunning) QVERIFY(cli.waitForFinished(30000));
    QCOMPARE(cli.exitStatus(), QProcess::NormalExit);
    QCOMPARE(cli.exitCode(), 0);
    QCOMPARE(followed_->status, QStringLiteral("completed"));
    QVERIFY2(stepsBeforeFollowing_ < followed_->steps.size(),
             qPrintable(QStringLiteral("%1 of %2 steps before following").arg(stepsBeforeFollowing_).arg(followed_->steps.size())));
  }

  void bothRecordTheSameRows() {
    QVERIFY(live_ && followed_);
    const QString d = recordDifference(*live_, *followed_, /*timed=*/false);
    QVERIFY2(d.isEmpty(), qPrintable(d));
    // Following added the same rows as reading the whole run afterwards.
    const RunDataPtr whole = loadRunData(window_->databasePath(), headlessRun_);
    const QString w = recordDifference(*followed_, *whole, /*timed=*/true);
    QVERIFY2(w.isEmpty(), qPrintable(w));
  }

  // The label is the backend the run used (the experiment says cpu), from run_started
  // for the GUI's run and from the store for the followed one.
  void runsAreLabelledWithTheBackendTheyRanOn() {
    QVERIFY(live_ && followed_);
    const auto stored = RunReader(window_->databasePath().toStdString()).getRun(guiRun_);
    QCOMPARE(live_->backend, QStringLiteral("cpu"));
    QCOMPARE(live_->backend, QString::fromStdString(stored->backend));
    QCOMPARE(live_->device, QString::fromStdString(stored->device));
    QVERIFY(!live_->device.isEmpty());
    QCOMPARE(QString::fromStdString(live_->summary.value("backend", std::string())), live_->backend);
    QCOMPARE(followed_->backend, QStringLiteral("cpu"));
    QCOMPARE(followed_->device, live_->device);
  }

  // A run written in stages (a real RunWriter on the same file) with speed results and
  // every event kind: followed, it ends with what loading it whole gives.
  void followingPicksUpSpeedAndScaleEvents() {
    const std::string db = path(QStringLiteral("staged.sqlite")).toStdString();
    RunWriter writer(db);
    const std::int64_t id = writer.createRun({{"title", "staged"}}, "staged", "cpu", "test device");
    for (int s = 1; s <= 4; ++s) writer.appendStep(stepAt(s));
    writer.appendOverflow({3, 2048, 1024, {"layers[0] linear"}});
    writer.flush();
    const RunDataPtr run = loadRunData(QString::fromStdString(db), id);
    QCOMPARE(run->steps.size(), std::size_t(4));
    RunFollower follower(QString::fromStdString(db));
    follower.follow({run});
    for (int s = 5; s <= 9; ++s) writer.appendStep(stepAt(s));
    writer.appendScaleGrowth({8, 1024, 2048});
    writer.appendEpoch({0, 9, 0.5, 0.75, 0.625, 0.7});
    SpeedResult speed;
    speed.config = "fp16-mixed";
    speed.batchSize = 32;
    speed.medianStepMs = 1.5;
    speed.samplesPerSecond = 21333;
    speed.measuredSteps = 20;
    speed.layers = {{"layers[0] linear", 0.5, 0.75}};
    writer.appendSpeed(speed);
    writer.finish(RunStatus::completed, "", {{"steps", 9}, {"backend", "cpu"}});
    QTRY_VERIFY_WITH_TIMEOUT(!run->isLive(), 20000);
    QCOMPARE(run->scaleGrowths.size(), std::size_t(1));
    QCOMPARE(run->speed.size(), std::size_t(1));
    QCOMPARE(run->summary.value("steps", 0), 9);
    const RunDataPtr whole = loadRunData(QString::fromStdString(db), id);
    const QString d = recordDifference(*run, *whole, /*timed=*/true);
    QVERIFY2(d.isEmpty(), qPrintable(d));
  }

  // docs/store.md, "Export": the GUI's "Export CSV" and `precisionlab-cli export`.
  void guiAndCliCsvExportsAreByteIdentical() {
    QVERIFY(guiRun_ > 0);
    QSignalSpy done(window_.get(), &MainWindow::csvExported);
    window_->exportCsv(guiRun_, path(QStringLiteral("gui.csv")));
    QVERIFY(done.wait(30000));
    QVERIFY2(done.first().at(1).toBool(), qPrintable(window_->lastWarning()));
    QProcess cli;
    cli.start(test::cliPath(), {QStringLiteral("export"), QStringLiteral("--db"), window_->databasePath(),
                                QStringLiteral("--run"), QString::number(guiRun_), QStringLiteral("--format"),
                                QStringLiteral("csv"), QStringLiteral("-o"), path(QStringLiteral("cli.csv"))});
    QVERIFY2(cli.waitForStarted(), qPrintable(test::cliPath() + QStringLiteral(": ") + cli.errorString()));
    QVERIFY(cli.waitForFinished(60000));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    const QByteArray guiSteps = readAll(path(QStringLiteral("gui.csv")));
    const QByteArray guiEpochs = readAll(epochsCsvPathFor(path(QStringLiteral("gui.csv"))));
    QCOMPARE(guiSteps.count('\n'), qsizetype(live_->steps.size() + 1));
    QCOMPARE(guiEpochs.count('\n'), qsizetype(live_->epochs.size() + 1));
    QVERIFY(guiSteps == readAll(path(QStringLiteral("cli.csv"))));
    QVERIFY(guiEpochs == readAll(path(QStringLiteral("cli.epochs.csv"))));
  }
};

QTEST_MAIN(TestGuiRecord)
#include "tst_gui_record.moc"
