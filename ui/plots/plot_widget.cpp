#include "plots/plot_widget.h"

#include <QApplication>
#include <QClipboard>
#include <QDialog>
#include <QDialogButtonBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QMenu>
#include <QMessageBox>
#include <QSpinBox>
#include <QSvgGenerator>
#include <QVBoxLayout>
#include <qcustomplot.h>
#include <algorithm>
#include <tuple>

#include "common/app_paths.h"
#include "plots/legend_placement.h"
#include "plots/plot_draw_queue.h"

namespace plab::ui {

// More points than this make a series "dense" when drawn scaled (renderImage).
constexpr int kDenseSeriesPoints = 2000;

double gPresentationScale = 1.0;

// What a pen or marker was designed with and what was last applied, kept on the
// plottable, so that scaling twice never compounds and a pen a subclass set anew since
// (a new run's series) is taken as its design.
const char* const kDesignWidth = "plabDesignPenWidth";
const char* const kAppliedWidth = "plabAppliedPenWidth";
const char* const kDesignMarker = "plabDesignMarkerSize";
const char* const kAppliedMarker = "plabAppliedMarkerSize";

double designedValue(QObject* o, const char* design, const char* applied, double current) {
  const QVariant last = o->property(applied);
  if (!last.isValid() || last.toDouble() != current) o->setProperty(design, current);
  return o->property(design).toDouble();
}

void scalePen(QCPAbstractPlottable* p, double scale) {
  QPen pen = p->pen();
  const double width = designedValue(p, kDesignWidth, kAppliedWidth, pen.widthF()) * scale;
  pen.setWidthF(width);
  p->setPen(pen);
  p->setProperty(kAppliedWidth, width);
  if (auto* graph = qobject_cast<QCPGraph*>(p); graph && !graph->scatterStyle().isNone()) {
    QCPScatterStyle style = graph->scatterStyle();
    const double size = designedValue(p, kDesignMarker, kAppliedMarker, style.size()) * scale;
    style.setSize(size);
    graph->setScatterStyle(style);
    p->setProperty(kAppliedMarker, size);
  }
}

QFont scaledFont(const QFont& design, double points, double scale) {
  QFont f = design;
  f.setPointSizeF(points * scale);
  return f;
}

struct PlotWidget::SavedStyle {
  bool legendVisible = false;
  QList<QFont> fonts;
  bool crosshairVisible = false;
};

PlotWidget::PlotWidget(const QString& title, QWidget* parent) : QWidget(parent), title_(title) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setObjectName(QStringLiteral("plot"));
  layout->addWidget(plot_, 1);  // room left over goes to the plot, not to controls above it
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->setContextMenuPolicy(Qt::CustomContextMenu);
  plot_->setNoAntialiasingOnDrag(true);  // stays fluid while panning a million points
  // Small enough that the Plots tab's two rows of plots fit a 1280x720 screen beside
  // the run browser (docs/user-guide.md, "The window"); they grow with the window.
  plot_->setMinimumSize(240, 110);
  plot_->plotLayout()->insertRow(0);
  auto* heading = new QCPTextElement(plot_, title_, QFont(font().family(), font().pointSize() + 1, QFont::Bold));
  plot_->plotLayout()->addElement(0, 0, heading);
  plot_->legend->setFont(QFont(font().family(), font().pointSize() - 1));
  plot_->legend->setBrush(QColor(255, 255, 255, 220));

