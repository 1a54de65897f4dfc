#pragma once
// Adaptive precision (docs/architecture.md, "Adaptive precision"): the ladder a layer
// climbs, and the rule that decides, from each statistics step's layer records,
// which layers climb it. The trainer applies the decisions (Network::promoteLayer)
// and reports them (RunObserver::onPromotion); nothing here touches the network.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/records.h"
#include "model/experiment.h"

namespace plab {

// The next step up for a layer in format p: fp4 and fp6 block formats -> mxfp8_e4m3;
// mxfp8, mxint8, fp8 and fp16 -> bf16 (the range fp16 lacks); bf16 and tf32 -> fp32;
// fp32: none.
std::optional<Precision> promotedFormat(Precision p);

// Holds each layer's run of statistics steps beyond a limit. A layer breaks the policy
// at a statistics step when, in any of its records,
// - more than underflowLimit of the values underflow the format: the shadow's "would
//   underflow" share when the run has shadow statistics, else the share that rounding
//   turned to zero;
// - more than overflowLimit of its activations overflow it (gradient overflows are the
//   loss scaler's to handle, and with loss scaling off they end the run).
// After `patience` such steps in a row it is promoted one step, and its count restarts.
class PrecisionPromoter {
 public:
  explicit PrecisionPromoter(const PrecisionPolicy& policy);

  // One statistics step's records (every layer's). `layers` is the network as it
  // trains now; the result lists the promotions to make, in layer order, with `to`
  // the next format of the ladder. Layers without one (fp32) and batch norm layers
  // are never promoted.
  std::vector<PrecisionPromotion> observe(std::span<const LayerStatsRecord> records,
                                          const std::vector<LayerSpec>& layers);

 private:
  struct Breach {
    double share = 0;       // the largest share beyond its limit
    std::string what;       // "gradients: 38.2% would underflow fp16"
  };
  std::optional<Breach> breachOf(std::span<const LayerStatsRecord> records, std::int32_t layer) const;

  PrecisionPolicy policy_;
  std::vector<int> strikes_;                     // per layer: statistics steps in a row beyond a limit
  std::vector<std::vector<std::int64_t>> steps_;  // the steps of that run
};

}  // namespace plab
