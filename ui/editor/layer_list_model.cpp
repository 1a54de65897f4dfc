#include "editor/layer_list_model.h"

#include <QColor>
#include <QMimeData>

#include "editor/experiment_document.h"
#include "editor/layer_summary.h"
#include "common/precision_palette.h"

namespace plab::ui {

LayerListModel::LayerListModel(ExperimentDocument* doc, QObject* parent)
    : QAbstractListModel(parent), doc_(doc) {
  rows_ = int(doc_->layers().size());
  connect(doc_, &ExperimentDocument::changed, this, &LayerListModel::resetFromDocument);
}

void LayerListModel::resetFromDocument() {
  if (moving_) return;  // moveRows announces its own change
  const int rows = int(doc_->layers().size());
  if (rows == rows_) {
    if (rows > 0) emit dataChanged(index(0), index(rows - 1));
    return;
  }
  beginResetModel();
  rows_ = rows;
  endResetModel();
}

int LayerListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : rows_;
}

QVariant LayerListModel::data(const QModelIndex& index, int role) const {
  const auto& layers = doc_->layers();
  if (!index.isValid() || index.row() >= int(layers.size())) return {};
  const auto& layer = layers[std::size_t(index.row())];
  const int row = index.row();
  switch (role) {
    case Qt::DisplayRole: {
      // Numbered as the experiment file, the engine's messages and the plots name a
      // layer ("layers[0]"), so an error about layers[2] is on the row that says so.
      QString text = QStringLiteral("layers[%1]  %2  [%3]").arg(row).arg(layerSummary(layer), layerPrecision(layer));
      if (shapes_.contains(row)) text += QStringLiteral("  → ") + shapes_.value(row);
      if (errors_.contains(row)) text += QStringLiteral("\n    ⚠ ") + errors_.value(row);
      return text;
    }
    case Qt::ToolTipRole:
      return errors_.contains(row) ? errors_.value(row) : QString::fromStdString(layer.dump(1));
    case Qt::DecorationRole:
      return precisionColour(layerPrecision(layer));
    case Qt::ForegroundRole:
      return errors_.contains(row) ? QVariant(QColor("#c62828")) : QVariant();
    case PrecisionRole:
      return layerPrecision(layer);
    case ErrorRole:
      return errors_.value(row);
    case SummaryRole:
      return layerSummary(layer);
    case ShapeRole:
      return shapes_.value(row);
    default:
      return {};
  }
}

Qt::ItemFlags LayerListModel::flags(const QModelIndex& index) const {
  const Qt::ItemFlags base = QAbstractListModel::flags(index);
  // Rows are dragged; drops land between rows (not on a row), which is a move.
  return index.isValid() ? base | Qt::ItemIsDragEnabled : base | Qt::ItemIsDropEnabled;
}

bool LayerListModel::moveRows(const QModelIndex& sourceParent, int sourceRow, int count,
                              const QModelIndex& destinationParent, int destinationChild) {
  if (sourceParent.isValid() || destinationParent.isValid() || count != 1) return false;
  if (sourceRow < 0 || sourceRow >= rows_ || destinationChild < 0 || destinationChild > rows_) return false;
  if (destinationChild == sourceRow || destinationChild == sourceRow + 1) return false;
  // destinationChild counts rows before the move; after taking the row out, the slot
  // shifts down by one when moving towards the end.
  const int target = destinationChild > sourceRow ? destinationChild - 1 : destinationChild;
  beginMoveRows({}, sourceRow, sourceRow, {}, destinationChild);
  moving_ = true;
  doc_->edit(tr("Move layers[%1] to position %2").arg(sourceRow).arg(target),
             [sourceRow, target](nlohmann::json& j) {
               auto& layers = j["network"]["layers"];
               nlohmann::json moved = layers[std::size_t(sourceRow)];
               layers.erase(layers.begin() + sourceRow);
               layers.insert(layers.begin() + target, moved);
             });
  moving_ = false;
  endMoveRows();
  emit dataChanged(index(0), index(rows_ - 1));  // row numbers in the text changed
  return true;
}

static const char* kLayerRowMime = "application/x-precisionlab-layer-row";

QStringList LayerListModel::mimeTypes() const { return {QString::fromLatin1(kLayerRowMime)}; }

QMimeData* LayerListModel::mimeData(const QModelIndexList& indexes) const {
  if (indexes.isEmpty()) return nullptr;
  auto* data = new QMimeData;
  data->setData(QString::fromLatin1(kLayerRowMime), QByteArray::number(indexes.first().row()));
  return data;
}

bool LayerListModel::dropMimeData(const QMimeData* data, Qt::DropAction action, int row, int column,
                                  const QModelIndex& parent) {
  Q_UNUSED(column);
  if (action != Qt::MoveAction || !data || !data->hasFormat(QString::fromLatin1(kLayerRowMime))) return false;
  bool ok = false;
  const int source = data->data(QString::fromLatin1(kLayerRowMime)).toInt(&ok);
  if (!ok) return false;
  // row -1: dropped onto a row (insert before it) or below the last one.
  const int destination = row >= 0 ? row : (parent.isValid() ? parent.row() : rows_);
  moveRows({}, source, 1, {}, destination);
  return false;  // moved already: a true here would make the view remove the source row
}

void LayerListModel::setShapeInfo(const QHash<int, QString>& errors, const QHash<int, QString>& shapes) {
  errors_ = errors;
  shapes_ = shapes;
  if (rows_ > 0) emit dataChanged(index(0), index(rows_ - 1));
}

}  // namespace plab::ui
