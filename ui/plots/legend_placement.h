#pragma once
// Where a plot's legend goes so that it never covers data (docs/user-guide.md, "Live
// plots"): inside the axis rect at the first corner or edge middle that no point,
// marker, line or bar reaches, recomputed after every layout as data arrives; where
// every such place is taken, outside the axis rect (at its right, or below it).
#include <QList>
#include <QRect>
#include <vector>

class QCustomPlot;
class QCPAbstractPlottable;
class QCPAbstractItem;

namespace plab::ui {

// The pixels of an axis rect that the data drawn in it reaches: per pixel column, the
// span from the highest to the lowest pixel any series, marker or vertical line item
// covers there (bars are asked directly).
class DataFootprint {
 public:
  DataFootprint(QCustomPlot* plot, const QList<QCPAbstractPlottable*>& plottables, const QList<QCPAbstractItem*>& items);
  // Whether anything drawn reaches into `box` (pixels of the plot).
  bool reaches(const QRect& box) const;

 private:
  void cover(double x, double y0, double y1, double halfWidth);
  void coverSegment(QPointF a, QPointF b, double halfWidth);
  QRect area_;
  std::vector<std::pair<float, float>> columns_;  // top, bottom; top > bottom: empty
  QList<QCPAbstractPlottable*> bars_;
};

// Puts the legend of `plot` where it covers nothing of `footprint`'s data and lays the
// plot out again where it moved. `visiblePlottables` and `visibleItems` are what is drawn.
void placeLegend(QCustomPlot* plot, const QList<QCPAbstractPlottable*>& visiblePlottables,
                 const QList<QCPAbstractItem*>& visibleItems);

}  // namespace plab::ui
