#pragma once
// The fp64 reference of a layer's forward product (docs/architecture.md,
// "Accumulation"): on a statistics step, the same product computed in fp64 from the
// same inputs and weights (already in the layer's format) plus the bias, against the
// layer's real output. Their relative error isolates what the accumulation and the
// output's rounding did, since both sides read identical operands.
#include "backend/backend.h"

namespace plab::detail {

// The first kProductErrorSamples samples of the batch are measured, which bounds the
// host-side fp64 work per statistics step whatever the batch size.
inline constexpr std::int64_t kProductErrorSamples = 32;

// ||y - y64|| / ||y64|| (2-norms over the measured samples) where y64 = x W^T + b in
// fp64. 0 when both are zero; inf when y holds inf or NaN or y64 is zero and y is not.
// bias may be null. Downloads its operands (syncs).
double linearErrorAgainstFp64(Backend& backend, const Tensor& x, const Tensor& w, const ParamSlot* bias,
                              const Tensor& y);
// The same for a convolution of geometry g (NCHW, weight [K, C, R, S]).
double conv2dErrorAgainstFp64(Backend& backend, const Conv2dGeometry& g, const Tensor& x, const Tensor& w,
                              const ParamSlot* bias, const Tensor& y);

}  // namespace plab::detail
