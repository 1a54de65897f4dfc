// The Sweep tab on a real lesson: opened from the experiment library, run with one
// button through the real `precisionlab-cli sweep` and its worker processes into a
// real SQLite store, every variant overlaid on the loss plot under its own name and
// colour, the comparison table filled from the store and every claim shown with a
// tick and what was measured; its CSV and Markdown exports are the CLI's.
#include <QDockWidget>
#include <QtTest>

#include <QApplication>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <qcustomplot.h>

#include "common/main_window.h"
#include "gui_test_support.h"
#include "plots/loss_plot.h"
#include "runs/experiment_library.h"
#include "sweeps/comparison_view.h"
#include "sweeps/sweep_panel.h"

using namespace plab::ui;

class TestGuiSweep : public QObject {
  Q_OBJECT
 private slots:
  void runsALessonAndTicksItsClaims() {
    QTemporaryDir dir;
    auto window = test::makeWindow(dir);
    const QString lesson = window->library()->pathOf(QStringLiteral("lessons/01-fp16-underflow.json"));
    QVERIFY2(!lesson.isEmpty(), "lesson 1 is not in the library");
    QVERIFY(window->openExperiment(lesson));
    SweepPanel* panel = window->sweepPanel();
    QCOMPARE(panel->variantTable()->rowCount(), 3);
    QVERIFY(panel->findChild<QLabel*>(QStringLiteral("sweepWatch"))->isVisibleTo(panel));

    QSignalSpy compared(panel, &SweepPanel::comparisonReady);
    auto* run = panel->findChild<QPushButton*>(QStringLiteral("runSweep"));
    QVERIFY(run->isEnabled());
    QTest::mouseClick(run, Qt::LeftButton);
    QVERIFY(panel->isRunning());
    QVERIFY2(compared.wait(170000), "the lesson did not finish within 170 s");

    // The overlay: one run per variant, named after it, each in its variant's colour.
    QTRY_COMPARE_WITH_TIMEOUT(panel->shownRuns().size(), 3, 5000);
    const QList<PlotRun> shown = panel->lossPlot()->runs();
    QCOMPARE(shown.size(), 3);
    const QStringList names = {QStringLiteral("fp32"), QStringLiteral("fp16, no scaling"),
                               QStringLiteral("fp16, dynamic scaling")};
    for (int i = 0; i < 3; ++i) {
      QCOMPARE(shown[i].data->name, names[i]);
      QCOMPARE(shown[i].colour, runColour(i));
      QTRY_VERIFY_WITH_TIMEOUT(!shown[i].data->isLive() && !shown[i].data->steps.empty(), 5000);
    }
    // The legend names the variants, one entry each.
    QCustomPlot* plot = panel->lossPlot()->plot();
    QStringList legend;
    for (int i = 0; i < plot->legend->itemCount(); ++i) {
      if (auto* item = qobject_cast<QCPPlottableLegendItem*>(plot->legend->item(i))) legend << item->plottable()->name();
    }
    for (int i = 0; i < 3; ++i) {
      const QString entry = QStringLiteral("#%1 %2").arg(shown[i].data->runId).arg(names[i]);
      QVERIFY2(legend.contains(entry), qPrintable(legend.join(QStringLiteral(" | "))));
    }

    // The comparison table and the claims, measured on those runs.
    ComparisonView* view = panel->comparisonView();
    QCOMPARE(view->table()->rowCount(), 3);
    QCOMPARE(view->table()->item(1, 0)->text(), names[1]);
    QCOMPARE(view->table()->item(1, 1)->text(), QStringLiteral("completed"));
    QVERIFY2(view->table()->item(0, 8)->text().contains(QStringLiteral("KiB")), qPrintable(view->table()->item(0, 8)->text()));
    QTreeWidget* claims = view->claims();
    QVERIFY(claims->topLevelItemCount() >= 3);
    for (int i = 0; i < claims->topLevelItemCount(); ++i) {
      QTreeWidgetItem* c = claims->topLevelItem(i);
      QCOMPARE(c->text(0), QStringLiteral("✔"));
      QVERIFY2(c->text(2).contains(QRegularExpression(QStringLiteral("\\d"))), qPrintable(c->text(2)));
    }
    QCOMPARE(view->claimsHeadline(), QStringLiteral("%1 of %1 claims hold").arg(claims->topLevelItemCount()));
    // A claim longer than its column wraps onto more lines rather than being cut.
    window->resize(1280, 720);
    window->show();
    window->showTab(QStringLiteral("sweepTab"));
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QApplication::processEvents();
    QVERIFY2(claims->header()->sectionSize(1) < claims->fontMetrics().horizontalAdvance(claims->topLevelItem(0)->text(1)),
             "the claim column is wide enough for the whole claim: the check below would prove nothing");
    const QRect first = claims->visualItemRect(claims->topLevelItem(0));
    QVERIFY2(first.height() >= 2 * claims->fontMetrics().height(), qPrintable(QStringLiteral("%1 %2 %3 %4 vis %5").arg(first.height()).arg(claims->width()).arg(claims->header()->sectionSize(1)).arg(claims->header()->sectionSize(2)).arg(claims->isVisible())));

    // The exports are what `precisionlab-cli compare` writes for the same sweep.
    QString error;
    const QString md = dir.filePath(QStringLiteral("sweep.md"));
    QVERIFY2(view->exportTo(md, true, &error), qPrintable(error));
    QProcess cli;
    cli.start(test::cliPath(),
              {QStringLiteral("compare"), QString::number(panel->sweepId()), QStringLiteral("--db"), window->databasePath()});
    QVERIFY2(cli.waitForStarted(), qPrintable(test::cliPath() + QStringLiteral(": ") + cli.errorString()));
    QVERIFY2(cli.waitForFinished(30000), qPrintable(cli.errorString()));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    QCOMPARE(test::head(md, 1 << 20), cli.readAllStandardOutput());

    // The report of the sweep: the comparison and the claims first, then the runs'
    // charts, in the background as the Report… button writes it.
    QVERIFY(view->findChild<QPushButton*>(QStringLiteral("sweepReport"))->isEnabled());
    QSignalSpy written(window.get(), &MainWindow::reportWritten);
    const QString html = dir.filePath(QStringLiteral("sweep-report.html"));
    window->writeSweepReport(view->comparison(), html);
    QVERIFY(written.wait(60000));
    QVERIFY2(written.first().at(1).toBool(), qPrintable(window->lastWarning()));
    const QString page = QString::fromUtf8(test::head(html, 1 << 20));
    QVERIFY2(page.contains(QStringLiteral("Claims: %1 of %1 hold").arg(claims->topLevelItemCount())), qPrintable(page.left(2000)));
    for (const QString& name : names) QVERIFY2(page.contains(name), qPrintable(name));
    QVERIFY(page.indexOf(QStringLiteral("Claims:")) < page.indexOf(QStringLiteral("<h2>Summary")));
    QVERIFY(!QImage(dir.filePath(QStringLiteral("sweep-report_files/loss.png"))).isNull());
    // The same report without a window, as a PDF.
    QProcess app;
    const QString pdf = dir.filePath(QStringLiteral("sweep-report.pdf"));
    app.start(test::guiAppPath(), {QStringLiteral("report"), QStringLiteral("--db"), window->databasePath(),
                                   QStringLiteral("--sweep"), QString::number(panel->sweepId()), QStringLiteral("-o"), pdf});
    QVERIFY2(app.waitForStarted(), qPrintable(test::guiAppPath() + QStringLiteral(": ") + app.errorString()));
    QVERIFY(app.waitForFinished(120000));
    QVERIFY2(app.exitCode() == 0, app.readAllStandardError().constData());
    QVERIFY(test::head(pdf, 8).startsWith("%PDF"));
    QVERIFY(QFileInfo(pdf).size() > 10000);
    app.start(test::guiAppPath(), {QStringLiteral("report"), QStringLiteral("--db"), window->databasePath(),
                                   QStringLiteral("--sweep"), QStringLiteral("999"), QStringLiteral("-o"), pdf});
    QVERIFY2(app.waitForStarted(), qPrintable(test::guiAppPath() + QStringLiteral(": ") + app.errorString()));
    QVERIFY(app.waitForFinished(60000));
    QCOMPARE(app.exitCode(), 1);
    QVERIFY(app.readAllStandardError().contains("999"));

    // Presenter mode: N watches one variant after the other, the others faint, then
    // every variant again.
    window->setPresenterMode(true);
    window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window.get()));
    window->showTab(QStringLiteral("runsTab"));
    for (int focus = 0; focus <= 3; ++focus) {
      QTest::keyClick(window.get(), Qt::Key_N);
      const int expected = focus < 3 ? focus : -1;
      QCOMPARE(panel->focusedVariant(), expected);
      QCOMPARE(window->currentTabName(), QStringLiteral("sweepTab"));
      const QList<PlotRun> drawn = panel->lossPlot()->runs();
      for (int i = 0; i < 3; ++i) QCOMPARE(drawn[i].colour.alpha(), expected < 0 || i == expected ? 255 : 60);
      if (expected >= 0) {
        QVERIFY2(panel->findChild<QLabel*>(QStringLiteral("sweepStatus"))->text().contains(names[expected]),
                 qPrintable(panel->findChild<QLabel*>(QStringLiteral("sweepStatus"))->text()));
      }
    }
    window->setPresenterMode(false);
  }

  // Presenter mode: every text larger by the setting, the docks out of the way (their
  // room goes to the view shown), and back as it was: the docks that were open, open.
  void presenterModeScalesTheTextAndRestoresIt() {
    QTemporaryDir dir;
    auto window = test::makeWindow(dir);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    auto* library = window->findChild<QDockWidget*>(QStringLiteral("libraryDock"));
    auto* runs = window->findChild<QDockWidget*>(QStringLiteral("runsDock"));
    QVERIFY(library && runs);
    runs->hide();  // closed by the user before: stays closed after
    // The app's own style sheet, as the app runs: widgets it polished keep their font
    // unless polished again.
    plab::ui::applyAppStyle(*qApp);
    const auto noSheet = qScopeGuard([] { qApp->setStyleSheet(QString()); });
    QLabel* shares = window->findChild<QLabel*>(QStringLiteral("histogramShares"));
    QVERIFY(shares);
    const double normal = QApplication::font().pointSizeF();
    window->setPresenterMode(true);
    QVERIFY(window->presenterMode());
    QCOMPARE(QApplication::font().pointSizeF(), normal * window->presenterScalePercent() / 100.0);
    QVERIFY(library->isHidden() && runs->isHidden());
    // The widgets themselves take the larger font, not only the application's default.
    QCOMPARE(window->tabs()->font().pointSizeF(), normal * window->presenterScalePercent() / 100.0);
    QCOMPARE(shares->font().pointSizeF(), normal * window->presenterScalePercent() / 100.0);
    window->setPresenterMode(false);
    QVERIFY(!window->presenterMode());
    QCOMPARE(QApplication::font().pointSizeF(), normal);
    QCOMPARE(window->tabs()->font().pointSizeF(), normal);
    QCOMPARE(shares->font().pointSizeF(), normal);
    QVERIFY(!library->isHidden());
    QVERIFY(runs->isHidden());
  }

  void aBadSweepFileChangesNothing() {
    QTemporaryDir dir;
    auto window = test::makeWindow(dir);
    const QString path = dir.filePath(QStringLiteral("bad.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"base": {"dataset": {"name": "spirals"}, "network": {"layers": [{"type": "linear", "out": 2}]}},
                  "variants": [{"name": "a", "set": {"network.layers[0].precision": "fp61"}}]})");
    file.close();
    QString message;
    QVERIFY(!window->sweepPanel()->open(path, &message));
    QVERIFY2(message.contains(QStringLiteral("network.layers[0].precision")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("fp61")), qPrintable(message));
    QVERIFY(!window->sweepPanel()->findChild<QPushButton*>(QStringLiteral("runSweep"))->isEnabled());
  }
};

QTEST_MAIN(TestGuiSweep)
#include "tst_gui_sweep.moc"
