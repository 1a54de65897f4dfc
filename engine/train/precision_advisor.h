#pragma once
// The precision advisor (docs/architecture.md, "Precision advisor"): from the layer
// statistics of a probe run in fp32, the cheapest format for each layer that keeps it
// healthy, with the reason. A format is healthy for a layer when
// - its activations, times the margin, fit the forward format's largest value (a
//   format with a per-tensor scale, fp8, fits by its scale);
// - at most `underflowLimit` of the nonzero activations, and of the gradients, fall
//   below the smallest subnormal (after the per-tensor scale, or after the dynamic
//   loss scale that the gradients' largest value allows, for formats that use one);
// - its unit roundoff, 2^-(mantissa bits + 1), is within `errorBound`.
// Shares come from the statistics' log2 histograms: a binade that straddles a
// threshold counts as below it, so the shares are upper bounds.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/records.h"
#include "model/experiment.h"

namespace plab {

struct AdvisorCriteria {
  double margin = 2.0;           // headroom over the largest value seen: amax * margin must fit
  double underflowLimit = 0.01;  // share of nonzero values allowed below the smallest subnormal
  double errorBound = 0.0625;    // largest unit roundoff allowed (2^-4: fp8 E4M3's)
};

// One layer as the probe saw it, over all its statistics steps.
struct LayerObservation {
  std::int32_t layerIndex = 0;
  std::string layerName;
  float activationAmax = 0, gradientAmax = 0;
  std::array<std::int64_t, kLog2HistBins> activations{}, gradients{};  // summed log2 histograms
  std::int64_t activationValues = 0, gradientValues = 0;               // nonzero finite values in them
};

// Folds a probe run's statistics records into one observation per layer, in layer order.
std::vector<LayerObservation> observeLayers(std::span<const LayerStatsRecord> records);

// The share of the histogram's values whose magnitude is below `threshold` (an upper
// bound: the binade holding the threshold counts as below).
double shareBelow(const std::array<std::int64_t, kLog2HistBins>& hist, std::int64_t values, double threshold);

struct LayerAdvice {
  std::int32_t layerIndex = 0;
  std::string layerName;
  Precision proposed = Precision::fp32;
  bool lossScaling = false;          // its gradients need dynamic loss scaling in this format
  std::string reason;                // why this format, and why not the cheaper ones
};

struct Advice {
  std::vector<LayerAdvice> layers;   // every layer of the network, in order
  bool needsLossScaling = false;     // some layer's gradients need it
  bool usesFp8 = false;
};

// The ladder tried for each layer, cheapest first: fp8 (the experiment's fp8 forward
// and backward formats, delayed per-tensor scaling), bf16, fp16, fp32.
Advice adviseLayers(const NetworkSpec& network, std::span<const LayerObservation> observed,
                    const AdvisorCriteria& criteria, const Fp8Settings& fp8);

// The probe: the experiment with every layer in fp32 (products summing in fp32), no
// loss scaling, no shadow pass, `steps` steps and statistics about every steps/20.
Experiment probeExperiment(Experiment experiment, std::int64_t steps);

// The proposal as an experiment file: `original` (the file's JSON) with each layer's
// precision set, dynamic loss scaling when a layer needs it, delayed fp8 scaling when
// a layer is fp8, "(advised)" after the title and the advisor's table in the description.
nlohmann::json proposedExperiment(const nlohmann::json& original, const Advice& advice, const std::string& table);

// The table: one line per layer ("layers[2] linear  fp32 -> bf16  why").
std::string adviceTable(const NetworkSpec& network, const Advice& advice);

}  // namespace plab