  // The crosshair lives on its own buffered layer: moving it redraws only that layer.
  plot_->addLayer(QStringLiteral("crosshair"), nullptr, QCustomPlot::limAbove);
  plot_->layer(QStringLiteral("crosshair"))->setMode(QCPLayer::lmBuffered);
  crossX_ = new QCPItemStraightLine(plot_);
  crossY_ = new QCPItemStraightLine(plot_);
  readout_ = new QCPItemText(plot_);
  for (QCPAbstractItem* item : {static_cast<QCPAbstractItem*>(crossX_), static_cast<QCPAbstractItem*>(crossY_),
                                static_cast<QCPAbstractItem*>(readout_)}) {
    item->setLayer(QStringLiteral("crosshair"));
    item->setVisible(false);
    item->setSelectable(false);
  }
  crossX_->setPen(QPen(QColor(0, 0, 0, 90), 1, Qt::DashLine));
  crossY_->setPen(QPen(QColor(0, 0, 0, 90), 1, Qt::DashLine));
  readout_->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
  readout_->position->setType(QCPItemPosition::ptAbsolute);
  readout_->setClipToAxisRect(false);  // kept inside the whole plot instead (readoutTopLeft)
  readout_->setBrush(QColor(255, 255, 224, 230));
  readout_->setPadding(QMargins(4, 2, 4, 2));
  readout_->setPen(QPen(QColor("#9e9e9e")));

  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  setFocusPolicy(Qt::StrongFocus);
  connect(plot_, &QCustomPlot::customContextMenuRequested, this, &PlotWidget::showContextMenu);
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] { resetView(); });
  connect(plot_, &QCustomPlot::afterLayout, this, &PlotWidget::placeLegendAfterLayout);
}

PlotWidget::~PlotWidget() = default;

void PlotWidget::refresh() {
  updateSeries();
  requestDraw();
}

void PlotWidget::clearDataItems() {
  for (int i = plot_->itemCount() - 1; i >= 0; --i) {
    QCPAbstractItem* item = plot_->item(i);
    if (item != crossX_ && item != crossY_ && item != readout_) plot_->removeItem(item);
  }
}

void PlotWidget::requestDraw() { PlotDrawQueue::instance().request(this); }

bool PlotWidget::drawNow() {
  // A plot in a hidden tab keeps its data current but draws only when shown: with a
  // million points a draw costs tens of milliseconds of the GUI thread.
  if (!isVisible()) {
    replotWhenShown_ = true;
    return false;
  }
  applyPresentationScale();
  plot_->replot(QCustomPlot::rpRefreshHint);
  return true;
}

void PlotWidget::setPresentationScale(double scale) {
  gPresentationScale = scale > 0 ? scale : 1.0;
  for (QWidget* w : QApplication::allWidgets()) {
    if (auto* plot = qobject_cast<PlotWidget*>(w)) plot->requestDraw();
  }
}

double PlotWidget::presentationScale() { return gPresentationScale; }

void PlotWidget::applyPresentationScale() {
  // Text follows the widget's font, which presenter mode enlarges with the application
  // font (QCustomPlot copies fonts when it is made and never looks again); lines and
  // markers are scaled here.
  const double s = gPresentationScale;
  const double points = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
  for (QCPAxisRect* rect : plot_->axisRects()) {
    for (QCPAxis* axis : rect->axes()) {
      axis->setTickLabelFont(scaledFont(font(), points, 1.0));
      axis->setLabelFont(scaledFont(font(), points, 1.0));
      QPen line = axis->basePen();
      line.setWidthF(s);
      axis->setBasePen(line);
    }
  }
  plot_->legend->setFont(scaledFont(font(), points - 1, 1.0));
  if (auto* heading = qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0))) {
    QFont f = scaledFont(font(), points + 1, 1.0);
    f.setBold(true);
    heading->setFont(f);
  }
  for (int i = 0; i < plot_->plottableCount(); ++i) scalePen(plot_->plottable(i), s);
}

void PlotWidget::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (replotWhenShown_) {
    replotWhenShown_ = false;
    requestDraw();
  }
}

void PlotWidget::resetView() {
  plot_->rescaleAxes();
  requestDraw();
}

QString PlotWidget::readout(double x, double y) const {
  return QStringLiteral("x %1\ny %2").arg(x, 0, 'g', 6).arg(y, 0, 'g', 6);
}

