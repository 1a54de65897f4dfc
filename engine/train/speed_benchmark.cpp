#include "train/speed_benchmark.h"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "model/network.h"
#include "train/training_step.h"

namespace plab {

Experiment speedConfigExperiment(const Experiment& file, const std::string& config) {
  Experiment e = file;
  auto uniform = [&](Precision p) { e.network = withUniformPrecision(file.network, p); };
  if (config == "fp32") {
    uniform(Precision::fp32);
    e.lossScaling = LossScaleRule{LossScaleMode::none};
  } else if (config == "tf32") {
    uniform(Precision::tf32);
    e.lossScaling = LossScaleRule{LossScaleMode::none};
  } else if (config == "fp16-mixed") {
    uniform(Precision::fp16);
    e.lossScaling = LossScaleRule{};  // dynamic, torch.amp.GradScaler's defaults
    e.masterWeights = true;
  } else if (config == "bf16-mixed") {
    uniform(Precision::bf16);
    e.lossScaling = LossScaleRule{LossScaleMode::none};
    e.masterWeights = true;
  } else if (config != "custom") {
    throw std::invalid_argument("speed benchmark: unknown configuration \"" + config +
                                "\" (one of fp32, tf32, fp16-mixed, bf16-mixed, custom)");
  }
  return e;
}

namespace {

// A few real batches, cycled, so that the values (and their subnormals) are those of training.
struct BatchPool {
  std::vector<StepBuffers> buffers;
  std::size_t next = 0;
  StepBuffers& take() { return buffers[next++ % buffers.size()]; }
};

BatchPool makeBatchPool(Backend& backend, const Dataset& data, std::int32_t batchSize, std::uint64_t seed) {
  constexpr int kPoolSize = 4;
  BatchPool pool;
  BatchIterator batches(data, batchSize, seed);
  if (batches.batchesPerEpoch() <= 0)
    throw std::invalid_argument("bench: batch " + std::to_string(batchSize) + " is larger than the training set (" +
                                std::to_string(data.trainCount) + " examples)");
  batches.startEpoch(0);
  std::vector<float> x, y;
  for (int i = 0; i < kPoolSize && batches.next(x, y); ++i) {
    StepBuffers b = makeStepBuffers(backend, data, batchSize);
    backend.upload(x.data(), b.input);
    backend.upload(y.data(), b.target);
    pool.buffers.push_back(std::move(b));
  }
  return pool;
}

SpeedResult benchmarkOne(const Experiment& e, const std::string& config, const Dataset& data, Backend& backend,
                         const SpeedOptions& options) {
  const std::int32_t batch = options.batchSize > 0 ? options.batchSize : e.batchSize;
  Network network(e.network, data.sampleShape, backend, e.seed, e.masterWeights, e.fp8);
  network.allocateOptimizerState(e.optimizer.kind);
  auto state = backend.createStepState(e.lossScaling, int(network.gradientsInBackwardOrder().size()));
  BatchPool pool = makeBatchPool(backend, data, batch, e.seed);
  auto timer = backend.createTimer();
  std::int64_t step = 0;
  // The step reads one pair of buffers, as in training (a captured step holds their
  // addresses); each pooled batch is copied in on the device first.
  StepBuffers live = makeStepBuffers(backend, data, batch);
  StepRunner runner(backend, options.stepCapture);
  auto oneStep = [&](StepBuffers& b) {
    ++step;
    backend.convert(b.input, live.input);
    backend.convert(b.target, live.target);
    runner.run(network, *state, live, e.network.loss, e.hyperAt(step, 1 << 30), step);
  };

  for (std::int32_t i = 0; i < options.warmupSteps; ++i) oneStep(pool.take());
  backend.synchronize();
  // Steps are timed in blocks: one timer pair around several steps lets a GPU queue
  // step after step as training does (a sync after every step would add the launch
  // latency to each). The figure is the median over blocks of the mean step time.
  const std::int32_t block = std::max<std::int32_t>(1, std::min<std::int32_t>(kStepsPerTimedBlock, options.measuredSteps));
  std::vector<double> ms;
  for (std::int32_t done = 0; done < options.measuredSteps; done += block) {
    const std::int32_t n = std::min(block, options.measuredSteps - done);
    timer->start();
    for (std::int32_t i = 0; i < n; ++i) oneStep(pool.take());
    timer->stop();
    ms.push_back(timer->milliseconds() / n);
  }
  // Per-layer times in a pass of their own: timing a layer waits for it.
  network.resetTimings();
  network.setTimingEnabled(true);
  for (std::int32_t i = 0; i < options.layerTimingSteps; ++i) oneStep(pool.take());
  network.setTimingEnabled(false);
  backend.drainStepRecords(*state);  // the records are not needed, only freed

  SpeedResult r;
  r.config = config;
  r.batchSize = batch;
  r.measuredSteps = options.measuredSteps;
  r.medianStepMs = medianOf(ms);
  r.samplesPerSecond = r.medianStepMs > 0 ? batch * 1000.0 / r.medianStepMs : 0;
  r.layers = network.layerTimings();
  r.stepCapture = runner.summary();
  return r;
}

// "fp16-mixed@nhwc": the configuration and the convolution layout it runs in (none:
// the backend's own setting). The backend's setting is restored afterwards.
class ConvLayoutScope {
 public:
  ConvLayoutScope(Backend& backend, const std::string& config) : backend_(backend), before_(backend.convLayout()) {
    const std::size_t at = config.find('@');
    if (at == std::string::npos) return;
    const ConvLayoutChoice wanted =
        parseConvLayoutChoice(config.substr(at + 1), "speed benchmark configuration \"" + config + "\"");
    backend.setConvLayout(wanted);
    if (backend.convLayout() != wanted) {
      backend.setConvLayout(before_);
      throw std::invalid_argument("speed benchmark configuration \"" + config + "\": the " + backend.info().name +
                                  " backend runs convolutions " + std::string(toString(before_)) + " only");
    }
  }
  ~ConvLayoutScope() { backend_.setConvLayout(before_); }
  ConvLayoutScope(const ConvLayoutScope&) = delete;
  ConvLayoutScope& operator=(const ConvLayoutScope&) = delete;

 private:
  Backend& backend_;
  ConvLayoutChoice before_;
};

}  // namespace

std::vector<SpeedResult> runSpeedBenchmark(const Experiment& file, const Dataset& data, Backend& backend,
                                           const SpeedOptions& options,
                                           const std::function<void(const SpeedResult&)>& progress) {
  std::vector<SpeedResult> results;
  for (const std::string& config : options.configs) {
    ConvLayoutScope layout(backend, config);
    const std::string base = config.substr(0, config.find('@'));
    SpeedResult r = benchmarkOne(speedConfigExperiment(file, base), config, data, backend, options);
    if (progress) progress(r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace plab
