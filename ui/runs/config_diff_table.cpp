#include "runs/config_diff_table.h"

#include <QCheckBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <map>

namespace plab::ui {
namespace {

void flattenInto(const nlohmann::json& j, const std::string& path,
                 std::vector<std::pair<std::string, nlohmann::json>>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flattenInto(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) flattenInto(j[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out.emplace_back(path, j);
  }
}

QString valueText(const nlohmann::json& v) {
  if (v.is_string()) return QString::fromStdString(v.get<std::string>());
  return QString::fromStdString(v.dump());
}

}  // namespace

std::vector<std::pair<std::string, nlohmann::json>> flattenConfig(const nlohmann::json& config) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  flattenInto(config, "", out);
  return out;
}

std::vector<ConfigDiffRow> diffConfigs(const QList<RunDataPtr>& runs) {
  // Keys in first-seen order, so the table reads like the file.
  std::vector<std::string> order;
  std::map<std::string, std::vector<QString>> values;
  for (int r = 0; r < runs.size(); ++r) {
    for (auto& [key, value] : flattenConfig(runs[r]->config)) {
      auto it = values.find(key);
      if (it == values.end()) {
        order.push_back(key);
        it = values.emplace(key, std::vector<QString>(std::size_t(runs.size()), QStringLiteral("—"))).first;
      }
      it->second[std::size_t(r)] = valueText(value);
    }
  }
  std::vector<ConfigDiffRow> rows;
  for (const std::string& key : order) {
    ConfigDiffRow row;
    row.key = QString::fromStdString(key);
    for (const QString& v : values[key]) {
      row.values << v;
      row.differs = row.differs || v != values[key].front();
    }
    rows.push_back(row);
  }
  return rows;
}

ConfigDiffTable::ConfigDiffTable(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("configDiff"));
  auto* layout = new QVBoxLayout(this);
  onlyDifferences_ = new QCheckBox(tr("Only settings that differ"));
  onlyDifferences_->setObjectName(QStringLiteral("onlyDifferences"));
  layout->addWidget(onlyDifferences_);
  table_ = new QTableWidget;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setStretchLastSection(false);
  table_->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft);
  table_->setWordWrap(false);
  layout->addWidget(table_, 1);
  connect(onlyDifferences_, &QCheckBox::toggled, this, &ConfigDiffTable::rebuild);
}

void ConfigDiffTable::setRuns(const QList<PlotRun>& runs) {
  runs_ = runs;
  rebuild();
}

void ConfigDiffTable::rebuild() {
  QList<RunDataPtr> data;
  QStringList headers{tr("Setting")};
  for (const PlotRun& r : runs_) {
    data << r.data;
    headers << r.data->label();
  }
  const auto rows = diffConfigs(data);
  differing_ = 0;
  table_->clear();
  table_->setColumnCount(headers.size());
  table_->setHorizontalHeaderLabels(headers);
  for (int c = 1; c < headers.size(); ++c) table_->horizontalHeaderItem(c)->setForeground(runs_[c - 1].colour);
  table_->setRowCount(0);
  for (const ConfigDiffRow& row : rows) {
    differing_ += row.differs ? 1 : 0;
    if (onlyDifferences_->isChecked() && !row.differs) continue;
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto* key = new QTableWidgetItem(row.key);
    if (row.differs) {
      QFont bold = key->font();
      bold.setBold(true);
      key->setFont(bold);
    }
    table_->setItem(r, 0, key);
    for (int c = 0; c < row.values.size(); ++c) {
      auto* item = new QTableWidgetItem(row.values[c]);
      item->setToolTip(row.values[c]);
      if (row.differs) item->setBackground(QColor("#fff3c4"));  // what differs stands out
      table_->setItem(r, c + 1, item);
    }
  }
  table_->resizeColumnsToContents();
  // Long values (the description) would push the other runs out of sight.
  for (int c = 0; c < table_->columnCount(); ++c) table_->setColumnWidth(c, std::min(table_->columnWidth(c), 340));
}

}  // namespace plab::ui
