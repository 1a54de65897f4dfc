#pragma once
// The one exporter of a run (docs/store.md, "Export"): `precisionlab-cli export` and the
// GUI's "Export CSV" both write through these functions, so their files are the same
// bytes for the same run. They take the run as a RunRecord (core/run_record.h): read
// from the store (loadStoredRun) or held by the GUI (RunData is one).
//
// CSV: two tables, the steps (kStepsCsvHeader) and the epoch evaluations
// (kEpochsCsvHeader). Written to files they are FILE.csv and FILE.epochs.csv; to one
// stream, steps, a blank line, epochs. Numbers are the shortest text that reads back to
// the same double; NaN and infinities are nan, inf and -inf (the spelling of
// core/json_number.h, unquoted); an accuracy of a regression task (-1) is left empty;
// text fields are quoted when they hold a comma, quote or line break (RFC 4180).
//
// JSON: one object {"format":"precisionlab-run","version":1,"run":{...},"steps":[...],
// "epochs":[...],"overflows":[...],"scale_growth":[...],"promotions":[...],"layer_stats":[...],"speed":[...]}
// with the records spelt as on the worker pipe (protocol/records_json.h).
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/run_record.h"
#include "store/store.h"

namespace plab {

inline constexpr const char* kStepsCsvHeader =
    "step,loss,loss_scale,overflow,skipped,epoch,culprit,grad_norm,learning_rate,step_ms,samples_per_second";
inline constexpr const char* kEpochsCsvHeader = "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy";

// A file that cannot be written; what() names it and says why.
struct ExportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A stored run: its row in `runs` and everything it recorded.
struct StoredRun {
  RunInfo info;
  RunRecord record;
};
// Throws StoreError ("<db>: run <id> not found") when the run does not exist.
StoredRun loadStoredRun(RunReader& reader, std::int64_t runId);

void writeStepsCsv(const RunRecord& run, std::ostream& out);
void writeEpochsCsv(const RunRecord& run, std::ostream& out);
// Both tables to one stream: steps, a blank line, epochs.
void writeRunCsv(const RunRecord& run, std::ostream& out);
// FILE.csv -> FILE.epochs.csv (FILE -> FILE.epochs.csv when it has no .csv extension).
std::string epochsCsvPath(const std::string& stepsPath);
// The steps to stepsPath, the epochs to epochsCsvPath(stepsPath); throws ExportError.
void writeRunCsvFiles(const RunRecord& run, const std::string& stepsPath);

nlohmann::json runToJson(const RunInfo& info, const RunRecord& run);
// The run's columns as JSON (id, name, title, status, times, backend, device, notes,
// tags, error, summary, config when loaded, browser figures), for `runs --json` too.
nlohmann::json runInfoToJson(const RunInfo& run);

// "1.5", "65536", "nan", "inf": the shortest text that reads back to v.
std::string csvNumber(double v);
// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
std::string csvField(const std::string& text);

}  // namespace plab
