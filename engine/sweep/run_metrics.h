#pragma once
// The figures a lesson's claims read (sweep/claims.h), taken from a stored run: its
// summary and its events, the same rows the GUI shows.
#include <cstdint>
#include <optional>
#include <vector>

#include "store/store.h"
#include "sweep/claims.h"

namespace plab {

// Empty when the run is not in the store. A run that did not complete gives no
// accuracy or loss figures, so that a claim about them reads "no data", not a number
// from half a run.
RunMetrics storedRunMetrics(RunReader& reader, std::int64_t runId);

// The metric early_gradient_shadow_underflow: of the gradient values of the network's
// first half of layers (layer index < layers / 2, at least layers[0]), over every
// statistics step, the share the fp32 shadow says would underflow in the layer's
// format (docs/architecture.md, "Shadow statistics"). None without shadow statistics.
std::optional<double> earlyGradientShadowUnderflow(const std::vector<LayerStatsRecord>& stats);

// The metric product_error_fp64: at each statistics step the largest relative error of
// a linear or conv2d layer's forward output against the same product computed in
// fp64 from the same operands (LayerStatsRecord::productRelError; docs/architecture.md,
// "Accumulation"), averaged over the statistics steps. None without such records.
std::optional<double> productErrorFp64(const std::vector<LayerStatsRecord>& stats);

}  // namespace plab
