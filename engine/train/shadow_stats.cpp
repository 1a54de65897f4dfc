#include "train/shadow_stats.h"

#include <cmath>

#include "backend/shadow_measure.h"

namespace plab {

bool losesMostBits(float value, Precision format) {
  const float magnitude = std::fabs(value);
  return magnitude != 0 && magnitude < shadowBounds(format).precisionLossBelow;
}

ShadowStats measureShadow(std::span<const float> shadow, std::span<const float> real, Precision format,
                          float fp8Scale) {
  ShadowTally tally;
  measureShadowReference(shadow, real, format, fp8Scale, tally);
  return finishShadow(tally);
}

}  // namespace plab
