#pragma once
// The network editor: the layer list (add, remove, duplicate, reorder by drag and
// drop), the selected layer's parameters and precision, "Set all to…" and "keep
// first/last layer in fp32", and shape errors shown inline on the layer they concern.
#include <QWidget>

#include "editor/shape_check.h"

class QListView;
class QLabel;
class QTimer;
class QComboBox;

namespace plab::ui {

class ExperimentDocument;
class LayerListModel;
class LayerParamsForm;

class NetworkEditor : public QWidget {
  Q_OBJECT
 public:
  explicit NetworkEditor(ExperimentDocument* doc, QWidget* parent = nullptr);

  LayerListModel* model() const { return model_; }
  QListView* view() const { return view_; }
  const ShapeCheck& lastCheck() const { return check_; }
  int currentLayer() const;
  void selectLayer(int index);

  void addLayer(const QString& type);       // after the current layer (or at the end)
  void removeCurrentLayer();
  void duplicateCurrentLayer();
  void moveCurrentLayer(int delta);
  void setAllPrecisions(const QString& precision);
  void keepEndsInFp32();
  // Runs the check now (normally debounced after each edit).
  void checkNow();

 signals:
  void checked(const plab::ui::ShapeCheck& check);

 private:
  QWidget* buildToolbar();
  QComboBox* buildLossCombo();
  void editLayers(const QString& text, const std::function<void(nlohmann::json&)>& change, int selectAfter);

  ExperimentDocument* doc_;
  LayerListModel* model_;
  QListView* view_;
  LayerParamsForm* params_;
  QLabel* status_;
  QTimer* checkTimer_;
  QComboBox* loss_;
  ShapeCheck check_;
};

}  // namespace plab::ui
