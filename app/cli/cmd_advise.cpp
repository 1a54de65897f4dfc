// precisionlab-cli advise EXPERIMENT: trains a short probe of the experiment in fp32,
// stores it as any run, and proposes the cheapest healthy format for each layer from
// its statistics (engine/train/precision_advisor.h; docs/user-guide.md, "Precision
// advisor"). --write saves the proposal as a new experiment file.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "core/json_text.h"
#include "run_support.h"
#include "train/precision_advisor.h"
#include "train/trainer.h"

namespace plab::cli {
namespace {

struct AdviseOptions {
  std::string file;
  std::string db;
  std::string backend;
  std::string write;
  std::int64_t steps = 300;
  AdvisorCriteria criteria;
  bool json = false;
};

// Keeps the probe's statistics records as they arrive.
class StatsCollector final : public RunObserver {
 public:
  void onLayerStats(std::span<const LayerStatsRecord> records) override {
    records_.insert(records_.end(), records.begin(), records.end());
  }
  const std::vector<LayerStatsRecord>& records() const { return records_; }

 private:
  std::vector<LayerStatsRecord> records_;
};

nlohmann::json fileJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parseJsonText(text.str());
  } catch (const JsonTextError& e) {
    throw CliExit(kExitBadExperiment, e.inFile(path));
  }
}

int advise(const AdviseOptions& o) {
  const Experiment experiment = loadExperimentOrExit(o.file);
  const Experiment probe = probeExperiment(experiment, o.steps);
  StatsCollector stats;
  const StoredRun run = trainAndStore(probe, o.backend, o.db, {&stats}, !o.json, o.file);
  if (run.outcome.status != RunStatus::completed) {
    throw CliExit(run.outcome.status == RunStatus::cancelled ? exitCodeForCancel() : kExitFailed,
                  "the probe run " + std::to_string(run.runId) + " " + toString(run.outcome.status) +
                      (run.outcome.error.empty() ? "" : ": " + run.outcome.error));
  }
  if (stats.records().empty()) throw CliExit(kExitFailed, "the probe run recorded no layer statistics");

  const std::vector<LayerObservation> observed = observeLayers(stats.records());
  const Advice advice = adviseLayers(experiment.network, observed, o.criteria, experiment.fp8);
  const std::string table = adviceTable(experiment.network, advice);
  if (o.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerAdvice& a : advice.layers) {
      layers.push_back({{"layer", a.layerName}, {"proposed", std::string(toString(a.proposed))},
                        {"loss_scaling", a.lossScaling}, {"reason", a.reason}});
    }
    std::cout << nlohmann::json{{"probe_run", run.runId}, {"layers", layers},
                                {"loss_scaling", advice.needsLossScaling ? "dynamic" : "as the file says"}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "probe run " << run.runId << ": " << o.steps << " steps in fp32; margin "
              << o.criteria.margin << ", underflow limit " << o.criteria.underflowLimit << ", error bound "
              << o.criteria.errorBound << "\n"
              << table;
    if (advice.needsLossScaling) std::cout << "loss scaling: dynamic (a layer's gradients need it)\n";
  }
  if (!o.write.empty()) {
    const nlohmann::json proposal = proposedExperiment(fileJson(o.file), advice, table);
    try {
      (void)parseExperiment(proposal);  // what is written must open
    } catch (const ExperimentError& e) {
      throw CliExit(kExitFailed, std::string("the proposal is not a valid experiment: ") + e.what());
    }
    std::ofstream out(o.write);
    out << proposal.dump(2) << "\n";
    if (!out) throw CliExit(kExitFailed, "--write: cannot write " + o.write);
    if (!o.json) std::cout << "wrote " << o.write << "\n";
  }
  return 0;
}

}  // namespace

void addAdviseCommand(CLI::App& app) {
  auto o = std::make_shared<AdviseOptions>();
  CLI::App* cmd = app.add_subcommand(
      "advise", "Train a short fp32 probe of the experiment and propose the cheapest healthy format per layer");
  cmd->footer("Exit codes: 0 advice given, 1 the probe failed, 2 bad experiment file, 3 dataset error, "
              "4 database error, 5 backend not usable.");
  cmd->add_option("EXPERIMENT", o->file, "experiment file (JSON)")->required();
  cmd->add_option("--steps", o->steps, "probe length in steps (default 300)")->check(CLI::Range(10, 1000000));
  cmd->add_option("--margin", o->criteria.margin, "headroom over the largest value seen (default 2)")
      ->check(CLI::Range(1.0, 1e6));
  cmd->add_option("--underflow-limit", o->criteria.underflowLimit,
                  "share of values allowed below a format's smallest subnormal (default 0.01)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--error-bound", o->criteria.errorBound,
                  "largest unit roundoff allowed (default 0.0625, fp8 E4M3's; 0.001 rules out bf16 and fp8)")
      ->check(CLI::Range(1e-12, 1.0));
  cmd->add_option("--db", o->db, "SQLite run store for the probe run (default: the user's data folder)");
  cmd->add_option("--backend", o->backend, "cpu, cuda or auto (default: the file's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--write", o->write, "save the proposal as an experiment file");
  cmd->add_flag("--json", o->json, "print the advice as JSON");
  cmd->callback([o] {
    const int code = advise(*o);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
