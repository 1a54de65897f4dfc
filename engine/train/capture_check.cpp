#include "train/capture_check.h"

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "model/experiment.h"
#include "model/network.h"
#include "train/training_step.h"

namespace plab {

namespace {

Experiment checkExperiment(const std::string& precision) {
  auto with = [&](nlohmann::json j) {
    j["precision"] = precision;
    return j;
  };
  nlohmann::json file = {
      {"format_version", 1},
      {"seed", 7},
      {"dataset", {{"name", "spirals"}, {"train_size", 512}, {"test_size", 64}}},
      {"network",
       {{"layers",
         {with({{"type", "linear"}, {"out", 64}}), with({{"type", "relu"}}), with({{"type", "dropout"}, {"p", 0.2}}),
          with({{"type", "linear"}, {"out", 64}}), with({{"type", "gelu"}}), with({{"type", "linear"}, {"out", 2}})}},
        {"loss", "cross_entropy"}}},
      {"optimizer", {{"type", "adamw"}, {"lr", 0.01}, {"weight_decay", 0.01}}},
      {"schedule", {{"type", "cosine"}, {"warmup_steps", 5}}},
      {"grad_clip_norm", 1.0},
      {"master_weights", precision != "fp32"},
      {"batch_size", 64},
      {"epochs", 1}};
  if (precision == "fp16")
    file["loss_scaling"] = {{"mode", "dynamic"}, {"init_scale", 65536.0}, {"growth_interval", 3}};
  else
    file["loss_scaling"] = {{"mode", "none"}};
  return parseExperiment(file);
}

struct Trace {
  std::vector<StepRecord> records;
  std::vector<std::vector<float>> params;
  StepRunner::Counts counts;
  std::string captureSummary;
};

Trace train(Backend& backend, const Experiment& e, const Dataset& data, bool capture, int steps) {
  Network network(e.network, data.sampleShape, backend, e.seed, e.masterWeights, e.fp8);
  network.allocateOptimizerState(e.optimizer.kind);
  auto state = backend.createStepState(e.lossScaling, int(network.gradientsInBackwardOrder().size()));
  StepBuffers buffers = makeStepBuffers(backend, data, e.batchSize);
  StepRunner runner(backend, capture);
  BatchIterator batches(data, e.batchSize, e.seed);
  std::vector<float> x, y;
  Trace t;
  std::int32_t epoch = 0;
  batches.startEpoch(epoch);
  for (int step = 1; step <= steps; ++step) {
    if (!batches.next(x, y)) {
      batches.startEpoch(++epoch);
      batches.next(x, y);
    }
    backend.upload(x.data(), buffers.input);
    backend.upload(y.data(), buffers.target);
    runner.run(network, *state, buffers, e.network.loss, e.hyperAt(step, steps), step);
  }
  t.records = backend.drainStepRecords(*state);
  for (ParamSlot& p : network.parameters()) {
    const Tensor& w = p.master.defined() ? p.master : p.working;
    std::vector<float> host(static_cast<std::size_t>(w.numel()));
    backend.download(w, host.data());
    t.params.push_back(std::move(host));
  }
  t.counts = runner.counts();
  t.captureSummary = runner.summary();
  return t;
}

bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

std::vector<ConformanceResult> checkStepCapture(Backend& backend) {
  std::vector<ConformanceResult> out;
  {
    // A backend that cannot capture even an empty step has nothing to compare.
    std::string why;
    auto probe = backend.createStepState(LossScaleRule{}, 0);
    if (!backend.captureStep(*probe, [] {}, why)) return out;
  }
  constexpr int kSteps = 40;
  for (const std::string precision : {"fp32", "fp16", "bf16"}) {
    const Experiment e = checkExperiment(precision);
    const Dataset data = loadDataset(e.dataset, e.seed);
    const Trace eager = train(backend, e, data, false, kSteps);
    const Trace captured = train(backend, e, data, true, kSteps);
    ConformanceResult r;
    r.op = "training step: captured and replayed vs issued op by op";
    r.format = precision;
    r.shape = "MLP 2-64-64-2, dropout, AdamW, " + std::to_string(kSteps) + " steps";
    r.tolerance = "bit-identical records and parameters";
    r.limit = 0;
    std::string detail;
    std::size_t mismatches = 0;
    if (eager.records.size() != captured.records.size()) {
      detail = std::to_string(eager.records.size()) + " records op by op, " + std::to_string(captured.records.size()) +
               " captured";
      mismatches = 1;
    }
    int skipped = 0;
    for (std::size_t i = 0; i < eager.records.size() && i < captured.records.size(); ++i) {
      const StepRecord& a = eager.records[i];
      const StepRecord& b = captured.records[i];
      skipped += a.skipped ? 1 : 0;
      const bool same = a.step == b.step && sameBits(a.loss, b.loss) && sameBits(a.lossScale, b.lossScale) &&
                        sameBits(a.nextLossScale, b.nextLossScale) && a.overflow == b.overflow &&
                        a.skipped == b.skipped && a.gradOverflow == b.gradOverflow;
      if (!same && mismatches++ == 0)
        detail = "step " + std::to_string(a.step) + ": loss " + std::to_string(a.loss) + " vs " +
                 std::to_string(b.loss) + ", scale " + std::to_string(a.lossScale) + " vs " +
                 std::to_string(b.lossScale) + ", step number " + std::to_string(a.step) + " vs " +
                 std::to_string(b.step);
    }
    for (std::size_t p = 0; p < eager.params.size(); ++p)
      for (std::size_t i = 0; i < eager.params[p].size(); ++i)
        if (!sameBits(eager.params[p][i], captured.params[p][i]) && mismatches++ == 0)
          detail = "parameter " + std::to_string(p) + "[" + std::to_string(i) + "]: " +
                   std::to_string(eager.params[p][i]) + " vs " + std::to_string(captured.params[p][i]);
    r.maxError = static_cast<double>(mismatches);
    // A check that replayed nothing compared eager with eager: it proves nothing.
    const bool replayed = captured.counts.replayed > 0;
    r.pass = mismatches == 0 && replayed;
    if (!replayed) detail = "no step was replayed: " + captured.captureSummary;
    else if (detail.empty())
      detail = captured.captureSummary + "; " + std::to_string(skipped) + " skipped steps";
    r.detail = detail;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace plab
