#pragma once
// A stored run as CSV or JSON, for `precisionlab-cli export` and the GUI's export.
//
// CSV: the steps table (header step,loss,loss_scale,overflow,skipped,epoch,culprit,
// grad_norm,learning_rate,step_ms,samples_per_second: the five columns a plot needs first) and the epoch table (header
// epoch,step,train_loss,train_accuracy,test_loss,test_accuracy) are two tables; the
// caller writes them to two files or to one stream separated by a blank line.
// Numbers are written in the shortest form that reads back to the same double; NaN
// and infinities as nan, inf, -inf; an accuracy of a regression task is left empty.
//
// JSON: one object {"format":"precisionlab-run","version":1,"run":{...},"steps":[...],
// "epochs":[...],"overflows":[...],"scale_growth":[...],"layer_stats":[...],"speed":[...]}
// with the records spelt as on the worker pipe (protocol/records_json.h).
#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace plab {

inline constexpr const char* kStepsCsvHeader =
    "step,loss,loss_scale,overflow,skipped,epoch,culprit,grad_norm,learning_rate,step_ms,samples_per_second";
inline constexpr const char* kEpochsCsvHeader = "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy";

// Throw StoreError when the run does not exist.
void writeStepsCsv(RunReader& reader, std::int64_t runId, std::ostream& out);
void writeEpochsCsv(RunReader& reader, std::int64_t runId, std::ostream& out);
nlohmann::json runToJson(RunReader& reader, std::int64_t runId);

// The run's columns as JSON (id, name, title, status, times, backend, device, notes,
// tags, error, summary, config when loaded, browser figures), for `runs --json` too.
nlohmann::json runInfoToJson(const RunInfo& run);

// "1.5", "65536", "nan", "inf": the shortest text that reads back to v.
std::string csvNumber(double v);
// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
std::string csvField(const std::string& text);

}  // namespace plab
