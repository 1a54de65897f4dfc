#include "runs/run_data.h"

#include <algorithm>
#include <QObject>
#include <QStringList>
#include <map>
#include <set>

#include "runs/config_diff_table.h"

namespace plab::ui {

void RunData::reserveSteps(std::int64_t total) {
  // Capped: a typo'd step count must not reserve gigabytes; past the cap it grows as usual.
  constexpr std::int64_t kMostReserved = 20'000'000;
  steps.reserve(std::size_t(std::clamp<std::int64_t>(total, 0, kMostReserved)));
}

QString RunData::label() const {
  const QString text = name.isEmpty() ? title : name;
  return runId > 0 ? QStringLiteral("#%1 %2").arg(runId).arg(text) : text;
}

QString RunData::legendLabel() const {
  constexpr int kMostChars = 28;
  const QString text = label();
  return text.size() <= kMostChars ? text : text.left(kMostChars - 1) + QChar(0x2026);
}

std::vector<std::string> RunData::statsLayerNames() const {
  std::map<int, std::string> byIndex;
  for (const auto& r : layerStats) byIndex.emplace(r.layerIndex, r.layerName);
  std::vector<std::string> names;
  for (auto& [index, name] : byIndex) names.push_back(name);
  return names;
}

QString editedRunName(const nlohmann::json& opened, const nlohmann::json& edited) {
  // A new title is the user's own name for the edit.
  if (opened.value("title", std::string()) != edited.value("title", std::string())) return {};
  std::map<std::string, nlohmann::json> before;
  for (auto& [key, value] : flattenConfig(opened)) before[key] = value;
  QStringList changes;
  std::set<std::string> seen;
  const auto text = [](const nlohmann::json& v) {
    return QString::fromStdString(v.is_string() ? v.get<std::string>() : v.dump());
  };
  const auto shortKey = [](const std::string& key) {
    return QString::fromStdString(key.rfind("network.", 0) == 0 ? key.substr(8) : key);
  };
  for (auto& [key, value] : flattenConfig(edited)) {
    seen.insert(key);
    if (key == "title" || key == "description") continue;
    const auto it = before.find(key);
    if (it == before.end() || it->second != value) changes << shortKey(key) + QLatin1Char(' ') + text(value);
  }
  for (auto& [key, value] : before) {
    if (!seen.count(key) && key != "title" && key != "description") changes << shortKey(key) + QStringLiteral(" removed");
  }
  if (changes.isEmpty()) return {};
  constexpr int kMostShown = 3;
  QString list = changes.mid(0, kMostShown).join(QStringLiteral(", "));
  if (changes.size() > kMostShown) list += QObject::tr(", +%1 more").arg(changes.size() - kMostShown);
  return QStringLiteral("%1 (%2)").arg(QString::fromStdString(edited.value("title", std::string())), list);
}

namespace {

// Tableau 10: distinguishable, also in print.
const QColor& tableau(std::int64_t index) {
  static const QColor colours[] = {QColor("#4e79a7"), QColor("#e15759"), QColor("#59a14f"), QColor("#f28e2b"),
                                   QColor("#b07aa1"), QColor("#76b7b2"), QColor("#edc948"), QColor("#ff9da7"),
                                   QColor("#9c755f"), QColor("#bab0ac")};
  return colours[((index % 10) + 10) % 10];
}

}  // namespace

QColor runColour(int index) { return tableau(index); }

// Run #1 gets the first colour, #2 the second, ...; a run not yet stored (id 0) the first.
QColor runColourOf(std::int64_t runId) { return tableau(runId > 0 ? runId - 1 : 0); }

QList<PlotRun> withRunColours(const QList<RunDataPtr>& runs) {
  QList<PlotRun> out;
  for (const RunDataPtr& run : runs) {
    // Lower ids with the same colour in this overlay: one darker shade for each.
    int sharing = 0;
    for (const RunDataPtr& other : runs) {
      if (other->runId < run->runId && runColourOf(other->runId) == runColourOf(run->runId)) ++sharing;
    }
    QColor colour = runColourOf(run->runId);
    for (int i = 0; i < sharing; ++i) colour = colour.darker(150);
    out << PlotRun{run, colour};
  }
  return out;
}

}  // namespace plab::ui