bool PlotWidget::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) {
    if (event->type() == QEvent::MouseMove) updateCrosshair(static_cast<QMouseEvent*>(event)->pos());
    else if (event->type() == QEvent::Leave) hideCrosshair();
  }
  return QWidget::eventFilter(watched, event);
}

void PlotWidget::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_R) resetView();
  else if (event->matches(QKeySequence::Copy)) copyToClipboard();
  else QWidget::keyPressEvent(event);
}

void PlotWidget::updateCrosshair(const QPoint& pos) {
  QCPAxisRect* rect = plot_->axisRect();
  if (!rect || !rect->rect().contains(pos)) {
    hideCrosshair();
    return;
  }
  const double x = plot_->xAxis->pixelToCoord(pos.x());
  const double y = plot_->yAxis->pixelToCoord(pos.y());
  crossX_->point1->setCoords(x, 0);
  crossX_->point2->setCoords(x, 1);
  crossY_->point1->setCoords(0, y);
  crossY_->point2->setCoords(1, y);
  const QString text = readout(x, y);
  if (text.isEmpty()) {  // nothing there (a gap between a heat map's runs)
    hideCrosshair();
    return;
  }
  readout_->setText(text);
  readout_->position->setCoords(readoutTopLeft(pos, readoutSize(text)));
  for (QCPAbstractItem* item : {static_cast<QCPAbstractItem*>(crossX_), static_cast<QCPAbstractItem*>(crossY_),
                                static_cast<QCPAbstractItem*>(readout_)}) {
    item->setVisible(true);
  }
  plot_->layer(QStringLiteral("crosshair"))->replot();
}

QSize PlotWidget::readoutSize(const QString& text) const {
  const QMargins pad = readout_->padding();
  const QRect box = QFontMetrics(readout_->font()).boundingRect(QRect(0, 0, 100000, 100000), 0, text);
  return QSize(box.width() + pad.left() + pad.right() + 2, box.height() + pad.top() + pad.bottom() + 2);
}

QPointF PlotWidget::readoutTopLeft(const QPoint& pointer, const QSize& box) const {
  // Beside the pointer, up and to the right, flipped to the other side where that
  // runs past the plot, then clamped into the widget: a readout is never cut off
  // (docs/user-guide.md, "Live plots"), even one wider than half the plot.
  constexpr int kGap = 10;
  const QRect area = plot_->rect();
  int x = pointer.x() + kGap, y = pointer.y() - kGap - box.height();
  if (x + box.width() > area.right()) x = pointer.x() - kGap - box.width();
  if (y < area.top()) y = pointer.y() + kGap;
  x = std::clamp(x, area.left(), std::max(area.left(), area.right() - box.width()));
  y = std::clamp(y, area.top(), std::max(area.top(), area.bottom() - box.height()));
  return QPointF(x, y);
}

QRect PlotWidget::readoutRect() const {
  if (!readout_->visible()) return {};
  return QRectF(readout_->topLeft->pixelPosition(), readout_->bottomRight->pixelPosition()).toAlignedRect();
}

QString PlotWidget::readoutText() const { return readout_->visible() ? readout_->text() : QString(); }

void PlotWidget::hideCrosshair() {
  if (!readout_->visible()) return;
  crossX_->setVisible(false);
  crossY_->setVisible(false);
  readout_->setVisible(false);
  plot_->layer(QStringLiteral("crosshair"))->replot();
}

void PlotWidget::showContextMenu(const QPoint& pos) {
  QMenu menu(this);
  menu.addAction(tr("Reset view (R, double-click)"), this, &PlotWidget::resetView);
  addContextActions(&menu);
  menu.addSeparator();
  menu.addAction(QIcon(QStringLiteral(":/icons/export.svg")), tr("Export PNG…"), this, [this] { exportDialog(ExportFormat::png); });
  menu.addAction(tr("Export PDF…"), this, [this] { exportDialog(ExportFormat::pdf); });
  menu.addAction(tr("Export SVG…"), this, [this] { exportDialog(ExportFormat::svg); });
  menu.addAction(tr("Copy to clipboard (Ctrl+C)"), this, &PlotWidget::copyToClipboard);
  menu.exec(plot_->mapToGlobal(pos));
}

