// Fit on a projector: with two real runs trained through the worker and overlaid, the
// main window is laid out at 1280x720 and 1366x768 and every tab (and every view of
// the Plots tab) is shown in turn. The window must keep the size it was given (its
// minimum fits, and opening a tab does not make it grow), and no visible label's text
// may be wider or taller than the label (docs/user-guide.md, "The window"). At
// 1280x720 with every font at 200% (a projector), no legend covers a plotted point or
// marker either (docs/user-guide.md, "Live plots").
#include <QAbstractScrollArea>
#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTextDocument>
#include <QtTest>
#include <qcustomplot.h>

#include "gui_test_support.h"
#include "plots/live_plots_panel.h"
#include "plots/plot_widget.h"
#include "runs/run_browser.h"
#include "runs/worker_client.h"

using namespace plab::ui;

namespace {

// Where a widget sits in the window, for failure messages: "plotsTab/…/QLabel#runBanner".
QString pathOf(const QWidget* w) {
  QStringList parts;
  for (; w; w = w->parentWidget()) {
    const QString name = w->objectName();
    if (!name.isEmpty() || !w->parentWidget()) parts.prepend(name.isEmpty() ? QString::fromLatin1(w->metaObject()->className()) : name);
  }
  return parts.join(QLatin1Char('/'));
}

bool insideScrollArea(const QWidget* w) {
  for (const QWidget* p = w->parentWidget(); p; p = p->parentWidget()) {
    if (qobject_cast<const QAbstractScrollArea*>(p)) return true;
  }
  return false;
}

// Why a label's text does not fit its rectangle, or "" when it does. A label that
// elides its text and gives the whole of it as a tooltip fits by construction.
QString clippedText(const QLabel* label) {
  const QString text = label->text();
  if (text.isEmpty()) return {};
  const QRect area = label->contentsRect().adjusted(label->margin(), label->margin(), -label->margin(), -label->margin());
  const bool rich = label->textFormat() == Qt::RichText ||
                    (label->textFormat() == Qt::AutoText && Qt::mightBeRichText(text));
  QSize needed;
  if (rich) {
    QTextDocument doc;
    doc.setDefaultFont(label->font());
    doc.setDocumentMargin(0);
    doc.setHtml(text);
    if (label->wordWrap()) doc.setTextWidth(area.width());
    needed = QSize(int(std::ceil(label->wordWrap() ? 0 : doc.idealWidth())), int(std::ceil(doc.size().height())));
  } else {
    QString plain = text;
    if (label->buddy()) plain.remove(QRegularExpression(QStringLiteral("&(?!&)")));
    const QFontMetrics fm(label->font());
    const int flags = label->wordWrap() ? Qt::TextWordWrap : 0;
    const QRect r = fm.boundingRect(QRect(0, 0, label->wordWrap() ? area.width() : 100000, 100000), flags, plain);
    needed = QSize(label->wordWrap() ? 0 : r.width(), r.height());
  }
  if (needed.width() <= area.width() + 1 && needed.height() <= area.height() + 1) return {};
  return QStringLiteral("%1: needs %2x%3, has %4x%5: \"%6\"")
      .arg(pathOf(label))
      .arg(needed.width())
      .arg(needed.height())
      .arg(area.width())
      .arg(area.height())
      .arg(text.left(80));
}

// Every visible label of the window whose text is clipped, by its own rectangle or by
// the window's edge (outside a scroll area, which can scroll to it).
QStringList clippedLabels(QWidget* window) {
  QStringList out;
  for (QLabel* label : window->findChildren<QLabel*>()) {
    if (!label->isVisible() || label->window() != window) continue;
    QString why = clippedText(label);
    const QRect inWindow(label->mapTo(window, QPoint(0, 0)), label->size());
    if (why.isEmpty() && !insideScrollArea(label) && !window->rect().contains(inWindow))
      why = QStringLiteral("%1: outside the window at %2,%3 %4x%5").arg(pathOf(label)).arg(inWindow.x()).arg(inWindow.y())
                .arg(inWindow.width()).arg(inWindow.height());
    if (!why.isEmpty()) out << why;
  }
  return out;
}

// What a legend covers: each visible series' points (a marker's whole extent), each
// bar, and each vertical line item (a promotion), as "plot: what at x,y".
QStringList legendOverlaps(PlotWidget* widget) {
  QCustomPlot* plot = widget->plot();
  QStringList out;
  if (!plot->legend->visible()) return out;
  const QRectF legend = plot->legend->rect();
  const QRectF area = plot->axisRect()->rect();
  const QString where = widget->title();
  for (int i = 0; i < plot->plottableCount(); ++i) {
    QCPAbstractPlottable* p = plot->plottable(i);
    if (!p->visible()) continue;
    if (auto* graph = qobject_cast<QCPGraph*>(p)) {
      const double r = graph->scatterStyle().isNone() ? graph->pen().widthF() / 2 : graph->scatterStyle().size() / 2;
      for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        if (!std::isfinite(it->value)) continue;
        const QPointF at = graph->coordsToPixels(it->key, it->value);
        if (!area.contains(at)) continue;
        if (legend.adjusted(-r, -r, r, r).contains(at))
          out << QStringLiteral("%1: legend %2,%3 %4x%5 covers \"%6\" at step %7 (%8, %9 px)")
                     .arg(where).arg(legend.x()).arg(legend.y()).arg(legend.width()).arg(legend.height())
                     .arg(graph->name()).arg(it->key).arg(at.x()).arg(at.y());
      }
    } else if (auto* bars = qobject_cast<QCPBars*>(p)) {
      if (!bars->selectTestRect(legend, false).isEmpty()) out << QStringLiteral("%1: legend covers bars \"%2\"").arg(where, bars->name());
    }
  }
  for (int i = 0; i < plot->itemCount(); ++i) {
    auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i));
    if (!line || !line->visible()) continue;
    const double x = line->point1->pixelPosition().x();
    if (x == line->point2->pixelPosition().x() && x >= legend.left() && x <= legend.right())
      out << QStringLiteral("%1: legend covers a marker line at %2 px").arg(where).arg(x);
  }
  return out;
}

