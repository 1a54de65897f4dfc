#pragma once
// The network's layers as a list model over the ExperimentDocument: one row per
// layer, reorderable by drag and drop (moveRows), every change an undoable edit.
// Shape errors from inference are attached per row so the view shows them inline.
#include <QAbstractListModel>
#include <QHash>

namespace plab::ui {

class ExperimentDocument;

class LayerListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role { PrecisionRole = Qt::UserRole + 1, ErrorRole, SummaryRole, ShapeRole };

  explicit LayerListModel(ExperimentDocument* doc, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  Qt::DropActions supportedDropActions() const override { return Qt::MoveAction; }
  bool moveRows(const QModelIndex& sourceParent, int sourceRow, int count,
                const QModelIndex& destinationParent, int destinationChild) override;
  // Drag and drop: views that move through moveRows never call these; views that go
  // through mime data get the same move (and are told not to delete the source row).
  QStringList mimeTypes() const override;
  QMimeData* mimeData(const QModelIndexList& indexes) const override;
  bool dropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column,
                    const QModelIndex& parent) override;

  // Per-layer inference results, set by the editor after each change.
  void setShapeInfo(const QHash<int, QString>& errors, const QHash<int, QString>& shapes);

 private:
  void resetFromDocument();
  ExperimentDocument* doc_;
  QHash<int, QString> errors_;
  QHash<int, QString> shapes_;
  int rows_ = 0;
  bool moving_ = false;
};


}  // namespace plab::ui
