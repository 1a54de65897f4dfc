#include "sweep/comparison.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "model/memory_estimate.h"  // bytesText
#include "protocol/records_json.h"
#include "sweep/run_metrics.h"

namespace plab {
namespace {

std::optional<double> number(const RunMetrics& m, const char* key) {
  const auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  return std::nullopt;
}

std::string printf1(const char* format, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

std::string cell(const std::optional<double>& v, const char* format) { return v ? printf1(format, *v) : ""; }

// CSV fields are quoted when they hold a comma, a quote or a line break (RFC 4180).
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A Markdown table cell: a pipe would end the cell early.
std::string mdField(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out.empty() ? "-" : out;
}

std::vector<LayerUnderflow> gradientUnderflow(RunReader& reader, std::int64_t runId) {
  struct Sum {
    std::string layer, precision;
    double shares = 0;
    int samples = 0;
    bool shadow = false;
  };
  std::map<std::int32_t, Sum> byLayer;  // forward order
  for (const LayerStatsRecord& r : reader.loadLayerStats(runId)) {
    if (r.kind != StatsKind::gradient) continue;
    Sum& s = byLayer[r.layerIndex];
    s.layer = r.layerName;
    s.precision = r.precision;
    s.shadow = r.hasShadow;
    s.shares += r.hasShadow ? r.shadowUnderflowShare() : r.underflowShare();
    ++s.samples;
  }
  std::vector<LayerUnderflow> out;
  for (const auto& [index, s] : byLayer) out.push_back({s.layer, s.precision, s.shares / s.samples, s.shadow});
  return out;
}

ComparisonRow rowOf(const SweepVariantRow& v, RunReader& reader) {
  ComparisonRow row;
  row.variant = v.name;
  row.runId = v.runId;
  row.status = v.runStatus ? toString(*v.runStatus) : "not run";
  if (!v.runId) return row;
  row.metrics = storedRunMetrics(reader, *v.runId);
  if (const auto run = reader.getRun(*v.runId)) {
    if (const auto m = run->summary.find("memory"); m != run->summary.end() && m->is_object())
      row.memory = m->get<MemoryUse>();  // protocol/records_json.h
  }
  row.gradientUnderflow = gradientUnderflow(reader, *v.runId);
  return row;
}

}  // namespace

std::vector<ClaimCheck> checkLessonClaims(const Lesson& lesson, const SweepRow& sweep, RunReader& reader) {
  std::map<std::string, RunMetrics> metrics;
  std::string backend;
  for (const SweepVariantRow& v : sweep.variants) {
    if (!v.runId) continue;
    metrics[v.name] = storedRunMetrics(reader, *v.runId);
    if (const auto run = reader.getRun(*v.runId); run && backend.empty()) backend = run->backend;
  }
  std::vector<ClaimCheck> checks;
  for (const Claim& c : lesson.claims) checks.push_back({c, evaluateClaim(c, metrics, backend)});
  return checks;
}

SweepComparison compareSweep(const std::string& dbPath, std::int64_t sweepId) {
  SweepStore sweeps(dbPath);
  const auto stored = sweeps.getSweep(sweepId);
  if (!stored) throw StoreError("no sweep " + std::to_string(sweepId) + " in " + dbPath);
  RunReader reader(dbPath);
  SweepComparison c;
  c.sweepId = stored->id;
  c.title = stored->title;
  for (const SweepVariantRow& v : stored->variants) {
    c.rows.push_back(rowOf(v, reader));
    if (const auto run = v.runId ? reader.getRun(*v.runId) : std::nullopt; run && c.backend.empty())
      c.backend = run->backend;
  }
  const std::optional<double> baseline = c.rows.empty() ? std::nullopt : number(c.rows.front().metrics, "median_step_ms");
  for (ComparisonRow& row : c.rows) {
    const std::optional<double> ms = number(row.metrics, "median_step_ms");
    if (baseline && ms && *ms > 0) row.speedup = *baseline / *ms;
  }
  try {
    const Sweep sweep = parseSweepText(stored->source, stored->sourceName);
    if (sweep.lesson) c.claims = checkLessonClaims(*sweep.lesson, *stored, reader);
  } catch (const SweepError& e) {
    c.claimsNote = std::string("the sweep's file no longer parses where it was stored from, so its claims "
                               "cannot be checked: ") + e.what();
  }
  return c;
}

std::string comparisonCsv(const SweepComparison& c) {
  std::ostringstream out;
  out << "variant,run_id,status,final_train_loss,test_accuracy,skipped_steps,overflow_events,median_step_ms,"
         "speedup,weights_bytes,master_weights_bytes,gradients_bytes,optimizer_state_bytes,activations_bytes,"
         "memory_bytes,gradient_underflow\n";
  for (const ComparisonRow& r : c.rows) {
    std::string underflow;
    for (const LayerUnderflow& u : r.gradientUnderflow)
      underflow += (underflow.empty() ? "" : "; ") + u.layer + " " + u.precision + " " + printf1("%.6g", u.share) +
                   (u.fromShadow ? " shadow" : "");
    out << csvField(r.variant) << ',' << (r.runId ? std::to_string(*r.runId) : "") << ',' << r.status << ','
        << cell(number(r.metrics, "final_train_loss"), "%.6g") << ','
        << cell(number(r.metrics, "test_accuracy"), "%.6g") << ','
        << cell(number(r.metrics, "skipped_steps"), "%.0f") << ','
        << cell(number(r.metrics, "overflow_events"), "%.0f") << ','
        << cell(number(r.metrics, "median_step_ms"), "%.6g") << ',' << cell(r.speedup, "%.4g");
    if (r.memory) {
      out << ',' << r.memory->weights << ',' << r.memory->masterWeights << ',' << r.memory->gradients << ','
          << r.memory->optimizerState << ',' << r.memory->activations << ',' << r.memory->total();
    } else {
      out << ",,,,,,";
    }
    out << ',' << csvField(underflow) << '\n';
  }
  return out.str();
}

std::string comparisonMarkdown(const SweepComparison& c) {
  std::ostringstream out;
  out << "# " << (c.title.empty() ? "Sweep " + std::to_string(c.sweepId) : c.title) << "\n\n";
  out << "Sweep " << c.sweepId << (c.backend.empty() ? "" : ", backend " + c.backend)
      << ". Speed-up is against the first variant's median step time; memory is what each run's network "
         "holds (weights, fp32 master weights, gradients, optimizer state, one step's activations).\n\n";
  out << "| variant | run | status | final train loss | test accuracy | skipped | overflows | step ms | speed-up "
         "| weights | master | optimizer | activations | memory |\n";
  out << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const ComparisonRow& r : c.rows) {
    const auto bytes = [&](std::int64_t MemoryUse::*field) {
      return r.memory ? bytesText(double((*r.memory).*field)) : std::string("-");
    };
    out << "| " << mdField(r.variant) << " | " << (r.runId ? std::to_string(*r.runId) : "-") << " | " << r.status
        << " | " << mdField(cell(number(r.metrics, "final_train_loss"), "%.4g")) << " | "
        << mdField(cell(number(r.metrics, "test_accuracy"), "%.4f")) << " | "
        << mdField(cell(number(r.metrics, "skipped_steps"), "%.0f")) << " | "
        << mdField(cell(number(r.metrics, "overflow_events"), "%.0f")) << " | "
        << mdField(cell(number(r.metrics, "median_step_ms"), "%.3g")) << " | "
        << mdField(r.speedup ? printf1("%.2fx", *r.speedup) : "") << " | " << bytes(&MemoryUse::weights) << " | "
        << bytes(&MemoryUse::masterWeights) << " | " << bytes(&MemoryUse::optimizerState) << " | "
        << bytes(&MemoryUse::activations) << " | " << (r.memory ? bytesText(double(r.memory->total())) : "-") << " |\n";
  }
  out << "\n## Gradients below their format's smallest subnormal\n\n"
         "The mean share over the run's statistics steps, per layer: of the fp32 shadow's values that would "
         "round to zero in the format (measured by, shadow), or of the values that rounding turned to zero "
         "(rounded).\n\n| variant | layer | format | share | measured by |\n"
         "|---|---|---|---|---|\n";
  for (const ComparisonRow& r : c.rows) {
    for (const LayerUnderflow& u : r.gradientUnderflow) {
      out << "| " << mdField(r.variant) << " | " << mdField(u.layer) << " | " << u.precision << " | "
          << printf1("%.2f%%", 100.0 * u.share) << " | " << (u.fromShadow ? "shadow" : "rounded") << " |\n";
    }
  }
  if (!c.claims.empty()) {
    out << "\n## Claims\n\n| | claim | measured |\n|---|---|---|\n";
    for (const ClaimCheck& check : c.claims) {
      out << "| " << toString(check.result.status) << " | " << mdField(check.claim.text) << " | "
          << mdField(check.result.measured) << " |\n";
    }
  }
  if (!c.claimsNote.empty()) out << "\n" << c.claimsNote << "\n";
  return out.str();
}

}  // namespace plab
