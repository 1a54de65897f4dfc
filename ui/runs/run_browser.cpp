#include "runs/run_browser.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent>

#include "runs/run_loader.h"
#include "runs/run_table_model.h"

namespace plab::ui {
namespace {

// Matches the filter against every column and against the run's settings, so that
// "adam", "dynamic" or "lr 0.01" find the runs that used them.
class RunFilterProxy : public QSortFilterProxyModel {
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override {
    if (QSortFilterProxyModel::filterAcceptsRow(row, parent)) return true;
    const QString settings = sourceModel()->index(row, 0, parent).data(RunTableModel::SettingsRole).toString();
    return settings.contains(filterRegularExpression());
  }
};

}  // namespace

RunBrowser::RunBrowser(const QString& databasePath, QWidget* parent)
    : QWidget(parent), databasePath_(databasePath), model_(new RunTableModel(this)) {
  setObjectName(QStringLiteral("runBrowser"));
  model_->setDatabasePath(databasePath);
  proxy_ = new RunFilterProxy(this);
  proxy_->setSourceModel(model_);
  proxy_->setFilterKeyColumn(-1);  // filter matches any column
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  proxy_->setSortRole(Qt::EditRole);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->setSpacing(4);
  auto* top = new QHBoxLayout;
  filter_ = new QLineEdit;
  filter_->setObjectName(QStringLiteral("runFilter"));
  filter_->setPlaceholderText(tr("Filter runs (name, precision, status, tag, note, any setting: adam, dynamic…)"));
  filter_->setClearButtonEnabled(true);
  top->addWidget(filter_, 1);
  count_ = new QLabel;
  top->addWidget(count_);
  layout->addLayout(top);

  view_ = new QTableView;
  view_->setObjectName(QStringLiteral("runTable"));
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  view_->setAlternatingRowColors(true);
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->setWordWrap(false);
  layout->addWidget(view_, 1);
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          [this] { emit selectedRunsChanged(selectedRunIds()); });
  // The buttons share the filter's row: on a 720-pixel screen every line the
  // browser keeps for itself is a run fewer on show.
  top->addWidget(buildButtons());

  connect(filter_, &QLineEdit::textChanged, this, &RunBrowser::setFilterText);
  connect(model_, &RunTableModel::storeError, this, &RunBrowser::message);
  connect(&watcher_, &QFutureWatcher<std::vector<RunInfo>>::finished, this, [this] {
    const QList<qint64> keep = selectedRunIds();
    try {
      model_->setRuns(watcher_.result());
    } catch (const std::exception& e) {
      emit message(tr("Cannot read the run store: %1").arg(QString::fromUtf8(e.what())));
    }
    view_->resizeColumnsToContents();
    selectRuns(keep);
    count_->setText(tr("%1 runs").arg(model_->rowCount()));
    emit refreshed();
    if (refreshAgain_) {
      refreshAgain_ = false;
      refresh();
    }
  });
  refresh();
}

RunBrowser::~RunBrowser() { watcher_.waitForFinished(); }

