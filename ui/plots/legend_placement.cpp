#include "plots/legend_placement.h"

#include <qcustomplot.h>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <optional>

namespace plab::ui {

DataFootprint::DataFootprint(QCustomPlot* plot, const QList<QCPAbstractPlottable*>& plottables,
                             const QList<QCPAbstractItem*>& items)
    : area_(plot->axisRect()->rect()), columns_(std::size_t(std::max(0, area_.width())), {FLT_MAX, -FLT_MAX}) {
  for (QCPAbstractPlottable* p : plottables) {
    auto* graph = qobject_cast<QCPGraph*>(p);
    if (!graph) {
      if (p->interface1D()) bars_ << p;  // bars: asked for their rectangles in reaches()
      continue;
    }
    const auto data = graph->data();
    if (data->isEmpty()) continue;
    const QCPRange keys = graph->keyAxis()->range();
    const bool logValues = graph->valueAxis()->scaleType() == QCPAxis::stLogarithmic;
    const bool lines = graph->lineStyle() != QCPGraph::lsNone;
    const bool steps = graph->lineStyle() == QCPGraph::lsStepLeft;
    const double pen = graph->pen().widthF() / 2 + 1;
    const double marker = graph->scatterStyle().isNone() ? 0 : graph->scatterStyle().size() / 2 + 1;
    bool joined = false;  // a line runs from the previous point (none after a gap)
    QPointF previous;
    // The points in view and one beyond each side, whose lines enter the view.
    for (auto it = data->findBegin(keys.lower, true); it != data->findEnd(keys.upper, true); ++it) {
      if (!std::isfinite(it->value) || (logValues && it->value <= 0)) {
        joined = false;
        continue;
      }
      const QPointF at = graph->coordsToPixels(it->key, it->value);
      if (marker > 0) cover(at.x(), at.y(), at.y(), marker);
      if (lines && joined) {
        if (steps) {  // the level to the next key, then the jump
          coverSegment(previous, QPointF(at.x(), previous.y()), pen);
          coverSegment(QPointF(at.x(), previous.y()), at, pen);
        } else {
          coverSegment(previous, at, pen);
        }
      } else if (lines) {
        cover(at.x(), at.y(), at.y(), pen);
      }
      previous = at;
      joined = true;
    }
  }
  for (QCPAbstractItem* item : items) {
    // Vertical lines mark a step (a promotion); other items place themselves.
    auto* line = qobject_cast<QCPItemStraightLine*>(item);
    if (!line) continue;
    const double x = line->point1->pixelPosition().x();
    if (std::abs(line->point2->pixelPosition().x() - x) < 0.5)
      cover(x, area_.top(), area_.bottom(), line->pen().widthF() / 2 + 1);
  }
}

void DataFootprint::cover(double x, double y0, double y1, double halfWidth) {
  if (!std::isfinite(x) || !std::isfinite(y0) || !std::isfinite(y1)) return;
  const double top = std::min(y0, y1) - halfWidth, bottom = std::max(y0, y1) + halfWidth;
  if (bottom < area_.top() || top > area_.bottom()) return;
  const int first = std::max(0, int(std::floor(x - halfWidth)) - area_.left());
  const int last = std::min(int(columns_.size()) - 1, int(std::ceil(x + halfWidth)) - area_.left());
  for (int c = first; c <= last; ++c) {
    auto& [t, b] = columns_[std::size_t(c)];
    t = std::min(t, float(std::max(top, double(area_.top()))));
    b = std::max(b, float(std::min(bottom, double(area_.bottom()))));
  }
}

void DataFootprint::coverSegment(QPointF a, QPointF b, double halfWidth) {
  if (a.x() > b.x()) std::swap(a, b);
  const double dx = b.x() - a.x();
  if (!(dx >= 1)) {  // within a column, or not finite
    cover((a.x() + b.x()) / 2, a.y(), b.y(), halfWidth + dx / 2);
    return;
  }
  // One column at a time, each covering the span the line crosses in it.
  const double from = std::max(a.x(), double(area_.left()) - halfWidth - 1);
  const double to = std::min(b.x(), double(area_.right()) + halfWidth + 1);
  for (double x = std::floor(from); x <= to; x += 1) {
    const double x0 = std::max(x, a.x()), x1 = std::min(x + 1, b.x());
    if (x1 < x0) continue;
    const double y0 = a.y() + (b.y() - a.y()) * (x0 - a.x()) / dx;
    const double y1 = a.y() + (b.y() - a.y()) * (x1 - a.x()) / dx;
    cover((x0 + x1) / 2, y0, y1, halfWidth);
  }
}

bool DataFootprint::reaches(const QRect& box) const {
  const QRect b = box.adjusted(-1, -1, 1, 1);
  for (int x = std::max(b.left(), area_.left()); x <= std::min(b.right(), area_.right()); ++x) {
    const auto& [top, bottom] = columns_[std::size_t(x - area_.left())];
    if (top <= b.bottom() && bottom >= b.top()) return true;
  }
  for (QCPAbstractPlottable* p : bars_) {
    if (!p->interface1D()->selectTestRect(QRectF(b), false).isEmpty()) return true;
  }
  return false;
}

namespace {

// The legend's size as one column, wherever it is now (outside it may be a row).
QSize columnSize(const QCPLegend* legend) {
  int width = 0, height = 0, count = 0;
  for (int i = 0; i < legend->itemCount(); ++i) {
    const QCPAbstractLegendItem* item = legend->item(i);
    if (!item) continue;  // an empty cell
    const QSize size = item->minimumOuterSizeHint();
    width = std::max(width, size.width());
    height += size.height();
    ++count;
  }
  const QMargins m = legend->margins();
  return QSize(width + m.left() + m.right(), height + std::max(0, count - 1) * legend->rowSpacing() + m.top() + m.bottom());
}

// Where QCPLayoutInset puts an element of `size` aligned `alignment` in `area`.
QRect aligned(const QSize& size, const QRect& area, Qt::Alignment alignment) {
  QRect r(QPoint(0, 0), size);
  if (alignment & Qt::AlignLeft) r.moveLeft(area.left());
  else if (alignment & Qt::AlignRight) r.moveRight(area.x() + area.width());
  else r.moveLeft(int(area.x() + area.width() * 0.5 - size.width() * 0.5));
  if (alignment & Qt::AlignTop) r.moveTop(area.top());
  else r.moveBottom(area.y() + area.height());
  return r;
}

int insetIndex(QCPLayoutInset* inset, QCPLegend* legend) {
  for (int i = 0; i < inset->elementCount(); ++i) {
    if (inset->elementAt(i) == legend) return i;
  }
  return -1;
}

void layOutAgain(QCustomPlot* plot) {
  // As QCustomPlot::updateLayout, without signalling afterLayout again.
  plot->plotLayout()->update(QCPLayoutElement::upPreparation);
  plot->plotLayout()->update(QCPLayoutElement::upMargins);
  plot->plotLayout()->update(QCPLayoutElement::upLayout);
}

// The column at the axis rect's right that holds the legend at its top (above an empty
// element that takes the rest of the height, so that the entries stay together), when
// the legend is there.
QCPLayoutGrid* rightColumn(QCustomPlot* plot) {
  auto* holder = qobject_cast<QCPLayoutGrid*>(plot->legend->layout());
  return holder && holder != plot->plotLayout() && holder->layout() == plot->plotLayout() ? holder : nullptr;
}

// Takes the legend out of its place outside the axis rect (the right column, which goes
// with it, or the row below). Returns whether it was outside.
bool takeFromOutside(QCustomPlot* plot) {
  QCPLegend* legend = plot->legend;
  QCPLayoutGrid* layout = plot->plotLayout();
  if (QCPLayoutGrid* holder = rightColumn(plot)) {
    holder->take(legend);
    layout->remove(holder);  // deletes it and its filler
  } else if (legend->layout() == layout) {
    layout->take(legend);
  } else {
    return false;
  }
  layout->simplify();
  return true;
}

// Outside the axis rect: at the top of a column at its right where that leaves the data
// two thirds of the width at least, else in a row below it, its entries side by side in
// as many columns as fit. Returns whether anything changed.
bool putOutside(QCustomPlot* plot) {
  QCPLegend* legend = plot->legend;
  QCPLayoutGrid* layout = plot->plotLayout();
  const QSize column = columnSize(legend);
  const bool right = column.width() * 3 <= plot->viewport().width();
  const int entry = column.width() - legend->margins().left() - legend->margins().right();
  const int columns = right ? 0 : std::max(1, (plot->viewport().width() + legend->columnSpacing()) /
                                                  std::max(1, entry + legend->columnSpacing()));
  if (right && rightColumn(plot)) return false;
  if (!right && legend->layout() == layout && legend->wrap() == columns) return false;
  if (!takeFromOutside(plot)) plot->axisRect()->insetLayout()->take(legend);
  const int axisRow = layout->rowCount() - 1;  // the title above, the axis rect last
  if (right) {
    auto* holder = new QCPLayoutGrid;
    layout->addElement(axisRow, layout->columnCount(), holder);
    layout->setColumnStretchFactor(layout->columnCount() - 1, 0.001);
    holder->setRowSpacing(0);
    holder->addElement(0, 0, legend);
    holder->addElement(1, 0, new QCPLayoutElement(plot));
    holder->setRowStretchFactor(0, 0.001);
    holder->setRowStretchFactor(1, 1);
  } else {
    const int row = layout->rowCount();
    layout->insertRow(row);
    layout->addElement(row, 0, legend);
    layout->setRowStretchFactor(row, 0.001);
  }
  legend->setWrap(columns);
  legend->setFillOrder(right ? QCPLayoutGrid::foRowsFirst : QCPLayoutGrid::foColumnsFirst, true);
  return true;
}

void putInside(QCustomPlot* plot, Qt::Alignment alignment) {
  QCPLegend* legend = plot->legend;
  QCPLayoutInset* inset = plot->axisRect()->insetLayout();
  if (legend->layout() != inset) {
    takeFromOutside(plot);
    legend->setWrap(0);
    legend->setFillOrder(QCPLayoutGrid::foRowsFirst, true);
    inset->addElement(legend, alignment);
  } else {
    inset->setInsetAlignment(insetIndex(inset, legend), alignment);
  }
}

}  // namespace

void placeLegend(QCustomPlot* plot, const QList<QCPAbstractPlottable*>& visiblePlottables,
                 const QList<QCPAbstractItem*>& visibleItems) {
  QCPLegend* legend = plot->legend;
  const QRect area = plot->axisRect()->rect();
  if (legend->itemCount() == 0 || area.width() <= 0 || area.height() <= 0) return;
  QCPLayoutInset* inset = plot->axisRect()->insetLayout();
  const int index = insetIndex(inset, legend);
  const QSize size = columnSize(legend);
  const DataFootprint footprint(plot, visiblePlottables, visibleItems);
  const auto free = [&](Qt::Alignment a) {
    return !footprint.reaches(aligned(size, area, a).marginsRemoved(legend->margins()));
  };
  // The place it has while that stays free, so that it does not jump as data arrives.
  std::optional<Qt::Alignment> place;
  if (index >= 0 && free(inset->insetAlignment(index))) place = inset->insetAlignment(index);
  for (const Qt::Alignment a : {Qt::AlignTop | Qt::AlignRight, Qt::AlignTop | Qt::AlignLeft, Qt::AlignBottom | Qt::AlignRight,
                                Qt::AlignBottom | Qt::AlignLeft, Qt::AlignTop | Qt::AlignHCenter,
                                Qt::AlignBottom | Qt::AlignHCenter}) {
    if (!place && free(a)) place = a;
  }
  if (place && index >= 0 && inset->insetAlignment(index) == *place) return;
  if (place) putInside(plot, *place);
  else if (!putOutside(plot)) return;
  layOutAgain(plot);
}

}  // namespace plab::ui
