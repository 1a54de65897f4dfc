#pragma once
// The run browser's rows: one per stored run, with the columns a person sorts and
// filters by. Name, tags and notes are editable and written back to the store.
#include <QAbstractTableModel>
#include <vector>

#include "store/store.h"

namespace plab::ui {

class RunTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { Id, Name, Date, Network, Precision, Device, Status, Steps, FinalLoss, TestAccuracy,
                Overflows, Skipped, Tags, Notes, ColumnCount };
  // Qt::UserRole gives a row's run id; this role every setting of its experiment as
  // "optimizer.type adam · loss_scaling.mode dynamic · ...", for the filter.
  static constexpr int SettingsRole = Qt::UserRole + 1;
  explicit RunTableModel(QObject* parent = nullptr);

  void setDatabasePath(const QString& path) { databasePath_ = path; }
  void setRuns(std::vector<RunInfo> runs);
  const RunInfo* runAt(int row) const;
  int rowOfRun(std::int64_t id) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;

 signals:
  void storeError(const QString& message);

 private:
  QVariant display(const RunInfo& r, int column) const;
  QString databasePath_;
  std::vector<RunInfo> runs_;
  std::vector<QString> settings_;  // SettingsRole, per row
};

}  // namespace plab::ui