void PlotWidget::exportDialog(ExportFormat format) {
  static const char* suffixes[] = {"png", "pdf", "svg"};
  const QString suffix = QString::fromLatin1(suffixes[int(format)]);
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Export %1").arg(title_));
  auto* form = new QFormLayout(&dialog);
  auto* width = new QSpinBox;
  width->setRange(100, 10000);
  width->setValue(format == ExportFormat::png ? 1600 : 800);
  auto* height = new QSpinBox;
  height->setRange(100, 10000);
  height->setValue(format == ExportFormat::png ? 1000 : 500);
  form->addRow(format == ExportFormat::png ? tr("Width (px)") : tr("Width (pt)"), width);
  form->addRow(format == ExportFormat::png ? tr("Height (px)") : tr("Height (pt)"), height);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return;
  const QString defaultName = QString(title_).replace(QLatin1Char(' '), QLatin1Char('-')).toLower() + QLatin1Char('.') + suffix;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export %1").arg(title_), exportDialogStart(defaultName),
                                                    suffix.toUpper() + QStringLiteral(" (*.") + suffix + QLatin1Char(')'));
  if (path.isEmpty()) return;
  rememberExportFolder(path);
  QString error;
  if (!exportTo(path, format, width->value(), height->value(), &error)) {
    QMessageBox::warning(this, tr("Export failed"), error);
  }
}

bool PlotWidget::formatFromSuffix(const QString& path, ExportFormat* format) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == QLatin1String("png")) *format = ExportFormat::png;
  else if (suffix == QLatin1String("pdf")) *format = ExportFormat::pdf;
  else if (suffix == QLatin1String("svg")) *format = ExportFormat::svg;
  else return false;
  return true;
}

PlotWidget::SavedStyle PlotWidget::applyReportStyle() {
  SavedStyle saved;
  saved.legendVisible = plot_->legend->visible();
  saved.crosshairVisible = readout_->visible();
  crossX_->setVisible(false);
  crossY_->setVisible(false);
  readout_->setVisible(false);
  plot_->setBackground(Qt::white);
  // Legends only help when there is more than one named series.
  int named = 0;
  for (int i = 0; i < plot_->plottableCount(); ++i) named += plot_->plottable(i)->name().isEmpty() ? 0 : 1;
  plot_->legend->setVisible(named > 1 || saved.legendVisible);
  return saved;
}

void PlotWidget::restoreStyle(const SavedStyle& saved) {
  plot_->legend->setVisible(saved.legendVisible);
}

bool PlotWidget::exportTo(const QString& path, ExportFormat format, int width, int height, QString* error) {
  refresh();
  const SavedStyle saved = applyReportStyle();
  bool ok = false;
  switch (format) {
    case ExportFormat::png:
    {
      // Large images are drawn at half size and scaled 2x, so text stays readable
      // in a report instead of shrinking to a few pixels.
      const double scale = width >= 1200 ? 2.0 : 1.0;
      ok = plot_->savePng(path, int(width / scale), int(height / scale), scale, -1, int(96 * scale));
    }
      break;
    case ExportFormat::pdf:
      ok = plot_->savePdf(path, width, height, QCP::epNoCosmetic, QStringLiteral("Precision Lab"), title_);
      break;
    case ExportFormat::svg: {
      QSvgGenerator generator;
      generator.setFileName(path);
      generator.setSize(QSize(width, height));
      generator.setViewBox(QRect(0, 0, width, height));
      generator.setTitle(title_);
      generator.setDescription(tr("Exported by Precision Lab"));
      QCPPainter painter;
      ok = painter.begin(&generator);
      if (ok) {
        plot_->toPainter(&painter, width, height);
        ok = painter.end();
      }
      ok = ok && QFileInfo(path).size() > 0;
      break;
    }
  }
  restoreStyle(saved);
  requestDraw();
  if (!ok && error) *error = tr("Could not write %1").arg(path);
  if (ok) emit exported(path);
  return ok;
}

