#include "protocol/messages.h"

#include "core/json_text.h"

#include <functional>
#include <map>

namespace plab::protocol {
namespace {

using nlohmann::json;

// ---- event bodies: the fields beside "v" and "type" ---------------------------------

json body(const Hello& m) { return {{"version", m.version}, {"backend", m.backend}, {"device", m.device}}; }
json body(const RunStarted& m) {
  return {{"run_id", m.runId},       {"db", m.dbPath},          {"config", m.config},  {"total_steps", m.totalSteps},
          {"layers", m.layers},      {"backend", m.backend},    {"device", m.device}};
}
json body(const StepsBatch& m) { return {{"steps", m.steps}}; }
json body(const OverflowBatch& m) { return {{"events", m.events}}; }
json body(const ScaleGrowthBatch& m) { return {{"events", m.events}}; }
json body(const PromotionBatch& m) { return {{"events", m.events}}; }
json body(const EpochBatch& m) { return {{"epochs", m.epochs}}; }
json body(const LayerStatsBatch& m) { return {{"records", m.records}}; }
json body(const SpeedBatch& m) { return {{"results", m.results}}; }
json body(const Progress& m) {
  return {{"step", m.step},
          {"total", m.total},
          {"epoch", m.epoch},
          {"steps_per_second", numberToJson(m.stepsPerSecond)},
          {"eta_seconds", numberToJson(m.etaSeconds)},
          {"paused", m.paused}};
}
json body(const LogBatch& m) {
  json entries = json::array();
  for (const auto& e : m.entries) entries.push_back({{"level", e.level}, {"text", e.text}});
  return {{"entries", std::move(entries)}};
}
json body(const ErrorMessage& m) { return {{"message", m.message}, {"context", m.context}}; }
json body(const RunFinished& m) { return {{"status", runStatusText(m.status)}, {"error", m.error}, {"summary", m.summary}}; }

std::vector<std::string> stringArray(const json& obj, const char* field) {
  const json& array = readArray(obj, field);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) failField(std::string(field) + "[" + std::to_string(i) + "]", "must be a string (got " + previewJson(array[i]) + ")");
    out.push_back(array[i].get<std::string>());
  }
  return out;
}

LogBatch decodeLog(const json& j) {
  LogBatch m;
  const json& entries = readArray(j, "entries");
  for (std::size_t i = 0; i < entries.size(); ++i)
    withPrefix("entries[" + std::to_string(i) + "].", [&] {
      m.entries.push_back({readString(entries[i], "level"), readString(entries[i], "text")});
    });
  return m;
}

RunFinished decodeRunFinished(const json& j) {
  RunFinished m;
  const std::string status = readString(j, "status");
  const auto parsed = runStatusFromText(status);
  if (!parsed || *parsed == RunStatus::running)
    failField("status", "\"" + status + "\" is not one of completed, failed, cancelled, interrupted");
  m.status = *parsed;
  m.error = readString(j, "error");
  m.summary = readObject(j, "summary");
  return m;
}

// The decoders, by type name, in the order of the Event variant.
const std::vector<std::pair<std::string, std::function<Event(const json&)>>>& eventDecoders() {
  static const std::vector<std::pair<std::string, std::function<Event(const json&)>>> table = {
      {"hello", [](const json& j) -> Event { return Hello{int(readInt(j, "version")), readString(j, "backend"), readString(j, "device")}; }},
      {"run_started", [](const json& j) -> Event {
         return RunStarted{readInt(j, "run_id"),      readString(j, "db"),        readObject(j, "config"),
                           readInt(j, "total_steps"), stringArray(j, "layers"), readString(j, "backend"),
                           readString(j, "device")};
       }},
      {"steps", [](const json& j) -> Event { return StepsBatch{decodeArray<StepMetrics>(j, "steps")}; }},
      {"overflow", [](const json& j) -> Event { return OverflowBatch{decodeArray<OverflowEvent>(j, "events")}; }},
      {"scale_growth", [](const json& j) -> Event { return ScaleGrowthBatch{decodeArray<ScaleGrowthEvent>(j, "events")}; }},
      {"promotion", [](const json& j) -> Event { return PromotionBatch{decodeArray<PrecisionPromotion>(j, "events")}; }},
      {"epoch", [](const json& j) -> Event { return EpochBatch{decodeArray<EpochMetrics>(j, "epochs")}; }},
      {"layer_stats", [](const json& j) -> Event { return LayerStatsBatch{decodeArray<LayerStatsRecord>(j, "records")}; }},
      {"speed", [](const json& j) -> Event { return SpeedBatch{decodeArray<SpeedResult>(j, "results")}; }},
      {"progress", [](const json& j) -> Event {
         return Progress{readInt(j, "step"), readInt(j, "total"), std::int32_t(readInt(j, "epoch")),
                         readNumber(j, "steps_per_second"), readNumber(j, "eta_seconds"), readBool(j, "paused")};
       }},
      {"log", [](const json& j) -> Event { return decodeLog(j); }},
      {"error", [](const json& j) -> Event { return ErrorMessage{readString(j, "message"), readString(j, "context")}; }},
      {"run_finished", [](const json& j) -> Event { return decodeRunFinished(j); }},
  };
  return table;
}

