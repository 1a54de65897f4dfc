#pragma once
// The base of every plot: QCustomPlot stays behind this class. It gives each plot the
// same behaviour: wheel zoom and drag pan, reset (double-click or R), a crosshair
// readout, a right-click menu to export PNG/PDF/SVG at a chosen size or copy to the
// clipboard, and a report style (white background, larger fonts, legend) for exports.
//
// Subclasses put their data into QCustomPlot in updateSeries(). refresh() is what the
// owner's 40 ms coalescing timer calls: it pulls the new data at once and queues one draw
// (PlotDrawQueue), so each plot redraws at most once per tick and in a turn of its own.
#include <QWidget>
#include <memory>

class QCustomPlot;
class QCPAbstractItem;
class QCPItemText;
class QCPItemStraightLine;
class QMenu;

namespace plab::ui {

class PlotWidget : public QWidget {
  Q_OBJECT
 public:
  explicit PlotWidget(const QString& title, QWidget* parent = nullptr);
  ~PlotWidget() override;

  QCustomPlot* plot() const { return plot_; }
  QString title() const { return title_; }

  // Pulls new data into the plot and queues one draw.
  void refresh();
  // Draws now when shown and returns true; a hidden plot draws when next shown (the
  // draw queue calls this).
  bool drawNow();
  // Fits the axes to the data.
  virtual void resetView();

  enum class ExportFormat { png, pdf, svg };
  // Writes the plot at width x height pixels (points for PDF/SVG) in report style.
  // Returns false and sets *error when the file cannot be written.
  bool exportTo(const QString& path, ExportFormat format, int width, int height, QString* error = nullptr);
  static bool formatFromSuffix(const QString& path, ExportFormat* format);
  // The plot as an image in report style (clipboard, reports).
  QImage renderImage(int width, int height);
  // The same image drawn in parts, so the caller can return to the event loop between
  // them (report charts): beginImage(), drawImagePart() until it returns false, then
  // takeImage(). The parts are the frame (background, grid, axes, title), then one
  // series at a time, then the legend. A call draws parts until budgetMs has passed;
  // a part once started is finished, so a call takes budgetMs plus one part at most.
  void beginImage(int width, int height);
  bool drawImagePart(double budgetMs);
  QImage takeImage();
  void copyToClipboard();

  // Presenter mode (docs/user-guide.md): every plot's line widths and markers times
  // `scale` (1: as designed), every PlotWidget's, now and later made. Its text follows
  // the widget's font (presenter mode enlarges the application's).
  static void setPresentationScale(double scale);
  static double presentationScale();

  // The crosshair's readout as shown now, in the plot's pixels, and its text ("" and
  // an empty rectangle when hidden; tests).
  QRect readoutRect() const;
  QString readoutText() const;

 signals:
  void exported(const QString& path);

 protected:
  virtual void updateSeries() = 0;
  // Queues a draw in a turn of the event loop of its own (PlotDrawQueue).
  void requestDraw();
  // Removes the items a subclass drew (labels, bands), keeping the crosshair's:
  // QCustomPlot::clearItems() would delete those too.
  void clearDataItems();
  // Extra entries for the right-click menu (log scale, smoothing, ...).
  virtual void addContextActions(QMenu* menu) { Q_UNUSED(menu); }
  // The readout text at plot coordinates (x, y); subclasses can name the series.
  virtual QString readout(double x, double y) const;
  bool eventFilter(QObject* watched, QEvent* event) override;
  void showEvent(QShowEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  // After each layout, before anything is drawn: the legend where it covers no data
  // (plots/legend_placement.h). A subclass that places items after layout connects to
  // afterLayout after this, so it sees the legend where it will be drawn.
  void placeLegendAfterLayout();
  // The visible items a subclass drew (lines, labels), not the crosshair's.
  QList<QCPAbstractItem*> dataItems() const;
  void showContextMenu(const QPoint& pos);
  void exportDialog(ExportFormat format);
  void updateCrosshair(const QPoint& pos);
  void hideCrosshair();
  QSize readoutSize(const QString& text) const;
  // Where the readout's top-left goes for the pointer at `pointer` (plot pixels).
  QPointF readoutTopLeft(const QPoint& pointer, const QSize& box) const;
  // Report style on/off around an export: white, larger fonts, legend visible.
  struct SavedStyle;
  struct ImageInProgress;
  void drawImagePass(ImageInProgress& image);
  // Sets fonts, pen widths and marker sizes to their designed size times
  // presentationScale(); a pen a subclass set since the last call is taken as designed.
  void applyPresentationScale();
  SavedStyle applyReportStyle();
  void restoreStyle(const SavedStyle& saved);

  QString title_;
  QCustomPlot* plot_;
  QCPItemStraightLine* crossX_ = nullptr;
  QCPItemStraightLine* crossY_ = nullptr;
  QCPItemText* readout_ = nullptr;
  bool replotWhenShown_ = false;
  std::unique_ptr<ImageInProgress> image_;
};

}  // namespace plab::ui
