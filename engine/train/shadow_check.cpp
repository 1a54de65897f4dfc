#include "train/shadow_check.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "model/experiment.h"
#include "model/network.h"
#include "train/shadow_pass.h"
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
      {"seed", 11},
      {"dataset", {{"name", "shapes"}, {"train_size", 256}, {"test_size", 32}, {"image_size", 12}}},
      {"network",
       {{"layers",
         {with({{"type", "conv2d"}, {"out_channels", 4}, {"kernel", 3}, {"padding", 1}}),
          with({{"type", "batchnorm2d"}}), with({{"type", "relu"}}), with({{"type", "maxpool2d"}, {"kernel", 2}}),
          with({{"type", "flatten"}}), with({{"type", "dropout"}, {"p", 0.25}}),
          with({{"type", "linear"}, {"out", 32}}), with({{"type", "gelu"}}), with({{"type", "linear"}, {"out", 4}})}},
        {"loss", "cross_entropy"}}},
      {"optimizer", {{"type", "adam"}, {"lr", 0.01}}},
      {"master_weights", precision != "fp32"},
      {"batch_size", 32},
      {"epochs", 1}};
  if (precision == "fp16")
    file["loss_scaling"] = {{"mode", "static"}, {"scale", 1024.0}};
  else
    file["loss_scaling"] = {{"mode", "none"}};
  if (precision == "fp8_e4m3")
    file["fp8"] = {{"history", 4}, {"margin", 0}, {"forward", "fp8_e4m3"}, {"backward", "fp8_e5m2"}};
  return parseExperiment(file);
}

const Network::CapturedTensors* findCapture(const std::vector<Network::CapturedTensors>& all,
                                            const Network::CapturedTensors& like) {
  for (const auto& c : all)
    if (c.layerIndex == like.layerIndex && c.kind == like.kind) return &c;
  return nullptr;
}

}  // namespace

std::vector<ConformanceResult> checkShadowPass(Backend& backend) {
  std::vector<ConformanceResult> out;
  constexpr int kWarmSteps = 3;
  for (const std::string precision : {"fp32", "fp16", "bf16", "fp8_e4m3"}) {
    ConformanceResult r;
    r.op = "shadow pass = fp32 step from the run's weights";
    r.format = precision;
    r.shape = "conv-bn-relu-pool-dropout-linear-gelu-linear, batch 32, step " + std::to_string(kWarmSteps + 1);
    r.tolerance = "every layer's output and gradients identical (relative error 0)";
    r.limit = 0;
    try {
      const Experiment e = checkExperiment(precision);
      const Dataset data = loadDataset(e.dataset, e.seed);
      Network run(e.network, data.sampleShape, backend, e.seed, e.masterWeights, e.fp8);
      run.allocateOptimizerState(e.optimizer.kind);
      auto state = backend.createStepState(e.lossScaling, int(run.gradientsInBackwardOrder().size()));
      StepBuffers buffers = makeStepBuffers(backend, data, e.batchSize);
      StepRunner runner(backend, false);
      BatchIterator batches(data, e.batchSize, e.seed);
      batches.startEpoch(0);
      std::vector<float> x, y;
      for (int step = 1; step <= kWarmSteps + 1; ++step) {
        if (!batches.next(x, y)) throw std::logic_error("the check's data ran out");
        backend.upload(x.data(), buffers.input);
        backend.upload(y.data(), buffers.target);
        if (step <= kWarmSteps) runner.run(run, *state, buffers, e.network.loss, e.hyperAt(step, 10), step);
      }
      const float scale = initialCounters(e.lossScaling).scale;  // no dynamic rule here: it stays
      const std::int64_t step = kWarmSteps + 1;
      ShadowPass shadow(e, data.sampleShape, backend);
      shadow.run(run, buffers, e.network.loss, scale, step);

      // The fp32 run of the same step: its own network, weights through the host.
      Network twin(withUniformPrecision(e.network, Precision::fp32), data.sampleShape, backend, e.seed, false);
      twin.allocateOptimizerState(e.optimizer.kind);
      const auto from = run.parameters();
      auto to = twin.parameters();
      for (std::size_t i = 0; i < from.size(); ++i) {
        std::vector<float> host(std::size_t(from[i].working.numel()));
        backend.download(from[i].working, host.data());
        backend.upload(host.data(), to[i].working);
      }
      LossScaleRule fixed{LossScaleMode::fixed};
      fixed.initScale = scale;
      auto twinState = backend.createStepState(fixed, int(twin.gradientsInBackwardOrder().size()));
      StepBuffers twinBuffers = makeStepBuffers(backend, data, e.batchSize);
      backend.upload(x.data(), twinBuffers.input);
      backend.upload(y.data(), twinBuffers.target);
      twin.setStatsEnabled(true);
      twin.setCaptureEnabled(true);
      runner.run(twin, *twinState, twinBuffers, e.network.loss, e.hyperAt(step, 10), step);
      twin.setCaptureEnabled(false);
      twin.setStatsEnabled(false);
      const auto twinTensors = twin.takeCaptured();

      double worst = 0;
      std::string detail;
      std::size_t compared = 0;
      for (const auto& c : shadow.tensors()) {
        const auto* t = findCapture(twinTensors, c);
        if (!t || t->tensors.size() != c.tensors.size()) {
          worst = INFINITY;
          detail = "layer " + std::to_string(c.layerIndex) + ": no matching capture in the fp32 step";
          break;
        }
        for (std::size_t i = 0; i < c.tensors.size(); ++i) {
          ShadowTally tally;
          backend.measureShadow(c.tensors[i], &t->tensors[i], Precision::fp32, tally);
          backend.synchronize();  // the tally is complete after it
          const double err = finishShadow(tally).relError;
          ++compared;
          if (err > worst || std::isnan(err)) {
            worst = std::isnan(err) ? INFINITY : err;
            detail = "layer " + std::to_string(c.layerIndex) +
                     (c.kind == StatsKind::activation ? " output" : " gradient " + std::to_string(i)) +
                     ": relative error " + std::to_string(err);
          }
        }
      }
      r.maxError = worst;
      r.pass = worst == 0 && compared > 0;
      r.detail = detail.empty() ? std::to_string(compared) + " tensors identical" : detail;
      if (compared == 0) r.detail = "nothing was compared";
    } catch (const std::exception& ex) {
      r.maxError = INFINITY;
      r.pass = false;
      r.detail = std::string("threw: ") + ex.what();
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace plab
