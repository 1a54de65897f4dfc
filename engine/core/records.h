#pragma once
// What a run records (docs/architecture.md): the rows the trainer produces, the store writes,
// the worker streams as events and the GUI plots. One definition for all of them.
#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_stats.h"

namespace plab {

enum class RunStatus { running, completed, failed, cancelled, interrupted };

// The one spelling of each status: in the store's runs.status, in run_finished
// messages, in the CLI and the GUI. Inline so that the store and the protocol use
// it without linking the trainer.
inline const char* toString(RunStatus s) {
  switch (s) {
    case RunStatus::running: return "running";
    case RunStatus::completed: return "completed";
    case RunStatus::failed: return "failed";
    case RunStatus::cancelled: return "cancelled";
    case RunStatus::interrupted: return "interrupted";
  }
  return "unknown";
}

inline bool parseRunStatus(const std::string& text, RunStatus& out) {
  for (RunStatus s : {RunStatus::running, RunStatus::completed, RunStatus::failed,
                      RunStatus::cancelled, RunStatus::interrupted}) {
    if (text == toString(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

struct StepMetrics {
  std::int64_t step = 0;          // 1-based optimizer step
  std::int32_t epoch = 0;         // 0-based
  double loss = 0;                // unscaled
  double lossScale = 1;
  bool overflow = false;
  bool skipped = false;
  std::string culprit;            // first layer in backward order with inf/NaN gradients ("" if none)
  double gradNorm = 0;
  double learningRate = 0;
  double stepMs = 0;              // device time on GPU, wall time on CPU
  double samplesPerSecond = 0;
};

// An overflow: the step, the scale before and after, every layer that had inf/NaN.
struct OverflowEvent {
  std::int64_t step = 0;
  double scaleBefore = 0;
  double scaleAfter = 0;
  std::vector<std::string> layers;   // backward order; layers[0] is the culprit
};

struct ScaleGrowthEvent {
  std::int64_t step = 0;
  double scaleBefore = 0;
  double scaleAfter = 0;
};

// A layer moved one step up the precision ladder during an adaptive run
// (docs/architecture.md, "Adaptive precision"): from the statistics step `step` on,
// the layer trains in `to`. `reason` is the measurement that decided it, in words
// ("gradients: 38.2% would underflow in fp16 at steps 50, 100 (limit 5%)").
struct PrecisionPromotion {
  std::int64_t step = 0;
  std::int32_t layerIndex = 0;
  std::string layerName;   // "layers[0] linear"
  std::string from, to;    // format names, as in files
  std::string reason;
  bool operator==(const PrecisionPromotion&) const = default;
};

struct EpochMetrics {
  std::int32_t epoch = 0;
  std::int64_t step = 0;          // the step at which it was evaluated
  double trainLoss = 0;           // mean over the epoch's steps that were not skipped
  double trainAccuracy = -1;      // -1: not a classification task
  double testLoss = 0;
  double testAccuracy = -1;
};

// The shadow pass (docs/architecture.md, "Shadow statistics"): on a statistics step the
// step's forward and backward run once more in fp32 from the same weights and batch,
// with the loss times the run's current loss scale. These are the fp32 values measured
// against the layer's format: what rounding them into it would do, before any of it
// has happened. The run's own step is untouched.
struct ShadowStats {
  std::int64_t count = 0;
  std::int64_t zeros = 0;          // exact zeros in fp32 already
  std::int64_t underflows = 0;     // nonzero, but rounding into the format gives zero
  std::int64_t overflows = 0;      // rounding into the format gives inf (fp8: beyond its max); also inf/NaN
  std::int64_t precisionLoss = 0;  // representable but subnormal there, keeping under half the format's bits
  double relError = 0;             // ||real - shadow|| / ||shadow|| (2-norms; inf when real has inf/NaN)
  std::array<std::int64_t, kLog2HistBins> log2Hist{};  // of the nonzero finite shadow values
};

enum class StatsKind { activation, gradient };

// How many of a tensor's values a statistics record keeps as they were before rounding
// (LayerStatsRecord::sample): two MX blocks, four NVFP4 blocks, for the Precision
// Explorer to quantise (docs/architecture.md, "What a run records").
inline constexpr std::size_t kStatsSampleValues = 64;
struct LayerStatsRecord {
  std::int64_t step = 0;
  std::int32_t layerIndex = 0;
  std::string layerName;          // "layers[2] linear"
  StatsKind kind = StatsKind::activation;
  std::string precision;          // format the values were rounded to
  TensorStats stats;
  bool hasShadow = false;         // the run had shadow_stats on
  ShadowStats shadow;
  // Activation records of linear and conv2d layers: ||y - y64|| / ||y64||, the output
  // against the same product in fp64 from the same operands (docs/architecture.md,
  // "Accumulation"); empty for other records and for runs stored before it existed.
  std::optional<double> productRelError;
  // The first kStatsSampleValues values of the record's first tensor, in its stored
  // order, as computed in fp32 before rounding into the format; empty for runs stored
  // before it existed.
  std::vector<float> sample;
  double zeroShare() const { return stats.count ? double(stats.zeros) / stats.count : 0; }
  double underflowShare() const { return stats.count ? double(stats.underflows) / stats.count : 0; }
  double overflowShare() const { return stats.count ? double(stats.overflows) / stats.count : 0; }
  double shadowUnderflowShare() const { return shadow.count ? double(shadow.underflows) / shadow.count : 0; }
  double shadowOverflowShare() const { return shadow.count ? double(shadow.overflows) / shadow.count : 0; }
  double shadowPrecisionLossShare() const {
    return shadow.count ? double(shadow.precisionLoss) / shadow.count : 0;
  }
};

struct LayerTiming {
  std::string layerName;
  double forwardMs = 0;
  double backwardMs = 0;
};

// The bytes a run's network holds, by kind (docs/architecture.md, "Memory"): the
// parameter tensors as allocated (working copy in the layer's format, fp32 master
// copy, gradient, fp32 optimizer state), sized by the format table, and the
// activations one training step keeps (each layer's output at its format, for the
// run's batch). Written to the run's summary as "memory".
struct MemoryUse {
  std::int64_t weights = 0;         // working copies, in each layer's format
  std::int64_t masterWeights = 0;   // fp32 master copies (0 without master weights)
  std::int64_t gradients = 0;       // parameter gradients, in each layer's gradient format
  std::int64_t optimizerState = 0;  // fp32 momentum / moments
  std::int64_t activations = 0;     // layer outputs of one step at the batch size
  // shadow_stats: the fp32 shadow network's weights, gradients and outputs. Beside the
  // network, not in total(): variants of one experiment compare their networks.
  std::int64_t shadow = 0;
  std::int64_t total() const { return weights + masterWeights + gradients + optimizerState + activations; }
  bool operator==(const MemoryUse&) const = default;
};

// One configuration of the speed benchmark: fp32, tf32, fp16-mixed, bf16-mixed, custom.
struct SpeedResult {
  std::string config;             // "fp32", "tf32", "fp16-mixed", "bf16-mixed", "custom"
  std::int32_t batchSize = 0;
  double medianStepMs = 0;
  double samplesPerSecond = 0;
  std::int32_t measuredSteps = 0;
  std::vector<LayerTiming> layers;
  std::string stepCapture;        // StepRunner::summary() of the measured steps (not stored)
};

}  // namespace plab
