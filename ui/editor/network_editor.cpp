#include "editor/network_editor.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "editor/experiment_document.h"
#include "editor/layer_list_model.h"
#include "editor/layer_params_form.h"
#include "editor/schema_field.h"
#include "common/precision_palette.h"

namespace plab::ui {
namespace {

QToolButton* toolButton(const QString& text, const QString& icon, const QString& tip, const QString& name) {
  auto* b = new QToolButton;
  b->setText(text);
  b->setIcon(QIcon(icon));
  b->setToolTip(tip);
  b->setObjectName(name);
  b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  return b;
}

nlohmann::json& layersOf(nlohmann::json& j) { return j["network"]["layers"]; }

}  // namespace

NetworkEditor::NetworkEditor(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), doc_(doc), model_(new LayerListModel(doc, this)) {
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(buildToolbar());

  auto* split = new QSplitter(Qt::Horizontal);
  view_ = new QListView;
  view_->setObjectName(QStringLiteral("layerList"));
  view_->setModel(model_);
  view_->setDragDropMode(QAbstractItemView::InternalMove);
  view_->setDefaultDropAction(Qt::MoveAction);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setSpacing(2);
  view_->setWordWrap(true);
  split->addWidget(view_);
  params_ = new LayerParamsForm(doc_);
  split->addWidget(params_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);

  auto* lossRow = new QHBoxLayout;
  lossRow->addWidget(new QLabel(tr("Loss:")));
  loss_ = buildLossCombo();
  lossRow->addWidget(loss_);
  lossRow->addStretch(1);
  layout->addLayout(lossRow);

  status_ = new QLabel;
  status_->setObjectName(QStringLiteral("shapeStatus"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(status_);
  layout->addWidget(new PrecisionLegend);

  // Del removes a layer only while the list has focus (not while typing a value).
  auto* removeAction = new QAction(tr("Remove layer"), view_);
  removeAction->setShortcut(QKeySequence::Delete);
  removeAction->setShortcutContext(Qt::WidgetShortcut);
  connect(removeAction, &QAction::triggered, this, &NetworkEditor::removeCurrentLayer);
  view_->addAction(removeAction);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this,
          [this](const QModelIndex& current) { params_->setLayerIndex(current.isValid() ? current.row() : -1); });
  checkTimer_ = new QTimer(this);
  checkTimer_->setSingleShot(true);
  checkTimer_->setInterval(150);  // coalesce bursts of edits (typing) into one check
  connect(checkTimer_, &QTimer::timeout, this, &NetworkEditor::checkNow);
  connect(doc_, &ExperimentDocument::changed, checkTimer_, qOverload<>(&QTimer::start));
  connect(doc_, &ExperimentDocument::loaded, this, [this] { selectLayer(-1); });
  QTimer::singleShot(0, this, &NetworkEditor::checkNow);
}

QWidget* NetworkEditor::buildToolbar() {
  auto* bar = new QWidget;
  auto* row = new QHBoxLayout(bar);
  row->setContentsMargins(0, 0, 0, 0);

  auto* add = toolButton(tr("Add"), QStringLiteral(":/icons/add.svg"), tr("Add a layer after the selected one"), QStringLiteral("addLayer"));
  auto* addMenu = new QMenu(add);
  for (const QString& type : layerTypeNames()) {
    addMenu->addAction(type, this, [this, type] { addLayer(type); });
  }
  add->setMenu(addMenu);
  add->setPopupMode(QToolButton::InstantPopup);
  row->addWidget(add);

  auto* remove = toolButton(tr("Remove"), QStringLiteral(":/icons/remove.svg"), tr("Remove the selected layer (Del)"), QStringLiteral("removeLayer"));
  connect(remove, &QToolButton::clicked, this, &NetworkEditor::removeCurrentLayer);
  row->addWidget(remove);
  auto* duplicate = toolButton(tr("Duplicate"), QStringLiteral(":/icons/duplicate.svg"), tr("Duplicate the selected layer (Ctrl+D)"), QStringLiteral("duplicateLayer"));
  duplicate->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
  connect(duplicate, &QToolButton::clicked, this, &NetworkEditor::duplicateCurrentLayer);
  row->addWidget(duplicate);
  auto* up = toolButton(QString(), QStringLiteral(":/icons/up.svg"), tr("Move up (Alt+Up)"), QStringLiteral("moveUp"));
  up->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Up));
  connect(up, &QToolButton::clicked, this, [this] { moveCurrentLayer(-1); });
  row->addWidget(up);
  auto* down = toolButton(QString(), QStringLiteral(":/icons/down.svg"), tr("Move down (Alt+Down)"), QStringLiteral("moveDown"));
  down->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Down));
  connect(down, &QToolButton::clicked, this, [this] { moveCurrentLayer(1); });
  row->addWidget(down);

  auto* setAll = toolButton(tr("Set all to…"), QStringLiteral(":/icons/precision.svg"), tr("Give every layer one precision"), QStringLiteral("setAll"));
  auto* setAllMenu = new QMenu(setAll);
  for (const QString& p : precisionNames()) {
    QPixmap swatch(12, 12);
    swatch.fill(precisionColour(p));
    setAllMenu->addAction(QIcon(swatch), p, this, [this, p] { setAllPrecisions(p); });
  }
  setAll->setMenu(setAllMenu);
  setAll->setPopupMode(QToolButton::InstantPopup);
  row->addWidget(setAll);
  auto* ends = toolButton(tr("First/last in fp32"), QStringLiteral(":/icons/ends.svg"),
                          tr("Keep the first and last layers in fp32 (the usual mixed-precision recipe)"),
                          QStringLiteral("keepEnds"));
  connect(ends, &QToolButton::clicked, this, &NetworkEditor::keepEndsInFp32);
  row->addWidget(ends);
  row->addStretch(1);
  return bar;
}