struct PlotWidget::ImageInProgress {
  QPixmap pixmap;
  double scale = 1;
  int width = 0, height = 0;  // laid out at this size, drawn at `scale`
  SavedStyle saved;
  QList<QPair<QCPGraph*, QPen>> thinned;
  QList<QCPAbstractPlottable*> series;
  QList<QCPAbstractItem*> items;  // shown when the image began (the legend avoids them)
  bool legendShown = false;
  // Axis rects' margins as the frame laid them out, held for the later parts: hidden
  // axes would otherwise give their space to the series. Restored by takeImage().
  QList<std::tuple<QCPAxisRect*, QCP::MarginSides, QMargins>> heldMargins;
  int next = -1;  // -1: the frame; 0..n-1: series; n: axes and legend; n + 1: done
};

void PlotWidget::placeLegendAfterLayout() {
  if (image_) {
    // An image drawn in parts: placed in the frame's pass, at the image's size, against
    // every series the image holds; the later passes hide what they do not draw.
    if (image_->next < 0 && image_->legendShown) placeLegend(plot_, image_->series, image_->items);
    return;
  }
  if (!plot_->legend->visible()) return;
  QList<QCPAbstractPlottable*> plottables;
  for (int i = 0; i < plot_->plottableCount(); ++i) {
    if (plot_->plottable(i)->visible()) plottables << plot_->plottable(i);
  }
  placeLegend(plot_, plottables, dataItems());
}

QList<QCPAbstractItem*> PlotWidget::dataItems() const {
  QList<QCPAbstractItem*> items;
  for (int i = 0; i < plot_->itemCount(); ++i) {
    QCPAbstractItem* item = plot_->item(i);
    if (item->visible() && item != crossX_ && item != crossY_ && item != readout_) items << item;
  }
  return items;
}

QImage PlotWidget::renderImage(int width, int height) {
  beginImage(width, height);
  while (drawImagePart(HUGE_VAL)) {
  }
  return takeImage();
}

void PlotWidget::beginImage(int width, int height) {
  refresh();
  image_ = std::make_unique<ImageInProgress>();
  ImageInProgress& im = *image_;
  im.saved = applyReportStyle();
  // As for PNG export: large images are laid out at half size and drawn at 2x, so
  // the text in a report is readable.
  im.scale = width >= 1200 ? 2.0 : 1.0;
  im.width = int(width / im.scale);
  im.height = int(height / im.scale);
  im.pixmap = QPixmap(qRound(im.width * im.scale), qRound(im.height * im.scale));
  im.pixmap.fill(Qt::white);
  // Scaled up, a 1 px line is 2 device pixels wide, which Qt strokes as a filled path:
  // for a dense, jagged series (raw loss of thousands of steps) that took about a
  // second per chart. Dense thin series are drawn as hairlines instead, which Qt draws
  // fast; they are the light background of a chart, its thick lines keep their width.
  if (im.scale > 1) {
    for (int i = 0; i < plot_->graphCount(); ++i) {
      QCPGraph* g = plot_->graph(i);
      if (g->dataCount() < kDenseSeriesPoints || g->pen().widthF() > 1.0) continue;
      im.thinned.append({g, g->pen()});
      QPen hairline = g->pen();
      hairline.setWidthF(0);  // cosmetic, one device pixel
      hairline.setCosmetic(true);
      g->setPen(hairline);
    }
  }
  for (int i = 0; i < plot_->plottableCount(); ++i) {
    if (plot_->plottable(i)->visible()) im.series.append(plot_->plottable(i));
  }
  im.items = dataItems();
  im.legendShown = plot_->legend->visible();
}

