// precisionlab-cli bench FILE: the speed benchmark (engine/train/speed_benchmark.h):
// the file's network and batch under fp32, tf32, fp16-mixed, bf16-mixed and its own
// assignment. Prints a table (or JSON) and stores the results with a run tagged
// "benchmark".
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "protocol/records_json.h"
#include "run_support.h"
#include "store/store.h"
#include "train/shadow_cost.h"
#include "train/speed_benchmark.h"
#include "train/training_step.h"
#include "train/store_recorder.h"

namespace plab::cli {

namespace {

struct BenchOptions {
  std::string file;
  std::string db;
  std::string backend;
  bool json = false;
  bool noStore = false;
  int batch = 0;
  int steps = 100;
  int warmup = 10;
  std::vector<std::string> configs;
  std::string stepCapture;  // on, off; empty: off unless PLAB_STEP_CAPTURE=on
  bool shadow = false;      // also the shadow pass against an fp32 step (train/shadow_cost.h)
};

void printTable(const std::vector<SpeedResult>& results, const BackendInfo& info) {
  std::printf("backend %s (%s)\n", info.name.c_str(), info.device.c_str());
  double fp32 = 0;
  for (const auto& r : results)
    if (r.config == "fp32") fp32 = r.medianStepMs;
  std::printf("%-12s %6s %12s %12s %10s\n", "config", "batch", "median ms", "samples/s", "vs fp32");
  for (const auto& r : results) {
    const double speedup = r.medianStepMs > 0 && fp32 > 0 ? fp32 / r.medianStepMs : 0;
    std::printf("%-12s %6d %12.3f %12.0f %9.2fx\n", r.config.c_str(), r.batchSize, r.medianStepMs,
                r.samplesPerSecond, speedup);
  }
  if (results.empty()) return;
  for (const auto& r : results)
    if (!r.stepCapture.empty()) std::printf("%-12s %s\n", r.config.c_str(), r.stepCapture.c_str());
  std::printf("\nper layer, forward / backward ms:\n%-24s", "layer");
  for (const auto& r : results) std::printf(" %17s", r.config.c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < results.front().layers.size(); ++i) {
    std::printf("%-24s", results.front().layers[i].layerName.c_str());
    for (const auto& r : results) {
      if (i < r.layers.size())
        std::printf("   %6.3f / %6.3f", r.layers[i].forwardMs, r.layers[i].backwardMs);
      else
        std::printf(" %17s", "-");
    }
    std::printf("\n");
  }
}

std::int64_t storeResults(const std::string& db, const Experiment& experiment, const BackendInfo& info,
                          const std::string& note, const std::vector<SpeedResult>& results) {
  const std::string path = db.empty() ? defaultDatabasePath() : db;
  try {
    StoreRecorder store(path);
    RunStartInfo start;
    start.title = "benchmark: " + (experiment.title.empty() ? std::string("experiment") : experiment.title);
    start.config = toJson(experiment);
    start.backend = info;
    start.backendNote = note;
    store.onStarted(start);
    store.onSpeed(results);
    RunOutcome outcome;
    outcome.status = RunStatus::completed;
    for (const auto& r : results)
      if (r.config == "custom") outcome.medianStepMs = r.medianStepMs;
    store.onFinished(outcome);
    const std::int64_t id = store.runId();
    RunReader(path).updateTags(id, {"benchmark"});
    return id;
  } catch (const std::exception& e) {
    throw CliExit(kExitStore, std::string("database: ") + e.what());
  }
}

int runBench(const BenchOptions& o) {
  const Experiment experiment = loadExperimentOrExit(o.file);
  const Dataset data = loadDatasetOrExit(experiment, o.file);
  std::string note;
  auto backend = createBackendOrExit(o.backend, experiment, note);
  Experiment measured = experiment;
  if (o.batch > 0) measured.batchSize = o.batch;
  requireMemoryOrExit(measured, data, *backend);
  SpeedOptions options;
  options.batchSize = o.batch;
  options.measuredSteps = o.steps;
  options.warmupSteps = o.warmup;
  if (!o.configs.empty()) options.configs = o.configs;
  options.stepCapture = o.stepCapture.empty() ? stepCaptureEnabledByDefault() : o.stepCapture == "on";
  std::vector<SpeedResult> results;
  try {
    results = runSpeedBenchmark(experiment, data, *backend, options, [&](const SpeedResult& r) {
      if (!o.json) std::fprintf(stderr, "  %s: %.3f ms\n", r.config.c_str(), r.medianStepMs);
    });
  } catch (const std::exception& e) {
    throw CliExit(kExitFailed, std::string("bench: ") + e.what());
  }
  ShadowCost shadow;
  if (o.shadow) {
    try {
      shadow = measureShadowCost(measured, data, *backend, o.steps, o.warmup);
    } catch (const std::exception& e) {
      throw CliExit(kExitFailed, std::string("bench --shadow: ") + e.what());
    }
  }
  const BackendInfo info = backend->info();
  const std::int64_t runId = o.noStore ? 0 : storeResults(o.db, experiment, info, note, results);
  if (o.json) {
    nlohmann::json j;
    j["run_id"] = runId;
    j["backend"] = info.name;
    j["device"] = info.device;
    j["results"] = results;
    nlohmann::json capture = nlohmann::json::object();
    for (const auto& r : results) capture[r.config] = r.stepCapture;
    j["step_capture"] = capture;
    if (o.shadow)
      j["shadow"] = {{"rounds", shadow.rounds},          {"fp32_step_ms", shadow.fp32StepMs},
                     {"shadow_pass_ms", shadow.shadowMs}, {"shadow_run_ms", shadow.shadowRunMs},
                     {"measure_ms", shadow.measureMs},    {"values", shadow.values},
                     {"shadow_pass_per_fp32_step", shadow.ratio()},
                     {"shadow_pass_per_fp32_step_paired", shadow.pairedRatio}};
    std::cout << j.dump() << "\n";
  } else {
    printTable(results, info);
    if (o.shadow)
      std::printf("shadow pass: %.3f ms (fp32 forward and backward %.3f ms, measuring %lld values %.3f ms); "
                  "fp32 step %.3f ms; shadow pass / fp32 step %.2f (medians of %d rounds side by side; "
                  "median of each round's ratio %.2f)\n",
                  shadow.shadowMs, shadow.shadowRunMs, (long long)shadow.values, shadow.measureMs, shadow.fp32StepMs,
                  shadow.ratio(), shadow.rounds, shadow.pairedRatio);
    if (runId) std::printf("stored as run %lld\n", (long long)runId);
  }
  return 0;
}

}  // namespace

void addBenchCommand(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Speed benchmark: fp32, tf32, fp16-mixed, bf16-mixed and the file's own precisions");
  cmd->add_option("FILE", options->file, "experiment file (JSON)")->required();
  cmd->add_flag("--json", options->json, "print one JSON object instead of the table");
  cmd->add_option("--batch", options->batch, "batch size (default: the file's batch_size)")->check(CLI::PositiveNumber);
  cmd->add_option("--steps", options->steps, "measured steps per configuration (median reported)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", options->warmup, "warm-up steps per configuration")->check(CLI::NonNegativeNumber);
  cmd->add_option("--configs", options->configs,
                  "comma-separated configurations (default fp32,tf32,fp16-mixed,bf16-mixed,custom); a suffix "
                  "@nchw, @nhwc or @auto picks the convolution layout, e.g. fp16-mixed@nchw,fp16-mixed@nhwc")
      ->delimiter(',');
  cmd->add_option("--step-capture", options->stepCapture,
                  "on: replay each configuration's captured training step (CUDA graphs; the CPU backend "
                  "has none), off: issue every operation (default: off unless PLAB_STEP_CAPTURE=on)")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_flag("--shadow", options->shadow,
                "also time the shadow pass (shadow_stats) of the file's network against an fp32 training step, "
                "side by side, --steps rounds after --warmup");
  cmd->add_option("--db", options->db, "SQLite run store for the results");
  cmd->add_flag("--no-store", options->noStore, "do not store the results");
  cmd->add_option("--backend", options->backend, "cpu, cuda or auto (default: the file's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->callback([options] {
    const int code = runBench(*options);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
