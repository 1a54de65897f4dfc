#pragma once
// The comparison table of a stored sweep (docs/lessons.md, "Comparing a sweep"): one
// row per variant, read from the variant's latest run in the store, with the lesson's
// claims checked on the same runs. `precisionlab-cli compare`, the GUI's sweep view
// and the report all show this one table; CSV and Markdown are its two exports.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/records.h"
#include "store/store.h"
#include "store/sweep_store.h"
#include "sweep/claims.h"
#include "sweep/sweep.h"

namespace plab {

// A layer's gradients that its format cannot hold: the mean, over the run's statistics
// steps, of the share of values below the format's smallest subnormal. With shadow
// statistics on, the share of the fp32 shadow's values that would round to zero in the
// format (what the format loses, even upstream); else the share that rounding turned
// to zero at the moment the statistics looked (docs/architecture.md, "Shadow statistics").
struct LayerUnderflow {
  std::string layer;        // "layers[0] linear"
  std::string precision;    // the gradient's format
  double share = 0;         // 0..1
  bool fromShadow = false;
};

struct ComparisonRow {
  std::string variant;
  std::optional<std::int64_t> runId;
  std::string status;                    // the run's status, or "not run"
  RunMetrics metrics;                    // sweep/run_metrics.h: accuracy, loss, counts, step time
  std::optional<double> speedup;         // the first variant's median step time / this one's
  std::optional<MemoryUse> memory;       // the run summary's "memory"
  std::vector<LayerUnderflow> gradientUnderflow;  // layers with gradients, forward order
};

struct ClaimCheck {
  Claim claim;
  ClaimResult result;
};

struct SweepComparison {
  std::int64_t sweepId = 0;
  std::string title;
  std::string backend;                   // where the runs ran ("cpu", "cuda"; "" if none ran)
  std::vector<ComparisonRow> rows;       // the sweep's variant order
  std::vector<ClaimCheck> claims;        // a lesson's claims, checked on these runs
  std::string claimsNote;                // why the claims could not be read, if so
};

// Every claim of the lesson, on the latest run of each variant of the stored sweep.
std::vector<ClaimCheck> checkLessonClaims(const Lesson& lesson, const SweepRow& sweep, RunReader& reader);

// Throws StoreError when the store holds no sweep `sweepId`.
SweepComparison compareSweep(const std::string& dbPath, std::int64_t sweepId);

// One header line and a line per variant; bytes and shares as plain numbers.
std::string comparisonCsv(const SweepComparison& c);
// A Markdown document: title, the table (readable units), per-layer underflow, claims.
std::string comparisonMarkdown(const SweepComparison& c);

}  // namespace plab
