#pragma once
// The run browser over the SQLite store: filter and sort, edit names, tags and notes,
// select several runs to overlay them, re-run one from its saved config, export.
// Listing runs reads the store on a worker thread.
#include <QFutureWatcher>
#include <QList>
#include <QWidget>
#include <vector>

#include "runs/run_data.h"
#include "store/store.h"

class QLineEdit;
class QTableView;
class QSortFilterProxyModel;
class QLabel;

namespace plab::ui {

class RunTableModel;

class RunBrowser : public QWidget {
  Q_OBJECT
 public:
  explicit RunBrowser(const QString& databasePath, QWidget* parent = nullptr);
  ~RunBrowser() override;

  // Re-reads the store in the background; refreshed() when done.
  void refresh();
  QList<qint64> selectedRunIds() const;
  void selectRuns(const QList<qint64>& ids);
  void setFilterText(const QString& text);
  RunTableModel* model() const { return model_; }
  QTableView* view() const { return view_; }
  int visibleRowCount() const;
  // The height that shows the filter bar, the table's header and `rows` rows (and the
  // horizontal scroll bar), at the current font.
  int heightForRows(int rows) const;
  // The selected runs' headers (name, status, config; no metrics), read from the listing.
  QList<RunDataPtr> selectedRunHeaders() const;

 signals:
  void refreshed();
  void showRunsRequested(const QList<qint64>& ids);
  // The rows selected changed (by click, keyboard or selectRuns); ids in ascending order.
  void selectedRunsChanged(const QList<qint64>& ids);
  void rerunRequested(qint64 id);
  void exportCsvRequested(qint64 id);
  void reportRequested(const QList<qint64>& ids);
  void message(const QString& text);

 private:
  QWidget* buildButtons();
  void deleteSelected();
  QString databasePath_;
  RunTableModel* model_;
  QSortFilterProxyModel* proxy_;
  QTableView* view_;
  QLineEdit* filter_;
  QLabel* count_;
  QFutureWatcher<std::vector<RunInfo>> watcher_;
  bool refreshAgain_ = false;
};

}  // namespace plab::ui
