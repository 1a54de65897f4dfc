#pragma once
// The worker protocol (docs/architecture.md, "Process model"): JSON lines between the GUI and
// `precisionlab-cli worker`. Each line is one JSON object with "v" (kProtocolVersion)
// and "type". docs/protocol.md shows every message with an example.
//
// Worker -> GUI (stdout): events. Records that can come many per second (steps,
// overflows, statistics) travel as arrays, so that EventBatcher can merge them and
// keep the pipe at ~30 lines a second whatever the step rate.
// GUI -> worker (stdin): commands.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/json_fields.h"
#include "protocol/records_json.h"

namespace plab::protocol {

inline constexpr int kProtocolVersion = 1;

// ---- events (worker -> GUI) --------------------------------------------------------

struct Hello {                  // "hello": first line the worker writes
  int version = kProtocolVersion;
  std::string backend;          // "cpu", "cuda": the worker's default backend; the
  std::string device;           // experiment may ask for another (see RunStarted)
};
struct RunStarted {             // "run_started"
  std::int64_t runId = 0;
  std::string dbPath;
  nlohmann::json config;        // the experiment as run
  std::int64_t totalSteps = 0;
  std::vector<std::string> layers;  // forward order, "layers[0] linear"
  std::string backend;          // the backend the run really uses, as stored in runs.backend
  std::string device;           // and its device, as in runs.device
};
struct StepsBatch { std::vector<StepMetrics> steps; };                 // "steps"
struct OverflowBatch { std::vector<OverflowEvent> events; };           // "overflow"
struct ScaleGrowthBatch { std::vector<ScaleGrowthEvent> events; };     // "scale_growth"
struct PromotionBatch { std::vector<PrecisionPromotion> events; };     // "promotion"
struct EpochBatch { std::vector<EpochMetrics> epochs; };               // "epoch"
struct LayerStatsBatch { std::vector<LayerStatsRecord> records; };     // "layer_stats"
struct SpeedBatch { std::vector<SpeedResult> results; };               // "speed"
struct Progress {               // "progress": only the latest one matters
  std::int64_t step = 0;
  std::int64_t total = 0;
  std::int32_t epoch = 0;
  double stepsPerSecond = 0;
  double etaSeconds = 0;
  bool paused = false;
};
struct LogEntry {
  std::string level;            // "info", "warning"
  std::string text;
};
struct LogBatch { std::vector<LogEntry> entries; };                    // "log"
struct ErrorMessage {           // "error": the run cannot go on (or a command was bad)
  std::string message;
  std::string context;          // where: "dataset", "layers[2]", "step 812", "command"
};
struct RunFinished {            // "run_finished": the last line of a run
  RunStatus status = RunStatus::completed;
  std::string error;
  nlohmann::json summary = nlohmann::json::object();
};

using Event = std::variant<Hello, RunStarted, StepsBatch, OverflowBatch, ScaleGrowthBatch, PromotionBatch, EpochBatch,
                           LayerStatsBatch, SpeedBatch, Progress, LogBatch, ErrorMessage, RunFinished>;

// ---- commands (GUI -> worker) ------------------------------------------------------

struct StartCommand { nlohmann::json experiment; };   // "start"
struct PauseCommand {};                               // "pause"
struct ResumeCommand {};                              // "resume"
struct StopCommand {};                                // "stop": finish as `cancelled`
// "pace": at most this many optimizer steps a second (0: as fast as it can), so that
// a class can watch an overflow happen; the step times recorded are unchanged.
struct PaceCommand { std::int64_t stepsPerSecond = 0; };

using Command = std::variant<StartCommand, PauseCommand, ResumeCommand, StopCommand, PaceCommand>;
inline constexpr std::int64_t kMostPaceStepsPerSecond = 1000000;

// ---- lines -------------------------------------------------------------------------

// The "type" of a message, e.g. "steps". One spelling for encoder, decoder and docs.
const char* typeName(const Event& e);
const char* typeName(const Command& c);
// Every event type name, in the order of the Event variant.
const std::vector<std::string>& eventTypeNames();
const std::vector<std::string>& commandTypeNames();

nlohmann::json toJson(const Event& e);
nlohmann::json toJson(const Command& c);
// One line of JSON, without the trailing newline.
std::string encodeLine(const Event& e);
std::string encodeLine(const Command& c);

// Throw ProtocolError naming the field ("steps[3].loss: missing", "v: ...", "type: ...").
Event decodeEvent(std::string_view line);
Event eventFromJson(const nlohmann::json& message);
Command decodeCommand(std::string_view line);
Command commandFromJson(const nlohmann::json& message);

}  // namespace plab::protocol
