#include "train/shadow_cost.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "model/network.h"
#include "train/shadow_pass.h"
#include "train/training_step.h"

namespace plab {

namespace {

double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

}  // namespace

ShadowCost measureShadowCost(const Experiment& e, const Dataset& data, Backend& backend, int rounds, int warmup) {
  if (rounds < 1) throw std::invalid_argument("shadow cost: rounds must be at least 1");
  if (warmup < 0) throw std::invalid_argument("shadow cost: warm-up must not be negative");
  // The experiment's own network, as a run has it, and the shadow of it.
  Network real(e.network, data.sampleShape, backend, e.seed, e.masterWeights, e.fp8);
  real.allocateOptimizerState(e.optimizer.kind);
  auto realState = backend.createStepState(e.lossScaling, int(real.gradientsInBackwardOrder().size()));
  StepBuffers realBuffers = makeStepBuffers(backend, data, e.batchSize);
  ShadowPass shadow(e, data.sampleShape, backend);
  // The same network with every layer in fp32, training as an fp32 run would.
  Network fp32(withUniformPrecision(e.network, Precision::fp32), data.sampleShape, backend, e.seed, false);
  fp32.allocateOptimizerState(e.optimizer.kind);
  auto fp32State = backend.createStepState(LossScaleRule{LossScaleMode::none}, int(fp32.gradientsInBackwardOrder().size()));
  StepBuffers fp32Buffers = makeStepBuffers(backend, data, e.batchSize);
  StepRunner runner(backend, false);

  BatchIterator batches(data, e.batchSize, e.seed);
  std::int32_t epoch = 0;
  batches.startEpoch(epoch);
  std::vector<float> x, y;
  float scale = initialCounters(e.lossScaling).scale;
  std::vector<double> stepMs, shadowMs, runMs, measureMs, ratios;
  ShadowCost cost;
  const std::int64_t total = std::int64_t(rounds) + warmup;
  for (std::int64_t step = 1; step <= total; ++step) {
    if (!batches.next(x, y)) {
      batches.startEpoch(++epoch);
      if (!batches.next(x, y)) throw std::logic_error("shadow cost: the data set gives no batch");
    }
    backend.upload(x.data(), realBuffers.input);
    backend.upload(y.data(), realBuffers.target);
    backend.upload(x.data(), fp32Buffers.input);
    backend.upload(y.data(), fp32Buffers.target);
    const OptimizerHyper hyper = e.hyperAt(step, total);
    double fp32Step = 0;
    const auto timeFp32Step = [&] {
      backend.synchronize();
      const double t0 = nowMs();
      runner.run(fp32, *fp32State, fp32Buffers, e.network.loss, hyper, step);
      backend.synchronize();
      fp32Step = nowMs() - t0;
    };
    if (step % 2 == 0) timeFp32Step();  // alternate the order: neither always runs on a warm cache
    backend.synchronize();
    const double t0 = nowMs();
    shadow.run(real, realBuffers, e.network.loss, scale, step);
    const double run = nowMs() - t0;
    real.setStatsEnabled(true);
    real.setCaptureEnabled(true);
    runner.run(real, *realState, realBuffers, e.network.loss, hyper, step);
    real.setCaptureEnabled(false);
    real.setStatsEnabled(false);
    std::vector<LayerStatsRecord> records = real.takeStats(step);
    const auto captured = real.takeCaptured();
    backend.synchronize();
    const double t1 = nowMs();
    shadow.attach(records, captured);
    backend.synchronize();
    const double measure = nowMs() - t1;
    if (step % 2 != 0) timeFp32Step();
    backend.drainStepRecords(*fp32State);
    const std::vector<StepRecord> realRecords = backend.drainStepRecords(*realState);
    if (!realRecords.empty()) scale = realRecords.back().nextLossScale;  // the scale the run's next step uses
    if (step <= warmup) continue;
    stepMs.push_back(fp32Step);
    runMs.push_back(run);
    measureMs.push_back(measure);
    shadowMs.push_back(run + measure);
    ratios.push_back(fp32Step > 0 ? (run + measure) / fp32Step : 0);
    std::int64_t values = 0;
    for (const auto& r : records) values += r.hasShadow ? r.shadow.count : 0;
    cost.values = values;
  }
  cost.rounds = rounds;
  cost.fp32StepMs = median(stepMs);
  cost.shadowMs = median(shadowMs);
  cost.shadowRunMs = median(runMs);
  cost.measureMs = median(measureMs);
  cost.pairedRatio = median(ratios);
  return cost;
}

}  // namespace plab
