#pragma once
// One run's data as the views need it: the run's rows (a RunRecord, engine/core/run_record.h:
// the same type the store reads and the exporter writes) and what the views show
// about it. Filled live from the worker's events, from the run store, or by
// following a run another process writes (run_loader.h), with the same rows each way.
// Lives in the GUI thread; appenders bump `revision` so the plots (which keep a
// cursor per run) add only what is new on each replot tick.
#include <QColor>
#include <QList>
#include <QString>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/run_record.h"

namespace plab::ui {

struct RunData : RunRecord {
  std::int64_t runId = 0;           // 0: not yet known (worker has not reported it)
  QString name;                     // run browser name, else the title
  QString title, description;
  nlohmann::json config;            // the experiment file as run
  QString backend, device;          // where the run really ran (run_started, the store's run row)
  QString status = QStringLiteral("running");
  QString error;                    // failed: the worker's message
  QString createdAt;
  std::int64_t totalSteps = 0;
  std::vector<std::string> layerNames;

  double stepsPerSecond = 0;
  double etaSeconds = 0;
  std::uint64_t revision = 0;       // bumped by every append

  // Reserves room for the announced number of steps: growing a vector of a million
  // steps moves every one of them, a stall of the GUI thread while a run streams.
  void reserveSteps(std::int64_t total);
  QString label() const;            // "#12 Two spirals in fp16"
  // label() cut to a legend's width: "#12 fp16, no scaling", "#3 Two spirals in fp16 (ba…"
  // (the whole label is in the run browser).
  QString legendLabel() const;
  bool isLive() const { return status == QLatin1String("running"); }
  std::int64_t lastStep() const { return steps.empty() ? 0 : steps.back().step; }
  // Layer names that have statistics, in layer order.
  std::vector<std::string> statsLayerNames() const;
};

using RunDataPtr = std::shared_ptr<RunData>;

// A run as shown in a plot: its data and the colour it is drawn in.
struct PlotRun {
  RunDataPtr data;
  QColor colour;
};

// The name a run of an edited experiment gets unless the user names it: the title and
// what differs from the experiment as opened, "Two spirals (optimizer.lr 0.02,
// layers[2].precision fp32)", at most three settings then "+N more". "" when the title
// was changed (it names the run then) or nothing but the description differs.
QString editedRunName(const nlohmann::json& opened, const nlohmann::json& edited);

// Distinct colours by position: a sweep's variants, which keep their place in their
// sweep file (precision colours are for layers, not runs).
QColor runColour(int index);
// A stored run's own colour, from its id: the same whichever runs it is overlaid
// with and wherever it stands among them (docs/user-guide.md, "Runs").
QColor runColourOf(std::int64_t runId);
// Runs with their own colours; two whose ids share a colour (ten apart) are told apart
// by a darker shade for the higher id, so the result does not depend on their order.
QList<PlotRun> withRunColours(const QList<RunDataPtr>& runs);

}  // namespace plab::ui
