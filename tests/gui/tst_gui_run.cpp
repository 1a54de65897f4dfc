// Runs through the real worker process: a short CPU run of the default experiment
// fills the plots and lands in the run browser; pause and stop work; a worker killed
// mid-run leaves the GUI alive with the run marked failed and the reason shown.
#include <QAction>
#include <QComboBox>
#include <QTableWidget>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QSignalSpy>
#include <QtTest>
#include <csignal>
#include <fstream>
#include <set>

#include "plots/gradient_histogram_plot.h"
#include "gui_test_support.h"
#include "explorer/format_error_views.h"
#include "explorer/precision_explorer.h"
#include <QTabWidget>
#include "plots/live_plots_panel.h"
#include "plots/loss_plot.h"
#include "plots/loss_scale_plot.h"
#include "runs/run_browser.h"
#include "runs/run_control_bar.h"
#include "runs/run_table_model.h"
#include "runs/worker_client.h"
#include "store/store.h"

using namespace plab::ui;

class TestGuiRun : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  RunDataPtr live() { return window_->worker()->run(); }

 private slots:
  void init() {
    window_ = test::makeWindow(dir_);
    window_->show();
  }
  void cleanup() { window_.reset(); }

  void shortRunFillsPlotsAndBrowser() {
    window_->document()->load(test::shortExperiment(*window_, 120), {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    QVERIFY2(window_->startRun(), qPrintable(window_->lastWarning()));
    QVERIFY(!window_->runControl()->startAction()->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(ended.count() == 1, 120000);
    QCOMPARE(ended.first().at(1).toString(), QStringLiteral("completed"));
    const RunDataPtr run = live();
    QVERIFY(run->runId > 0);
    QCOMPARE(run->lastStep(), 120);
    QVERIFY2(!run->backend.isEmpty(), "the worker reports its backend");

    LossPlot* loss = window_->plotsPanel()->lossPlot();
    QCOMPARE(loss->pointCount(0), int(run->steps.size()));
    QVERIFY(window_->plotsPanel()->replotCount() > 0);
    QVERIFY(!run->epochs.empty());
    QCOMPARE(window_->runControl()->progressBar()->value(), 120);
    QVERIFY(window_->runControl()->startAction()->isEnabled());

    // Statistics reached the gradient view; its max |x| opens in the Precision Explorer.
    auto* histogram = qobject_cast<GradientHistogramPlot*>(window_->plotsPanel()->plotByName(QStringLiteral("gradientHistogram")));
    QVERIFY(histogram);
    histogram->refresh();
    const plab::LayerStatsRecord* shown = histogram->shownRecord(0);
    QVERIFY2(shown, "no layer statistics in the gradient view");
    QVERIFY(shown->stats.count > 0);
    emit histogram->valuePicked(double(shown->stats.maxAbs));
    QCOMPARE(window_->tabs()->currentWidget()->objectName(), QStringLiteral("explorerTab"));
    QCOMPARE(window_->explorer()->inputText().toDouble(), double(shown->stats.maxAbs));
    // Its first values before rounding go to the explorer's block view, with their source:
    // the latest statistics step up to the shown one that kept a sample (every tenth:
    // steps 1 and 100 of this run's statistics steps 1, 10, ..., 120).
    const plab::LayerStatsRecord* sampled = histogram->sampledRecord(0);
    QVERIFY(sampled);
    QCOMPARE(sampled->step, std::int64_t(100));
    QVERIFY(shown->sample.empty());
    shown = sampled;
    window_->showTab(QStringLiteral("networkTab"));
    emit histogram->blockPicked(shown->sample, GradientHistogramPlot::sampleSource(*shown));
    QCOMPARE(window_->tabs()->currentWidget()->objectName(), QStringLiteral("explorerTab"));
    BlockLayoutView* block = window_->explorer()->blockView();
    const QStringList shownValues = block->input()->text().split(QStringLiteral(", "));
    QCOMPARE(shownValues.size(), int(shown->sample.size()));
    for (int i = 0; i < shownValues.size(); ++i) QCOMPARE(shownValues[i].toFloat(), shown->sample[std::size_t(i)]);
    QVERIFY2(block->sourceText().startsWith(QString::fromStdString(shown->layerName)), qPrintable(block->sourceText()));
    QCOMPARE(block->table()->rowCount(), int(shown->sample.size()));
    // The same sample comes back from the store.
    const auto stored = plab::RunReader(window_->databasePath().toStdString()).loadLayerStats(run->runId);
    bool found = false;
    for (const auto& r : stored)
      found = found || (r.step == shown->step && r.layerIndex == shown->layerIndex && r.kind == shown->kind &&
                        r.sample == shown->sample);
    QVERIFY(found);

    RunBrowser* browser = window_->runBrowser();
    auto statusInBrowser = [&] {
      const plab::RunInfo* info = browser->model()->runAt(browser->model()->rowOfRun(run->runId));
      return info ? QString::fromLatin1(plab::toString(info->status)) : QString();
    };
    QTRY_COMPARE_WITH_TIMEOUT(statusInBrowser(), QStringLiteral("completed"), 10000);
    QCOMPARE(browser->model()->runAt(browser->model()->rowOfRun(run->runId))->lastStep, 120);
  }

  // Run ▸ Advise precision: a real probe through precisionlab-cli advise, stored, and
  // its proposal open as a new experiment with the reasons in its description.
  void advisorOpensItsProposal() {
    window_->document()->load(test::shortExperiment(*window_, 50), {});
    const std::size_t layers = window_->document()->json()["network"]["layers"].size();
    QSignalSpy done(window_.get(), &MainWindow::adviceFinished);
    QVERIFY2(window_->startAdvisor(40), qPrintable(window_->lastWarning()));
    QVERIFY(done.wait(120000));
    QVERIFY2(done.first().at(0).toBool(), qPrintable(window_->lastWarning()));
    const nlohmann::json advised = window_->document()->json();
    QVERIFY(window_->document()->filePath().isEmpty());
    QVERIFY2(advised["title"].get<std::string>().find("(advised)") != std::string::npos, advised.dump().c_str());
    QVERIFY(advised["description"].get<std::string>().find("Formats chosen by the precision advisor") != std::string::npos);
    QCOMPARE(advised["network"]["layers"].size(), layers);
    QTRY_VERIFY_WITH_TIMEOUT(window_->runBrowser()->model()->rowCount() == 1, 10000);  // the probe
  }

  void pauseThenStopCancelsTheRun() {
    window_->document()->load(test::shortExperiment(*window_, 200000), {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    QVERIFY2(window_->startRun(), qPrintable(window_->lastWarning()));
    QTRY_VERIFY_WITH_TIMEOUT(live()->lastStep() > 5, 60000);
    window_->runControl()->pauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(window_->worker()->isPaused(), 20000);
    // Paused: steps already batched may still land first; after that the step count
    // stands still (other records, such as statistics, may still arrive).
    QSignalSpy batches(window_->worker(), &WorkerClient::dataAppended);
    batches.wait(300);
    const auto pausedAt = live()->lastStep();
    batches.wait(1500);
    QCOMPARE(live()->lastStep(), pausedAt);
    window_->runControl()->stopAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(ended.count() == 1, 30000);
    QCOMPARE(ended.first().at(1).toString(), QStringLiteral("cancelled"));
  }

  void killedWorkerLeavesGuiAliveAndRunFailed() {
    window_->document()->load(test::shortExperiment(*window_, 200000), {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    QVERIFY2(window_->startRun(), qPrintable(window_->lastWarning()));
    QTRY_VERIFY_WITH_TIMEOUT(live()->lastStep() > 5, 60000);
    const qint64 pid = window_->worker()->processId();
    QVERIFY(pid > 0);
    QCOMPARE(::kill(pid_t(pid), SIGKILL), 0);
    QTRY_VERIFY_WITH_TIMEOUT(ended.count() == 1, 20000);
    QCOMPARE(ended.first().at(1).toString(), QStringLiteral("failed"));
    QVERIFY(window_->isVisible());
    QCOMPARE(live()->status, QStringLiteral("failed"));
    QVERIFY2(live()->error.contains(QStringLiteral("killed")), qPrintable(live()->error));
    auto* banner = window_->findChild<QLabel*>(QStringLiteral("runBanner"));
    QVERIFY(banner && banner->isVisible());
    QVERIFY2(banner->text().contains(QStringLiteral("failed")), qPrintable(banner->text()));
    // The GUI goes on: the next run starts and completes.
    window_->document()->load(test::shortExperiment(*window_, 20), {});
    QVERIFY(window_->startRun());
    QTRY_VERIFY_WITH_TIMEOUT(ended.count() == 2, 60000);
    QCOMPARE(ended.at(1).at(1).toString(), QStringLiteral("completed"));
  }

  void closingDuringARunStopsTheWorker() {
    window_->document()->load(test::shortExperiment(*window_, 200000), {});
    QVERIFY(window_->startRun());
    QTRY_VERIFY_WITH_TIMEOUT(live()->lastStep() > 5, 60000);
    WorkerClient* worker = window_->worker();
    QVERIFY(window_->close());
    QVERIFY(!worker->isRunning());
    QCOMPARE(live()->status, QStringLiteral("cancelled"));
  }

  // A run of an edited experiment is named after what was changed, unless the user
  // names it; a run of the experiment as opened keeps its title. Each run is drawn in
  // its own colour (from its number) from the moment it has one.
  void runsAreNamedAfterWhatWasEdited() {
    const auto runOnce = [&]() -> qint64 {
      QSignalSpy ended(window_.get(), &MainWindow::runFinished);
      if (!window_->startRun() || !ended.wait(120000)) return -1;
      return ended.first().at(0).toLongLong();
    };
    const auto storedName = [&](qint64 id) {
      const auto info = plab::RunReader(window_->databasePath().toStdString()).getRun(id);
      return info ? QString::fromStdString(info->name) : QStringLiteral("(no run)");
    };
    window_->document()->load(test::shortExperiment(*window_, 30), {});
    const qint64 asOpened = runOnce();
    QVERIFY(asOpened > 0);
    QCOMPARE(storedName(asOpened), window_->document()->title());  // the title, as before
    QCOMPARE(window_->plotsPanel()->runs().first().colour, runColourOf(asOpened));
    window_->document()->edit(QStringLiteral("lr"), [](nlohmann::json& j) { j["optimizer"]["lr"] = 0.02; });
    QLineEdit* name = window_->runControl()->runNameEdit();
    QVERIFY2(name->placeholderText().contains(QStringLiteral("optimizer.lr 0.02")), qPrintable(name->placeholderText()));
    const qint64 edited = runOnce();
    QVERIFY(edited > 0);
    QVERIFY2(storedName(edited).contains(QStringLiteral("optimizer.lr 0.02")), qPrintable(storedName(edited)));
    QVERIFY(window_->worker()->run()->label().contains(QStringLiteral("optimizer.lr 0.02")));
    QCOMPARE(window_->plotsPanel()->runs().first().colour, runColourOf(edited));
    // A new title is the user's name for the edit: it is kept as it is.
    window_->document()->edit(QStringLiteral("title"), [](nlohmann::json& j) { j["title"] = "spirals, lr 0.02"; });
    QCOMPARE(storedName(runOnce()), QStringLiteral("spirals, lr 0.02"));
    name->setText(QStringLiteral("lr doubled, for the class"));
    const qint64 named = runOnce();
    QCOMPARE(storedName(named), QStringLiteral("lr doubled, for the class"));
    QVERIFY(name->text().isEmpty());  // for this run only
  }

  // Adaptive precision from the GUI: the policy picked in Training settings, a real
  // worker run of the shipped fp16-without-loss-scaling experiment, the promotions it
  // streams drawn on the loss plot, and the same promotions when the run is reopened
  // from the store.
  void adaptiveRunDrawsItsPromotions() {
    std::ifstream in(PLAB_SOURCE_DIR "/experiments/fp16-no-loss-scaling.json");
    nlohmann::json file = nlohmann::json::parse(in);
    file.erase("epochs");
    file["steps"] = 120;
    file["shadow_stats"] = true;
    window_->document()->load(file, {});
    auto* policy = window_->findChild<QComboBox*>(QStringLiteral("/precision_policy/mode"));
    QVERIFY(policy);
    QVERIFY(!window_->findChild<QWidget*>(QStringLiteral("/precision_policy/patience"))->isEnabled());
    policy->setCurrentText(QStringLiteral("adaptive"));
    emit policy->textActivated(QStringLiteral("adaptive"));
    QCOMPARE(window_->document()->json()["precision_policy"]["mode"].get<std::string>(), std::string("adaptive"));
    QTRY_VERIFY(window_->findChild<QWidget*>(QStringLiteral("/precision_policy/patience"))->isEnabled());

    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    QVERIFY2(window_->startRun(), qPrintable(window_->lastWarning()));
    QTRY_VERIFY_WITH_TIMEOUT(ended.count() == 1, 120000);
    QCOMPARE(ended.first().at(1).toString(), QStringLiteral("completed"));
    const RunDataPtr run = live();
    QVERIFY2(!run->promotions.empty(), "the worker streamed no promotion");
    QCOMPARE(run->promotions.front().layerName, std::string("layers[0] linear"));
    QCOMPARE(run->promotions.front().to, std::string("bf16"));
    LossPlot* loss = window_->plotsPanel()->lossPlot();
    loss->refresh();
    // One label per step with promotions; the first step's starts with layers[0].
    std::set<std::int64_t> steps;
    for (const auto& p : run->promotions) steps.insert(p.step);
    QCOMPARE(loss->promotionLabels().size(), int(steps.size()));
    QVERIFY2(loss->promotionLabels().first().startsWith(QStringLiteral("layers[0")) &&
                 loss->promotionLabels().first().endsWith(QStringLiteral("fp16 → bf16")),
             qPrintable(loss->promotionLabels().join(QStringLiteral(" | "))));

    const std::vector<plab::PrecisionPromotion> streamed = run->promotions;
    const qint64 id = run->runId;
    window_->showRuns({id});
    QTRY_VERIFY_WITH_TIMEOUT(!window_->plotsPanel()->runs().isEmpty() &&
                                 window_->plotsPanel()->runs().first().data != run &&
                                 window_->plotsPanel()->runs().first().data->runId == id &&
                                 !window_->plotsPanel()->runs().first().data->steps.empty(),
                             20000);
    QCOMPARE(window_->plotsPanel()->runs().first().data->promotions, streamed);
    loss->refresh();
    QCOMPARE(loss->promotionLabels().size(), int(steps.size()));

    // The runs table gives the mix at the end after the one at the start, and the
    // tooltip each promoted layer's step.
    RunTableModel* model = window_->runBrowser()->model();
    QTRY_VERIFY_WITH_TIMEOUT(model->rowOfRun(id) >= 0 &&
                                 model->index(model->rowOfRun(id), RunTableModel::Precision).data().toString().contains(QStringLiteral("\u2192")),
                             10000);
    const QModelIndex cell = model->index(model->rowOfRun(id), RunTableModel::Precision);
    const QString mix = cell.data().toString();
    QVERIFY2(mix.startsWith(QStringLiteral("fp16 \u2192 ")) && mix.contains(QStringLiteral("bf16")), qPrintable(mix));
    const QStringList tip = cell.data(Qt::ToolTipRole).toString().split(QLatin1Char('\n'));
    QVERIFY2(tip.front().endsWith(QStringLiteral(": fp16 \u2192 bf16 (step %1)").arg(streamed.front().step)), qPrintable(tip.front()));
  }
};

QTEST_MAIN(TestGuiRun)
#include "tst_gui_run.moc"