QComboBox* NetworkEditor::buildLossCombo() {
  // Choices, default and tooltip from the schema's "network.loss".
  const KeyRule& rule = keyRule("network", "loss");
  auto* combo = qobject_cast<QComboBox*>(createSchemaWidget(rule));
  combo->setObjectName(QStringLiteral("lossCombo"));
  auto sync = [this, combo, &rule] {
    const QSignalBlocker block(combo);
    const nlohmann::json network = doc_->json().value("network", nlohmann::json::object());
    setWidgetValue(combo, shownValue(rule, network));
  };
  connect(combo, &QComboBox::textActivated, this, [this](const QString& loss) {
    doc_->edit(tr("Set loss to %1").arg(loss), [loss](nlohmann::json& j) { j["network"]["loss"] = loss.toStdString(); });
  });
  sync();
  return combo;
}

int NetworkEditor::currentLayer() const {
  const QModelIndex i = view_->currentIndex();
  return i.isValid() ? i.row() : -1;
}

void NetworkEditor::selectLayer(int index) {
  if (index < 0 || index >= model_->rowCount()) {
    view_->setCurrentIndex({});
    params_->setLayerIndex(-1);
    return;
  }
  view_->setCurrentIndex(model_->index(index));
  params_->setLayerIndex(index);
}

void NetworkEditor::editLayers(const QString& text, const std::function<void(nlohmann::json&)>& change,
                               int selectAfter) {
  doc_->edit(text, change);
  selectLayer(selectAfter);
}

void NetworkEditor::addLayer(const QString& type) {
  const int current = currentLayer();
  const int at = current < 0 ? model_->rowCount() : current + 1;
  // A new layer takes the precision of its neighbour, so mixed networks stay mixed.
  QString precision = QStringLiteral("fp32");
  if (current >= 0) precision = model_->index(current).data(LayerListModel::PrecisionRole).toString();
  const nlohmann::json layer = newLayer(type.toStdString(), precision);
  editLayers(tr("Add %1 layer").arg(type), [at, layer](nlohmann::json& j) {
    auto& layers = layersOf(j);
    layers.insert(layers.begin() + at, layer);
  }, at);
}

void NetworkEditor::removeCurrentLayer() {
  const int i = currentLayer();
  if (i < 0) return;
  editLayers(tr("Remove layers[%1]").arg(i), [i](nlohmann::json& j) {
    auto& layers = layersOf(j);
    layers.erase(layers.begin() + i);
  }, std::min(i, model_->rowCount() - 2));
}

void NetworkEditor::duplicateCurrentLayer() {
  const int i = currentLayer();
  if (i < 0) return;
  editLayers(tr("Duplicate layers[%1]").arg(i), [i](nlohmann::json& j) {
    auto& layers = layersOf(j);
    const nlohmann::json copy = layers[std::size_t(i)];
    layers.insert(layers.begin() + i + 1, copy);
  }, i + 1);
}

void NetworkEditor::moveCurrentLayer(int delta) {
  const int i = currentLayer();
  const int target = i + delta;
  if (i < 0 || target < 0 || target >= model_->rowCount()) return;
  editLayers(tr("Move layers[%1]").arg(i), [i, target](nlohmann::json& j) {
    auto& layers = layersOf(j);
    std::swap(layers[std::size_t(i)], layers[std::size_t(target)]);
  }, target);
}

void NetworkEditor::setAllPrecisions(const QString& precision) {
  const int keep = currentLayer();
  editLayers(tr("Set all layers to %1").arg(precision), [precision](nlohmann::json& j) {
    for (auto& layer : layersOf(j)) layer["precision"] = precision.toStdString();
  }, keep);
}

void NetworkEditor::keepEndsInFp32() {
  const int keep = currentLayer();
  editLayers(tr("Keep first and last layers in fp32"), [](nlohmann::json& j) {
    auto& layers = layersOf(j);
    if (layers.empty()) return;
    layers.front()["precision"] = "fp32";
    layers.back()["precision"] = "fp32";
  }, keep);
}

void NetworkEditor::checkNow() {
  checkTimer_->stop();
  check_ = checkExperiment(doc_->json());
  QHash<int, QString> shapes;
  for (const LayerShapeInfo& info : check_.layers) shapes.insert(info.index, formatShape(info.outputShape));
  model_->setShapeInfo(check_.layerErrors, shapes);
  params_->showError(check_.errorKeyPath, check_.keyError);
  if (check_.ok) {
    std::int64_t params = 0;
    for (const auto& info : check_.layers) params += info.parameterCount;
    status_->setStyleSheet(QStringLiteral("color: #2e7d32"));
    status_->setText(tr("✓ Shapes fit: input %1, %2 parameters.")
                         .arg(formatShape(check_.sampleShape))
                         .arg(QLocale().toString(qlonglong(params))));
  } else {
    status_->setStyleSheet(QStringLiteral("color: #c62828"));
    status_->setText(QStringLiteral("⚠ ") + check_.allErrors());
  }
  emit checked(check_);
}

}  // namespace plab::ui
