// The network editor, training settings, library and Precision Explorer, driven
// through their widgets on the offscreen platform.
#include <QComboBox>
#include <QDrag>
#include <QListView>
#include <QListWidget>
#include <QTableWidget>
#include <QLineEdit>
#include <QMimeData>
#include <QUndoStack>
#include <QtTest>

#include "runs/experiment_library.h"
#include "gui_test_support.h"
#include "editor/layer_list_model.h"
#include "editor/network_diagram.h"
#include "editor/network_editor.h"
#include "explorer/format_error_views.h"
#include "explorer/precision_explorer.h"
#include <qcustomplot.h>
#include <QComboBox>

using namespace plab::ui;

class TestGuiEditor : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<MainWindow> window_;

  NetworkEditor* editor() { return window_->networkEditor(); }
  const nlohmann::json& layers() { return window_->document()->layers(); }
  std::string precisionOf(int i) { return layers()[std::size_t(i)].value("precision", std::string()); }

 private slots:
  void init() {
    window_ = test::makeWindow(dir_);
    window_->document()->load(defaultExperimentJson(), {});
    window_->show();
  }
  void cleanup() { window_.reset(); }

  void libraryListsExperimentsWithTitles() {
    QListWidget* list = window_->library()->list();
    QVERIFY2(list->count() > 0, qPrintable(window_->library()->folder()));
    for (int i = 0; i < list->count(); ++i) {
      const QString text = list->item(i)->text();
      QVERIFY2(!text.startsWith(QStringLiteral("\n")), qPrintable(text));
    }
    // Grouped, lessons first; a heading is not a file and opens nothing.
    QCOMPARE(list->item(0)->text(), QStringLiteral("Lessons"));
    QVERIFY(list->item(0)->data(Qt::UserRole).toString().isEmpty());
    const QString experiment = window_->library()->pathOf(QStringLiteral("spirals.json"));
    QVERIFY(window_->openExperiment(experiment));
    QCOMPARE(window_->document()->filePath(), experiment);
    // A lesson opens in the Sweep tab; the editor keeps its experiment.
    const QString lesson = list->item(1)->data(Qt::UserRole).toString();
    QVERIFY2(lesson.contains(QStringLiteral("/lessons/")), qPrintable(lesson));
    QVERIFY(window_->openExperiment(lesson));
    QCOMPARE(window_->tabs()->currentWidget()->objectName(), QStringLiteral("sweepTab"));
    QCOMPARE(window_->document()->filePath(), experiment);
  }

  void buildsANetworkThroughTheWidgets() {
    const int before = int(layers().size());
    editor()->selectLayer(1);
    editor()->addLayer(QStringLiteral("linear"));
    QCOMPARE(int(layers().size()), before + 1);
    QCOMPARE(editor()->currentLayer(), 2);
    QCOMPARE(QString::fromStdString(layers()[2]["type"].get<std::string>()), QStringLiteral("linear"));

    // The precision combo of the parameter form edits the selected layer.
    auto* precision = window_->findChild<QComboBox*>(QStringLiteral("layerPrecision"));
    QVERIFY(precision);
    const int bf16 = precision->findText(QStringLiteral("bf16"));
    QVERIFY(bf16 >= 0);
    precision->setCurrentIndex(bf16);
    emit precision->textActivated(QStringLiteral("bf16"));
    QCOMPARE(precisionOf(2), std::string("bf16"));

    editor()->duplicateCurrentLayer();
    QCOMPARE(int(layers().size()), before + 2);
    QCOMPARE(precisionOf(3), std::string("bf16"));
    editor()->removeCurrentLayer();
    QCOMPARE(int(layers().size()), before + 1);

    // Undo walks back through remove, duplicate, precision and add.
    QUndoStack* undo = window_->document()->undoStack();
    while (undo->canUndo()) undo->undo();
    QCOMPARE(int(layers().size()), before);
    undo->redo();
    QCOMPARE(int(layers().size()), before + 1);
  }

  void reordersByMovingRows() {
    LayerListModel* model = editor()->model();
    const nlohmann::json first = layers()[0];
    const nlohmann::json second = layers()[1];
    // What a drag and drop of row 0 below row 1 asks of the model.
    QVERIFY(model->moveRows({}, 0, 1, {}, 2));
    QCOMPARE(layers()[0], second);
    QCOMPARE(layers()[1], first);
    window_->document()->undoStack()->undo();
    QCOMPARE(layers()[0], first);
    // The same move through drag-and-drop mime data (views that do not use moveRows).
    std::unique_ptr<QMimeData> drag(model->mimeData({model->index(0)}));
    QVERIFY(drag);
    model->dropMimeData(drag.get(), Qt::MoveAction, 2, 0, {});
    QCOMPARE(layers()[0], second);
    QCOMPARE(layers()[1], first);
  }

  // A layer dragged with the mouse. The mouse events start Qt's own drag: the view
  // builds a QDrag with the model's mime data for the pressed row. What the offscreen
  // platform cannot do is the drop half: its QDrag::exec() returns IgnoreAction at
  // once, and an InternalMove view accepts only drops whose QDropEvent::source() is
  // itself, which Qt's drag manager reports only while exec() runs. So the drop is
  // delivered here as a platform would deliver it (drag-enter, drag-move and drop on
  // the viewport at the mouse position, carrying the drag's own mime data), with the
  // view accepting drops without a source for that moment. The view still works out
  // the target row from the position, and the model moves the layer as one undoable edit.
  void dragsALayerWithTheMouse() {
    QListView* view = editor()->view();
    window_->showTab(QStringLiteral("networkTab"));
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    const nlohmann::json first = layers()[0];
    const nlohmann::json second = layers()[1];
    const nlohmann::json third = layers()[2];
    QWidget* viewport = view->viewport();
    const QPoint from = view->visualRect(editor()->model()->index(0)).center();
    const QRect target = view->visualRect(editor()->model()->index(2));
    const QPoint to(target.center().x(), target.top() + 2);  // upper edge of row 2: between rows 1 and 2

    // The first move with the button down arms the drag, the next past the start
    // distance starts it (QAbstractItemView::mouseMoveEvent).
    QTest::mousePress(viewport, Qt::LeftButton, {}, from);
    QTest::mouseMove(viewport, from + QPoint(0, 1));
    QTest::mouseMove(viewport, from + QPoint(0, QApplication::startDragDistance() + 4));
    auto* drag = view->findChild<QDrag*>();
    QVERIFY2(drag && drag->mimeData(), "the mouse did not start a drag");
    QCOMPARE(drag->mimeData()->formats(), editor()->model()->mimeTypes());
    std::unique_ptr<QMimeData> payload(new QMimeData);
    for (const QString& format : drag->mimeData()->formats()) payload->setData(format, drag->mimeData()->data(format));
    QTest::mouseRelease(viewport, Qt::LeftButton, {}, to);
    QCOMPARE(layers()[0], first);  // nothing moved yet: the drop is still to come

    view->setDragDropMode(QAbstractItemView::DragDrop);
    QDragEnterEvent enter(to, Qt::MoveAction, payload.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(viewport, &enter);
    QVERIFY(enter.isAccepted());
    QDragMoveEvent move(to, Qt::MoveAction, payload.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(viewport, &move);
    QVERIFY(move.isAccepted());
    QDropEvent drop(QPointF(to), Qt::MoveAction, payload.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(viewport, &drop);
    view->setDragDropMode(QAbstractItemView::InternalMove);
    QCOMPARE(layers()[0], second);
    QCOMPARE(layers()[1], first);
    QCOMPARE(layers()[2], third);
    QCOMPARE(editor()->model()->rowCount(), int(layers().size()));

    window_->document()->undoStack()->undo();
    QCOMPARE(layers()[0], first);
    QCOMPARE(layers()[1], second);
    window_->document()->undoStack()->redo();
    QCOMPARE(layers()[0], second);
  }

  void setAllAndKeepEndsInFp32() {
    editor()->setAllPrecisions(QStringLiteral("fp16"));
    for (std::size_t i = 0; i < layers().size(); ++i) QCOMPARE(precisionOf(int(i)), std::string("fp16"));
    editor()->keepEndsInFp32();
    const int last = int(layers().size()) - 1;
    QCOMPARE(precisionOf(0), std::string("fp32"));
    QCOMPARE(precisionOf(last), std::string("fp32"));
    QCOMPARE(precisionOf(1), std::string("fp16"));
    editor()->checkNow();
    QVERIFY2(editor()->lastCheck().ok, qPrintable(editor()->lastCheck().allErrors()));
  }

  void showsShapeErrorsOnTheLayer() {
    editor()->checkNow();
    QVERIFY2(editor()->lastCheck().ok, qPrintable(editor()->lastCheck().allErrors()));
    // A 2-D convolution cannot take the spirals' [2] points: layer 0 must say so.
    editor()->selectLayer(-1);
    window_->document()->edit(QStringLiteral("test"), [](nlohmann::json& j) {
      const nlohmann::json conv = {{"type", "conv2d"}, {"out_channels", 4}, {"precision", "fp16"}};
      j["network"]["layers"].insert(j["network"]["layers"].begin(), conv);
    });
    editor()->checkNow();
    QVERIFY(!editor()->lastCheck().ok);
    const QString error = editor()->model()->index(0).data(LayerListModel::ErrorRole).toString();
    QVERIFY2(!error.isEmpty(), qPrintable(editor()->lastCheck().allErrors()));
    QVERIFY2(error.contains(QStringLiteral("layers[0]")), qPrintable(error));
    QVERIFY(editor()->model()->index(0).data(Qt::DisplayRole).toString().contains(QStringLiteral("⚠")));
    // The row carries the number the message uses (the list used to count from 1).
    QVERIFY2(editor()->model()->index(0).data(Qt::DisplayRole).toString().startsWith(QStringLiteral("layers[0] ")),
             qPrintable(editor()->model()->index(0).data(Qt::DisplayRole).toString()));
    QVERIFY(editor()->model()->index(2).data(Qt::DisplayRole).toString().startsWith(QStringLiteral("layers[2] ")));

    // An invalid precision is named by field, on its layer, before launch.
    window_->document()->undoStack()->undo();
    window_->document()->edit(QStringLiteral("test"), [](nlohmann::json& j) { j["network"]["layers"][1]["precision"] = "fp61"; });
    editor()->checkNow();
    const QString precisionError = editor()->model()->index(1).data(LayerListModel::ErrorRole).toString();
    QVERIFY2(precisionError.contains(QStringLiteral("fp61")), qPrintable(precisionError));
    QVERIFY(!window_->startRun());  // refuses to launch
    QVERIFY2(window_->lastWarning().contains(QStringLiteral("fp61")), qPrintable(window_->lastWarning()));
  }

  void explorerShowsEveryFormat_data() {
    QTest::addColumn<QString>("input");
    QTest::addColumn<QString>("format");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("bits");
    QTest::newRow("0.1 fp16") << "0.1" << "fp16" << "0.0999755859375" << "0x2e66";
    QTest::newRow("0.1 bf16") << "0.1" << "bf16" << "0.10009765625" << "0x3dcd";
    QTest::newRow("65519 fp16") << "65519" << "fp16" << "65504" << "0x7bff";
    QTest::newRow("65520 fp16 overflows") << "65520" << "fp16" << "inf" << "0x7c00";
    QTest::newRow("1e-8 fp16 underflows") << "1e-8" << "fp16" << "0" << "0x0000";
    QTest::newRow("-0 fp16") << "-0" << "fp16" << "-0" << "0x8000";
    QTest::newRow("1000 e4m3 saturates") << "1000" << "fp8_e4m3" << "448" << "0x7e";
    // Block-scaled: the value alone in its block. 1000: floor(log2) = 9, e2m1's emax 2,
    // scale 2^7; 1000 / 128 = 7.8 saturates to element 6 (0x7): 768. mxint8 (emax 0):
    // scale 2^9, 1000 / 512 = 1.953125 = 125 / 64 exactly (0x7d).
    QTest::newRow("1000 mxfp4 saturates its element") << "1000" << "mxfp4" << "768" << "0x7";
    QTest::newRow("1000 mxint8 exact") << "1000" << "mxint8" << "1000" << "0x7d";
  }
  void explorerShowsEveryFormat() {
    QFETCH(QString, input);
    QFETCH(QString, format);
    QFETCH(QString, value);
    QFETCH(QString, bits);
    window_->showTab(QStringLiteral("explorerTab"));
    auto* line = window_->findChild<QLineEdit*>(QStringLiteral("explorerInput"));
    QVERIFY(line);
    line->clear();
    QTest::keyClicks(line, input);
    QTableWidget* table = window_->explorer()->table();
    int row = -1;
    for (int r = 0; r < table->rowCount(); ++r) {
      if (table->item(r, 0)->text() == format) row = r;
    }
    QVERIFY(row >= 0);
    QCOMPARE(table->item(row, 1)->text(), value);
    QCOMPARE(table->item(row, 2)->text(), bits);
  }

  // The explorer's error plot: one curve per format but fp32, lost values at 100%.
  void explorerPlotsErrorAgainstMagnitude() {
    window_->showTab(QStringLiteral("explorerTab"));
    QCustomPlot* plot = window_->explorer()->errorPlot()->plot();
    QCOMPARE(plot->graphCount(), int(plab::kAllPrecisions.size()) - 1);
    const auto errorAt = [&](const QString& format, double log2x) {
      for (int g = 0; g < plot->graphCount(); ++g) {
        if (plot->graph(g)->name() != format) continue;
        auto it = plot->graph(g)->data()->findBegin(log2x, false);
        return it->value;
      }
      return -1.0;
    };
    QCOMPARE(errorAt("fp16", -30), 1.0);                 // below fp16's smallest subnormal: lost
    QVERIFY(errorAt("bf16", -30) < 0.01);                // bf16 reaches far lower
    QCOMPARE(errorAt("fp16", 17), 1.0);                  // 2^17 overflows fp16
    QCOMPARE(errorAt("mxfp4", -10), 1.0);                // 2^-10 of its block's max: lost in e2m1
    QVERIFY(errorAt("mxfp8_e4m3", -10) < 0.1);           // e4m3 elements reach 2^-9 of the max
    QVERIFY(plot->graph(plot->graphCount() - 1)->pen().style() == Qt::DashLine);  // nvfp4, block-scaled
  }

  // Per tensor against 1D blocks against 2D tiles: 32 ones then 32 values of 1/64. One
  // scale for all (per tensor), or for the 4 x 16 tile that holds them all (2D), comes
  // from the ones, and e2m1 loses 1/64; the second block of 32 (1D) has its own scale.
  void explorerComparesScaleGranularity() {
    window_->showTab(QStringLiteral("explorerTab"));
    plab::ui::BlockLayoutView* view = window_->explorer()->blockView();
    view->format()->setCurrentText(QStringLiteral("mxfp4"));
    view->input()->clear();
    QTest::keyClicks(view->input(), QString("1 ").repeated(32) + QString("0.015625 ").repeated(32));
    QTableWidget* table = view->table();
    QCOMPARE(table->rowCount(), 64);
    QCOMPARE(table->item(0, 1)->text(), QString("1"));
    QCOMPARE(table->item(40, 0)->text(), QString("0.015625"));
    QCOMPARE(table->item(40, 1)->text(), QString("0"));         // per tensor: lost
    QCOMPARE(table->item(40, 3)->text(), QString("0.015625"));  // 1D: its own block keeps it
    QCOMPARE(table->item(40, 5)->text(), QString("0"));         // 2D: the one tile's scale
    QCOMPARE(table->item(40, 2)->text(), QString("100%"));
    QTest::keyClicks(view->input(), QStringLiteral(" x"));
    QVERIFY(!table->isEnabled());  // "x" is named, nothing is shown as if it were a number
  }

  // At twice the desktop's font (a projector) the diagram's blocks grow to hold their
  // two lines, and what an elided line hides is in its block's tooltip; the summary
  // line wraps instead of running out of its rectangle ("activatic" before).
  void diagramNeverCutsItsText() {
    auto* diagram = window_->findChild<NetworkDiagram*>(QStringLiteral("networkDiagram"));
    QVERIFY(diagram);
    const QFont normal = QApplication::font();
    QFont big = normal;
    big.setPointSizeF(normal.pointSizeF() * 2);
    QApplication::setFont(big);
    const auto restore = qScopeGuard([&] { QApplication::setFont(normal); });
    QTabWidget* tabs = window_->tabs();
    for (int t = 0; t < tabs->count(); ++t) {
      if (tabs->widget(t)->isAncestorOf(diagram)) tabs->setCurrentIndex(t);
    }
    window_->resize(1280, 720);
    QCoreApplication::processEvents();
    QVERIFY(diagram->isVisible());
    QVERIFY(diagram->blockCount() >= 3);
    QFont bold = diagram->font();
    bold.setBold(true);
    const int lines = QFontMetrics(bold).height() + diagram->fontMetrics().height();
    for (int i = 0; i < diagram->blockCount(); ++i) {
      const QRectF r = diagram->blockRect(i);
      QVERIFY2(r.height() >= lines, qPrintable(QStringLiteral("block %1: %2 px for two lines of %3").arg(i).arg(r.height()).arg(lines)));
      QVERIFY2(r.right() <= diagram->width(), qPrintable(QStringLiteral("block %1 ends at %2 of %3").arg(i).arg(r.right()).arg(diagram->width())));
      const QStringList tip = diagram->toolTipAt(r.center().toPoint()).split(QLatin1Char('\n'));
      QCOMPARE(tip.size(), 2);
      QVERIFY(!tip[0].isEmpty() && !tip[1].isEmpty());
    }
    const QRectF footer = diagram->footerRect();
    const QString summary = diagram->toolTipAt(footer.center().toPoint());
    QVERIFY(!summary.isEmpty());
    const QRect needed = diagram->fontMetrics().boundingRect(QRect(0, 0, int(footer.width()), 100000), Qt::TextWordWrap, summary);
    QVERIFY2(needed.height() <= footer.height() && footer.bottom() <= diagram->sizeHint().height(),
             qPrintable(QStringLiteral("summary needs %1 px, has %2").arg(needed.height()).arg(footer.height())));
  }
};

QTEST_MAIN(TestGuiEditor)
#include "tst_gui_editor.moc"
