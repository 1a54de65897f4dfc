#include "plots/plot_draw_queue.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include "plots/plot_widget.h"

namespace plab::ui {

PlotDrawQueue& PlotDrawQueue::instance() {
  // Owned by the application object, so it goes when the application does; a test
  // that makes a second application gets a fresh queue.
  static QPointer<PlotDrawQueue> queue;
  if (!queue) queue = new PlotDrawQueue(QCoreApplication::instance());
  return *queue;
}

void PlotDrawQueue::request(PlotWidget* plot) {
  for (const QPointer<PlotWidget>& queued : queue_) {
    if (queued == plot) return;
  }
  queue_.append(plot);
  post();
}

PlotDrawQueue::PlotDrawQueue(QObject* parent) : QObject(parent) {
  // A zero timer fires once the events already waiting (input, the worker's output,
  // other timers) are served; a queued call could run two draws back to back.
  turn_.setSingleShot(true);
  turn_.setInterval(0);
  connect(&turn_, &QTimer::timeout, this, &PlotDrawQueue::drawNext);
}

void PlotDrawQueue::post() {
  if (!turn_.isActive()) turn_.start();
}

void PlotDrawQueue::drawNext() {
  drawOne();
  if (!queue_.isEmpty()) post();
}

bool PlotDrawQueue::drawOne() {
  while (!queue_.isEmpty()) {
    const QPointer<PlotWidget> plot = queue_.takeFirst();
    if (!plot) continue;  // deleted while queued (a report's offscreen plot)
    QElapsedTimer clock;
    clock.start();
    if (!plot->drawNow()) continue;  // hidden: it draws when shown, this turn goes on
    ++draws_;
    longestDrawMs_ = std::max(longestDrawMs_, clock.nsecsElapsed() / 1e6);
    return true;
  }
  return false;
}

void PlotDrawQueue::drawAllNow() {
  while (drawOne()) {
  }
}

void PlotDrawQueue::resetStatistics() {
  longestDrawMs_ = 0;
  draws_ = 0;
}

}  // namespace plab::ui
