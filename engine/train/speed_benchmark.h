#pragma once
// The speed benchmark (docs/architecture.md, "What a run records"): the same network and batch
// under fp32 (TF32 off), tf32, fp16-mixed (every layer fp16, dynamic loss scaling,
// master weights), bf16-mixed (every layer bf16, master weights, no loss scaling, as
// autocast with bf16) and the file's own assignment ("custom"). For each: the median
// step time of many steps after a warm-up, samples/s, and each layer's forward and
// backward time (measured in a separate pass, because timing a layer waits for it).
// Step times are wall time on the CPU and device time (events) on a GPU.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "data/dataset.h"
#include "model/experiment.h"
#include "core/records.h"

namespace plab {

// Measured steps are timed in blocks of this many (see speed_benchmark.cpp).
inline constexpr std::int32_t kStepsPerTimedBlock = 5;

struct SpeedOptions {
  std::int32_t batchSize = 0;        // 0: the file's batch_size
  std::int32_t warmupSteps = 10;
  std::int32_t measuredSteps = 100;  // steps measured; the median over blocks of kStepsPerTimedBlock is reported
  std::int32_t layerTimingSteps = 20;
  bool stepCapture = false;          // replay the captured step where the backend can (CUDA graphs)
  // A name may end in "@nchw", "@nhwc" or "@auto": the convolution layout it runs in
  // (Backend::setConvLayout), so that "fp16-mixed@nchw" and "fp16-mixed@nhwc" compare
  // the two layouts side by side in one run.
  std::vector<std::string> configs = {"fp32", "tf32", "fp16-mixed", "bf16-mixed", "custom"};
};

// The experiment a configuration runs: the file's network with every layer's
// precision replaced (custom: unchanged), its loss scaling and master weights.
// Throws std::invalid_argument for an unknown configuration name.
Experiment speedConfigExperiment(const Experiment& file, const std::string& config);

// Runs each configuration in turn; `progress` (optional) hears each result as it lands.
std::vector<SpeedResult> runSpeedBenchmark(const Experiment& file, const Dataset& data, Backend& backend,
                                           const SpeedOptions& options,
                                           const std::function<void(const SpeedResult&)>& progress = {});

}  // namespace plab
