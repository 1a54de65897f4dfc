#pragma once
// The network as a column of blocks, one per layer, coloured by precision, each with
// its output shape, parameter count and memory at its precision. Painted from the
// editor's last ShapeCheck, so it is always what inference says (errors in red).
#include <QWidget>
#include <nlohmann/json.hpp>

#include "editor/shape_check.h"

namespace plab::ui {

class NetworkDiagram : public QWidget {
  Q_OBJECT
 public:
  explicit NetworkDiagram(QWidget* parent = nullptr);
  void setNetwork(const nlohmann::json& layers, const ShapeCheck& check);
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override { return {260, 200}; }
  // Where block `index` (0: the input) and the footer are drawn, and the whole text
  // under `pos` (a block's title and detail, or the footer) that its tooltip shows.
  QRectF blockRect(int index) const;
  QRectF footerRect() const;
  QString toolTipAt(const QPoint& pos) const;
  int blockCount() const { return int(blocks_.size()); }

 protected:
  void paintEvent(QPaintEvent*) override;
  bool event(QEvent* e) override;

 private:
  struct Block {
    QString title;
    QString detail;
    QColor colour;
    QString error;
  };
  void paintBlock(class QPainter& p, const QRectF& r, const Block& b) const;
  int blockHeight() const;
  QList<Block> blocks_;
  QString footer_;
};

}  // namespace plab::ui
