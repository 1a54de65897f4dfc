#pragma once
// The measure behind the shadow pass (docs/architecture.md, "Shadow statistics"): what
// rounding fp32 shadow values into a layer's format would do, and how far the run's own
// tensor is from them. Backend::measureShadow computes it where the tensors live; this
// header holds what every backend shares: the tally it adds into, the bounds it
// classifies with, and the host reference it is checked against.
#include <array>
#include <cstdint>
#include <span>

#include "core/records.h"  // ShadowStats
#include "core/tensor_stats.h"
#include "numerics/precision.h"

namespace plab {

// Sums over one or more (shadow, real) tensor pairs; Backend::measureShadow adds into it,
// so a gradient record (input gradient and parameter gradients) is one tally.
struct ShadowTally {
  std::int64_t count = 0;
  std::int64_t zeros = 0;          // shadow values that are exactly zero
  std::int64_t underflows = 0;     // nonzero, rounding into the format gives zero
  std::int64_t overflows = 0;      // rounding gives inf (fp8: beyond its max); also inf/NaN shadow values
  std::int64_t precisionLoss = 0;  // representable, but a subnormal keeping under half the format's bits
  std::array<std::int64_t, kLog2HistBins> log2Hist{};  // of the nonzero finite shadow values, unscaled
  bool compared = false;           // a real tensor was measured against the shadow
  double diffSquares = 0;          // sum of (real - shadow)^2, in double
  double shadowSquares = 0;        // sum of shadow^2, in double
};

// A tally's ShadowStats: the counts, and ||real - shadow|| / ||shadow|| (inf when the
// sums are not finite, or when the shadow is all zero and the real tensor is not; 0
// when no real tensor was compared).
ShadowStats finishShadow(const ShadowTally& tally);

// The bounds a backend classifies w = shadow * scale with (scale: the fp8 tensor's
// delayed scale, 1 for other formats), so that no value needs a round trip through the
// format. Derived from the numerics module's rounding (roundTo) by bisection over the
// fp32 bit patterns, so they agree with a round trip for every value (round to nearest
// even is monotonic and symmetric):
//   round(w) == 0   exactly when |w| <= underflowMax
//   round(w) is inf exactly when |w| >= overflowFrom (+inf when no float rounds to inf)
// and fp8, which saturates, also overflows when |w| > saturateAbove (its max; +inf for
// the others); precision loss is |w| < precisionLossBelow.
struct ShadowBounds {
  float underflowMax = 0;
  float overflowFrom = 0;
  float saturateAbove = 0;
  float precisionLossBelow = 0;
};
// Block-scaled formats (isBlockScaled: OCP MX, NVFP4) have no per-value rounding and no
// layer uses one: std::invalid_argument (throwBlockScaled), so measureShadow refuses them.
const ShadowBounds& shadowBounds(Precision format);

// The definitions, on the host, with a full round trip of every value (roundArray):
// the reference Backend::measureShadow is checked against. shadow: fp32 values; real:
// the run's logical values of the same tensor element for element, or empty (no
// relative error); scale: the real tensor's fp8 scale (1 for other formats). Adds into
// tally, summing the squares in element order. Throws std::invalid_argument when real
// is given with another size.
void measureShadowReference(std::span<const float> shadow, std::span<const float> real, Precision format,
                            float scale, ShadowTally& tally);

}  // namespace plab
