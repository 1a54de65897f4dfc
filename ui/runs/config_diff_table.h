#pragma once
// Side-by-side configurations of the selected runs: one row per setting (flattened
// JSON path such as "optimizer.lr" or "network.layers[2].precision"), one column per
// run; rows whose values differ are highlighted, and can be shown alone.
#include <QWidget>
#include <nlohmann/json.hpp>
#include <vector>

#include "runs/run_data.h"

class QTableWidget;
class QCheckBox;

namespace plab::ui {

// "optimizer.lr" -> value, for every leaf of a config.
std::vector<std::pair<std::string, nlohmann::json>> flattenConfig(const nlohmann::json& config);

struct ConfigDiffRow {
  QString key;
  QStringList values;   // one per run ("—" where a run lacks the key)
  bool differs = false;
};
std::vector<ConfigDiffRow> diffConfigs(const QList<RunDataPtr>& runs);

class ConfigDiffTable : public QWidget {
  Q_OBJECT
 public:
  explicit ConfigDiffTable(QWidget* parent = nullptr);
  void setRuns(const QList<PlotRun>& runs);
  QTableWidget* table() const { return table_; }
  int differingRowCount() const { return differing_; }

 private:
  void rebuild();
  QList<PlotRun> runs_;
  QTableWidget* table_;
  QCheckBox* onlyDifferences_;
  int differing_ = 0;
};

}  // namespace plab::ui
