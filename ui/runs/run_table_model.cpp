#include "runs/run_table_model.h"

#include <QColor>
#include <QDateTime>
#include <QStringList>

#include "editor/layer_summary.h"
#include "runs/config_diff_table.h"

namespace plab::ui {
namespace {

QString joinTags(const std::vector<std::string>& tags) {
  QStringList list;
  for (const auto& t : tags) list << QString::fromStdString(t);
  return list.join(QStringLiteral(", "));
}

QColor statusColour(RunStatus s) {
  switch (s) {
    case RunStatus::completed: return QColor("#2e7d32");
    case RunStatus::running: return QColor("#1565c0");
    case RunStatus::failed: return QColor("#c62828");
    case RunStatus::interrupted: return QColor("#ef6c00");
    case RunStatus::cancelled: return QColor("#616161");
  }
  return {};
}

const nlohmann::json& layersOf(const RunInfo& r) {
  static const nlohmann::json empty = nlohmann::json::array();
  if (!r.config.is_object() || !r.config.contains("network")) return empty;
  const auto& net = r.config["network"];
  return net.contains("layers") ? net["layers"] : empty;
}

// Adaptive precision's promotions, from the summary the run wrote when it ended.
nlohmann::json promotionsOf(const RunInfo& r) {
  return r.summary.is_object() ? r.summary.value("promotions", nlohmann::json()) : nlohmann::json();
}

}  // namespace

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void RunTableModel::setRuns(std::vector<RunInfo> runs) {
  beginResetModel();
  runs_ = std::move(runs);
  settings_.clear();
  for (const RunInfo& r : runs_) {
    QStringList parts;
    for (const auto& [key, value] : flattenConfig(r.config)) {
      if (key == "description") continue;  // prose: "fp16" in an fp32 baseline's text is no setting
      parts << QString::fromStdString(key) + QLatin1Char(' ') +
                   QString::fromStdString(value.is_string() ? value.get<std::string>() : value.dump());
    }
    settings_.push_back(parts.join(QStringLiteral(" · ")));
  }
  endResetModel();
}

const RunInfo* RunTableModel::runAt(int row) const {
  return row >= 0 && row < int(runs_.size()) ? &runs_[std::size_t(row)] : nullptr;
}

int RunTableModel::rowOfRun(std::int64_t id) const {
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (runs_[i].id == id) return int(i);
  }
  return -1;
}

int RunTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(runs_.size()); }
int RunTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"#", "Name", "Date", "Network", "Precision", "Backend / device", "Status",
                                "Steps", "Final train loss", "Test acc.", "Overflows", "Skipped", "Tags", "Notes"};
  return tr(names[section]);
}

QVariant RunTableModel::display(const RunInfo& r, int column) const {
  switch (column) {
    case Id: return qlonglong(r.id);
    case Name: return QString::fromStdString(r.name.empty() ? r.title : r.name);
    case Date: return QDateTime::fromString(QString::fromStdString(r.createdAt), Qt::ISODateWithMs).toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    case Network: return networkSummary(layersOf(r));
    case Precision: return precisionSummary(layersOf(r), promotionsOf(r));
    case Device: return QStringLiteral("%1 · %2").arg(QString::fromStdString(r.backend), QString::fromStdString(r.device));
    case Status: return QString::fromLatin1(plab::toString(r.status));
    case Steps: return qlonglong(r.lastStep);
    case FinalLoss: {  // core/run_record.h: one definition everywhere; none while running
      const std::optional<double> loss = finalTrainLoss(r.summary);
      return loss ? QVariant(*loss) : QVariant();
    }
    case TestAccuracy: return r.testAccuracy ? QVariant(*r.testAccuracy) : QVariant();
    case Overflows: return qlonglong(r.overflowCount);
    case Skipped: return qlonglong(r.skippedCount);
    case Tags: return joinTags(r.tags);
    case Notes: return QString::fromStdString(r.notes);
  }
  return {};
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  const RunInfo* r = runAt(index.row());
  if (!r) return {};
  if (role == Qt::EditRole) return display(*r, index.column());  // numbers sort as numbers
  if (role == Qt::DisplayRole) {
    const QVariant v = display(*r, index.column());
    if (index.column() == FinalLoss && v.isValid()) return QString::number(v.toDouble(), 'g', 4);
    if (index.column() == TestAccuracy && v.isValid()) return QString::number(v.toDouble() * 100, 'f', 1) + QLatin1Char('%');
    return v;
  }
  if (role == Qt::ForegroundRole && index.column() == Status) return statusColour(r->status);
  if (role == Qt::ToolTipRole) {
    if (index.column() == Precision) return precisionList(layersOf(*r), promotionsOf(*r));
    if (!r->error.empty()) return QString::fromStdString(r->error);
    if (index.column() == Notes) return QString::fromStdString(r->notes);
    if (index.column() == Device) return display(*r, Device);
    return QString::fromStdString(r->title);
  }
  if (role == Qt::UserRole) return qlonglong(r->id);
  if (role == SettingsRole) return settings_[std::size_t(index.row())];
  return {};
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.column() == Name || index.column() == Tags || index.column() == Notes) f |= Qt::ItemIsEditable;
  return f;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole || !runAt(index.row())) return false;
  RunInfo& r = runs_[std::size_t(index.row())];
  const std::string text = value.toString().trimmed().toStdString();
  try {
    RunReader store(databasePath_.toStdString());
    if (index.column() == Notes) {
      store.updateNotes(r.id, text);
      r.notes = text;
    } else if (index.column() == Name) {
      store.renameRun(r.id, text);
      r.name = text;
    } else if (index.column() == Tags) {
      std::vector<std::string> tags;
      for (const QString& t : value.toString().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!t.trimmed().isEmpty()) tags.push_back(t.trimmed().toStdString());
      }
      store.updateTags(r.id, tags);
      r.tags = tags;
    } else {
      return false;
    }
  } catch (const std::exception& e) {
    emit storeError(QString::fromUtf8(e.what()));
    return false;
  }
  emit dataChanged(index, index);
  return true;
}

}  // namespace plab::ui