void settle() {
  for (int i = 0; i < 3; ++i) {
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
    QCoreApplication::processEvents();
  }
}

}  // namespace

class TestGuiFit : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  qint64 train(nlohmann::json experiment) {
    window_->document()->load(experiment, {});
    QSignalSpy ended(window_.get(), &MainWindow::runFinished);
    if (!window_->startRun()) return -1;
    if (!ended.wait(120000)) return -1;
    return ended.first().at(0).toLongLong();
  }

  // Every font of the app at `scale` times the desktop's until the guard goes.
  static auto fontsScaledBy(double scale) {
    const QFont normal = QApplication::font();
    QFont big = normal;
    big.setPointSizeF(normal.pointSizeF() * scale);
    QApplication::setFont(big);
    return qScopeGuard([normal] {
      QApplication::setFont(normal);
      settle();
    });
  }

  // Shows every tab, and on the Plots tab every view, in turn, laid out, and calls
  // visit("tab" or "tab / view") on each. Returns how many it showed.
  template <typename Visit>
  int forEachView(Visit visit) {
    QTabWidget* tabs = window_->tabs();
    QTabWidget* views = window_->plotsPanel()->detailTabs();
    int shown = 0;
    for (int t = 0; t < tabs->count(); ++t) {
      tabs->setCurrentIndex(t);
      const bool plots = tabs->widget(t)->objectName() == window_->plotsPanel()->objectName();
      for (int v = 0; v < (plots ? views->count() : 1); ++v) {
        if (plots) views->setCurrentIndex(v);
        settle();
        visit(tabs->widget(t)->objectName() + (plots ? QStringLiteral(" / ") + views->tabText(v) : QString()));
        ++shown;
      }
    }
    return shown;
  }

 private slots:
  void initTestCase() {
    window_ = test::makeWindow(dir_);
    window_->resize(1280, 720);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    // The teacher's demo: fp16 with dynamic loss scaling against the same network in
    // fp32 without scaling (a loss scale of 1), overlaid.
    nlohmann::json fp16 = test::shortExperiment(*window_, 200);
    for (auto& layer : fp16["network"]["layers"]) layer["precision"] = "fp16";
    fp16["loss_scaling"] = {{"mode", "dynamic"}, {"growth_interval", 40}};
    fp16["title"] = "Two spirals in fp16 with dynamic loss scaling, for a projector";
    nlohmann::json fp32 = fp16;
    for (auto& layer : fp32["network"]["layers"]) layer["precision"] = "fp32";
    fp32["loss_scaling"] = {{"mode", "none"}};
    fp32["title"] = "Two spirals in fp32, the baseline";
    QList<qint64> ids;
    for (const auto& e : {fp16, fp32}) {
      const qint64 id = train(e);
      QVERIFY2(id > 0, qPrintable(window_->lastWarning()));
      ids << id;
    }
    QSignalSpy shown(window_.get(), &MainWindow::runsShown);
    window_->showRuns(ids);
    QVERIFY(shown.wait(20000));
    window_->plotsPanel()->replotNow();
  }
  void cleanupTestCase() {
    window_.reset();
    QApplication::setFont(QFont());
  }
  // At 1280x720, at the font size of the desktop and at twice it, every plot of every
  // view is drawn with the finished runs and its legend checked against what it holds.
  void noLegendCoversData_data() {
    QTest::addColumn<double>("fontScale");
    QTest::newRow("1280x720, fonts 100%") << 1.0;
    QTest::newRow("1280x720, fonts 200%") << 2.0;
  }
  void noLegendCoversData() {
    QFETCH(double, fontScale);
    QStringList failures;
    int legends = 0;
    {
      const auto restoreFont = fontsScaledBy(fontScale);
      window_->resize(1280, 720);
      settle();
      forEachView([&](const QString& where) {
        for (PlotWidget* widget : window_->findChildren<PlotWidget*>()) {
          if (!widget->isVisible()) continue;
          if (!widget->drawNow()) failures << where + QStringLiteral(": a plot did not draw");
          legends += widget->plot()->legend->visible() ? 1 : 0;
          failures << legendOverlaps(widget);
        }
      });
    }
    QVERIFY2(legends >= 2, qPrintable(QStringLiteral("%1 legends shown").arg(legends)));
    failures.removeDuplicates();
    QVERIFY2(failures.isEmpty(), qPrintable(failures.join(QLatin1Char('\n'))));
  }
  void everyTabFits_data() {
    QTest::addColumn<QSize>("size");
    QTest::addColumn<double>("fontScale");
    QTest::newRow("1280x720") << QSize(1280, 720) << 1.0;
    QTest::newRow("1366x768") << QSize(1366, 768) << 1.0;
    QTest::newRow("1280x720, fonts 200%") << QSize(1280, 720) << 2.0;
  }
  void everyTabFits() {
    QFETCH(QSize, size);
    QFETCH(double, fontScale);
    const auto restoreFont = fontsScaledBy(fontScale);
    window_->resize(size);
    settle();
    const QSize minimum = window_->minimumSizeHint().expandedTo(window_->minimumSize());
    QVERIFY2(minimum.width() <= size.width() && minimum.height() <= size.height(),
             qPrintable(QStringLiteral("minimum %1x%2").arg(minimum.width()).arg(minimum.height())));
    QCOMPARE(window_->size(), size);
    QStringList failures;
    const int checked = forEachView([&](const QString& where) {
      if (window_->size() != size)
        failures << QStringLiteral("%1: the window grew to %2x%3").arg(where).arg(window_->width()).arg(window_->height());
      for (const QString& why : clippedLabels(window_.get())) failures << where + QStringLiteral(": ") + why;
    });
    QVERIFY(checked >= window_->tabs()->count() + window_->plotsPanel()->detailTabs()->count() - 1);
    QVERIFY2(failures.isEmpty(), qPrintable(failures.join(QLatin1Char('\n'))));
    // The run browser shows a few runs, not one row (two at least with fonts doubled).
    QTableView* runs = window_->runBrowser()->view();
    QVERIFY2(runs->viewport()->height() >= (fontScale > 1 ? 2 : 3) * runs->verticalHeader()->defaultSectionSize(),
             qPrintable(QStringLiteral("%1 px for rows of %2").arg(runs->viewport()->height()).arg(runs->verticalHeader()->defaultSectionSize())));
  }
};

QTEST_MAIN(TestGuiFit)
#include "tst_gui_fit.moc"