const std::vector<std::pair<std::string, std::function<Command(const json&)>>>& commandDecoders() {
  static const std::vector<std::pair<std::string, std::function<Command(const json&)>>> table = {
      {"start", [](const json& j) -> Command { return StartCommand{readObject(j, "experiment")}; }},
      {"pause", [](const json&) -> Command { return PauseCommand{}; }},
      {"resume", [](const json&) -> Command { return ResumeCommand{}; }},
      {"stop", [](const json&) -> Command { return StopCommand{}; }},
      {"pace", [](const json& j) -> Command {
         const std::int64_t rate = readInt(j, "steps_per_second");
         if (rate < 0 || rate > kMostPaceStepsPerSecond)
           failField("steps_per_second", "must be in [0, " + std::to_string(kMostPaceStepsPerSecond) + "] (0: full speed), got " + std::to_string(rate));
         return PaceCommand{rate};
       }},
  };
  return table;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

json parseLine(std::string_view line) {
  try {
    return parseJsonText(line);  // bounded depth, nothing after the value (core/json_text.h)
  } catch (const JsonTextError& e) {
    // A protocol message is one line: the column says where.
    throw ProtocolError("line: not valid JSON at column " + std::to_string(e.column()) + ": " + e.reason());
  }
}

// Checks "v" and "type"; returns the type.
std::string checkEnvelope(const json& message, const std::vector<std::string>& allowed) {
  requireObject(message, "message");
  const std::int64_t version = readInt(message, "v");
  if (version != kProtocolVersion)
    failField("v", "protocol version " + std::to_string(version) + ", this program speaks " + std::to_string(kProtocolVersion));
  const std::string type = readString(message, "type");
  for (const auto& name : allowed)
    if (name == type) return type;
  failField("type", previewJson(json(type)) + " is not one of " + joined(allowed));  // a type may be megabytes
}

template <class Table>
auto decodeWith(const Table& table, const json& message, const std::vector<std::string>& names) {
  const std::string type = checkEnvelope(message, names);
  for (const auto& [name, decode] : table)
    if (name == type) return decode(message);
  failField("type", previewJson(json(type)) + " has no decoder");
}

}  // namespace

const std::vector<std::string>& eventTypeNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, decode] : eventDecoders()) n.push_back(name);
    return n;
  }();
  return names;
}

const std::vector<std::string>& commandTypeNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, decode] : commandDecoders()) n.push_back(name);
    return n;
  }();
  return names;
}

const char* typeName(const Event& e) { return eventTypeNames()[e.index()].c_str(); }
const char* typeName(const Command& c) { return commandTypeNames()[c.index()].c_str(); }

json toJson(const Event& e) {
  json message = std::visit([](const auto& m) { return body(m); }, e);
  message["v"] = kProtocolVersion;
  message["type"] = typeName(e);
  return message;
}

namespace {

// The fields of a command beside "v" and "type".
json commandBody(const Command& c) {
  json rest = json::object();
  if (const auto* start = std::get_if<StartCommand>(&c)) rest["experiment"] = start->experiment;
  if (const auto* pace = std::get_if<PaceCommand>(&c)) rest["steps_per_second"] = pace->stepsPerSecond;
  return rest;
}

}  // namespace

json toJson(const Command& c) {
  json message = commandBody(c);
  message["v"] = kProtocolVersion;
  message["type"] = typeName(c);
  return message;
}

namespace {

// nlohmann sorts keys, which would put "v" and "type" last; a person reading the pipe
// wants them first, so the envelope is written by hand in front of the body.
std::string withEnvelope(const char* type, const json& bodyObject) {
  std::string line = "{\"v\":" + std::to_string(kProtocolVersion) + ",\"type\":" + json(type).dump();
  // Lenient: a string that is not UTF-8 (a bad byte echoed in an error) goes out with
  // U+FFFD in its place instead of throwing (docs/protocol.md, "Envelope").
  const std::string rest = dumpJsonLenient(bodyObject);  // "{...}"
  if (rest.size() > 2) line += "," + rest.substr(1);
  else line += "}";
  return line;
}

}  // namespace

std::string encodeLine(const Event& e) {
  return withEnvelope(typeName(e), std::visit([](const auto& m) { return body(m); }, e));
}

std::string encodeLine(const Command& c) { return withEnvelope(typeName(c), commandBody(c)); }

Event eventFromJson(const json& message) { return decodeWith(eventDecoders(), message, eventTypeNames()); }
Command commandFromJson(const json& message) { return decodeWith(commandDecoders(), message, commandTypeNames()); }
Event decodeEvent(std::string_view line) { return eventFromJson(parseLine(line)); }
Command decodeCommand(std::string_view line) { return commandFromJson(parseLine(line)); }

}  // namespace plab::protocol
