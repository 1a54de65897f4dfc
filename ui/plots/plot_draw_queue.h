#pragma once
// Plots draw one per event-loop turn. With a million points a single plot's draw costs
// tens of milliseconds; drawing every visible plot in the same turn added those costs up
// into one long stall of the GUI thread. A plot that asks to be drawn is queued (once);
// a zero timer draws the first in the queue and starts again for the next, so input,
// timers and the worker's events are served between two plots.
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>

namespace plab::ui {

class PlotWidget;

class PlotDrawQueue : public QObject {
 public:
  // The queue of the GUI thread (plots are widgets: they live there).
  static PlotDrawQueue& instance();

  void request(PlotWidget* plot);
  // Draws everything queued now, in this turn (screenshots, tests).
  void drawAllNow();
  bool isPending() const { return !queue_.isEmpty(); }

  // For the benchmark: the longest single draw and the number of draws so far.
  double longestDrawMs() const { return longestDrawMs_; }
  int drawCount() const { return draws_; }
  void resetStatistics();

 private:
  explicit PlotDrawQueue(QObject* parent);
  void post();
  void drawNext();
  // Draws the first queued plot that is shown; false when none was.
  bool drawOne();

  QList<QPointer<PlotWidget>> queue_;
  QTimer turn_;
  double longestDrawMs_ = 0;
  int draws_ = 0;
};

}  // namespace plab::ui