QWidget* RunBrowser::buildButtons() {
  auto* bar = new QWidget;
  auto* row = new QHBoxLayout(bar);
  row->setContentsMargins(0, 0, 0, 0);
  auto button = [row](const QString& text, const QString& icon, const QString& name, const QString& tip) {
    auto* b = new QPushButton(QIcon(icon), text);
    b->setObjectName(name);
    b->setToolTip(tip);
    row->addWidget(b);
    return b;
  };
  auto* show = button(tr("Show / overlay"), QStringLiteral(":/icons/overlay.svg"), QStringLiteral("showRuns"),
                      tr("Show the selected runs on the plots, overlaid when several (Enter)"));
  auto* rerun = button(tr("Re-run"), QStringLiteral(":/icons/rerun.svg"), QStringLiteral("rerunRun"),
                       tr("Open the selected run's saved config as the experiment and start it"));
  auto* csv = button(tr("Export CSV…"), QStringLiteral(":/icons/export.svg"), QStringLiteral("exportCsv"),
                     tr("Per-step metrics of the selected run"));
  auto* report = button(tr("Report…"), QStringLiteral(":/icons/report.svg"), QStringLiteral("makeReport"),
                        tr("PDF or HTML report of the selected runs"));
  auto* remove = button(tr("Delete"), QStringLiteral(":/icons/remove.svg"), QStringLiteral("deleteRuns"),
                        tr("Delete the selected runs from the store"));
  auto* refresh = button(tr("Refresh"), QStringLiteral(":/icons/rerun.svg"), QStringLiteral("refreshRuns"), tr("Re-read the store (F5)"));
  refresh->setShortcut(QKeySequence::Refresh);

  connect(show, &QPushButton::clicked, this, [this] { emit showRunsRequested(selectedRunIds()); });
  connect(view_, &QTableView::activated, this, [this] { emit showRunsRequested(selectedRunIds()); });
  connect(rerun, &QPushButton::clicked, this, [this] {
    if (!selectedRunIds().isEmpty()) emit rerunRequested(selectedRunIds().first());
  });
  connect(csv, &QPushButton::clicked, this, [this] {
    if (!selectedRunIds().isEmpty()) emit exportCsvRequested(selectedRunIds().first());
  });
  connect(report, &QPushButton::clicked, this, [this] { emit reportRequested(selectedRunIds()); });
  connect(remove, &QPushButton::clicked, this, &RunBrowser::deleteSelected);
  connect(refresh, &QPushButton::clicked, this, &RunBrowser::refresh);
  return bar;
}

void RunBrowser::refresh() {
  if (watcher_.isRunning()) {
    refreshAgain_ = true;
    return;
  }
  const QString path = databasePath_;
  watcher_.setFuture(QtConcurrent::run([path] { return listRunsWithConfig(path); }));
}

QList<qint64> RunBrowser::selectedRunIds() const {
  QList<qint64> ids;
  if (!view_->selectionModel()) return ids;
  for (const QModelIndex& index : view_->selectionModel()->selectedRows()) {
    ids << proxy_->data(index, Qt::UserRole).toLongLong();
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RunBrowser::selectRuns(const QList<qint64>& ids) {
  QItemSelection selection;
  for (qint64 id : ids) {
    const int row = model_->rowOfRun(id);
    if (row < 0) continue;
    const QModelIndex index = proxy_->mapFromSource(model_->index(row, 0));
    if (index.isValid()) selection.select(index, index);
  }
  view_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void RunBrowser::setFilterText(const QString& text) {
  if (filter_->text() != text) filter_->setText(text);
  proxy_->setFilterFixedString(text);
  count_->setText(tr("%1 of %2 runs").arg(proxy_->rowCount()).arg(model_->rowCount()));
}

int RunBrowser::heightForRows(int rows) const {
  const QMargins m = layout()->contentsMargins();
  const int filterBar = layout()->itemAt(0)->sizeHint().height();
  return m.top() + m.bottom() + filterBar + layout()->spacing() + 2 * view_->frameWidth() +
         view_->horizontalHeader()->sizeHint().height() + rows * view_->verticalHeader()->defaultSectionSize() +
         view_->horizontalScrollBar()->sizeHint().height();
}

int RunBrowser::visibleRowCount() const { return proxy_->rowCount(); }

QList<RunDataPtr> RunBrowser::selectedRunHeaders() const {
  QList<RunDataPtr> runs;
  for (qint64 id : selectedRunIds()) {
    const RunInfo* info = model_->runAt(model_->rowOfRun(id));
    if (!info) continue;
    auto run = std::make_shared<RunData>();
    applyRunInfo(*run, *info);
    runs << run;
  }
  return runs;
}

void RunBrowser::deleteSelected() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.isEmpty()) return;
  if (QMessageBox::question(this, tr("Delete runs"), tr("Delete %1 run(s) and all their metrics?").arg(ids.size())) != QMessageBox::Yes) return;
  try {
    RunReader store(databasePath_.toStdString());
    for (qint64 id : ids) store.deleteRun(id);
  } catch (const std::exception& e) {
    emit message(QString::fromUtf8(e.what()));
  }
  refresh();
}

}  // namespace plab::ui