bool PlotWidget::drawImagePart(double budgetMs) {
  if (!image_) return false;
  QElapsedTimer clock;
  clock.start();
  ImageInProgress& im = *image_;
  while (im.next <= im.series.size()) {
    drawImagePass(im);
    ++im.next;
    if (clock.nsecsElapsed() / 1e6 >= budgetMs) break;
  }
  return im.next <= im.series.size();
}

void PlotWidget::drawImagePass(ImageInProgress& im) {
  // Each pass hides what it does not draw and puts it back afterwards. Layers cannot
  // be hidden instead: a hidden layer hides the children of what it holds too (the
  // axes and the legend hang from the axis rect on the main layer).
  const bool frame = im.next < 0, last = im.next == im.series.size();
  QCPLayer* main = plot_->layer(QStringLiteral("main"));
  QList<QPair<QCPLayerable*, bool>> hidden;
  for (int i = 0; i < plot_->layerCount(); ++i) {
    for (QCPLayerable* l : plot_->layer(i)->children()) {
      auto* plottable = qobject_cast<QCPAbstractPlottable*>(l);
      const bool item = qobject_cast<QCPAbstractItem*>(l) != nullptr;
      const bool legend = qobject_cast<QCPLegend*>(l) || qobject_cast<QCPAbstractLegendItem*>(l);
      const bool container = qobject_cast<QCPLayout*>(l) || qobject_cast<QCPAxisRect*>(l);
      const bool decor = !container && !legend && (qobject_cast<QCPAxis*>(l) || qobject_cast<QCPLayoutElement*>(l));
      bool hide = false;
      if (frame) {
        // Background, grid, axes, title and background items; series, the items drawn
        // above them and the legend come later.
        hide = plottable || legend || (item && l->layer() == main && !im.series.isEmpty());
      } else if (!last) {
        // One series; the items on the main layer with the last one.
        const bool lastSeries = im.next == im.series.size() - 1;
        hide = decor || legend || (plottable && plottable != im.series[im.next]) || (item && !(lastSeries && l->layer() == main));
      } else {
        hide = decor || plottable || item;  // the legend, above everything
      }
      if (hide) {
        hidden.append({l, l->visible()});
        l->setVisible(false);
      }
    }
  }
  plot_->setBackground(QBrush(Qt::NoBrush));  // the pixmap is already white
  QCPPainter painter(&im.pixmap);
  if (im.scale > 1) {
    painter.setMode(QCPPainter::pmNonCosmetic);  // as QCustomPlot::toPixmap draws scaled
    painter.scale(im.scale, im.scale);
  }
  plot_->toPainter(&painter, im.width, im.height);
  painter.end();
  plot_->setBackground(QBrush(Qt::white));
  for (const auto& [layerable, visible] : hidden) layerable->setVisible(visible);
  if (frame) {
    for (QCPAxisRect* rect : plot_->axisRects()) {
      im.heldMargins.append({rect, rect->autoMargins(), rect->margins()});
      rect->setAutoMargins(QCP::msNone);
      rect->setMargins(rect->margins());
    }
  }
}

QImage PlotWidget::takeImage() {
  if (!image_) return {};
  for (const auto& [graph, pen] : image_->thinned) graph->setPen(pen);
  for (const auto& [rect, sides, margins] : image_->heldMargins) {
    rect->setMargins(margins);
    rect->setAutoMargins(sides);
  }
  restoreStyle(image_->saved);
  const QImage image = image_->pixmap.toImage();
  image_.reset();
  requestDraw();
  return image;
}

void PlotWidget::copyToClipboard() { QApplication::clipboard()->setImage(renderImage(1200, 750)); }

}  // namespace plab::ui
