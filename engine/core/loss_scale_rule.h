#pragma once
// The loss-scale update rule (docs/architecture.md, "Loss scaling"), as one pure function so
// that the CPU backend and the CUDA kernel apply exactly the same rule.
// Defaults follow torch.amp.GradScaler: init 2^16, growth 2.0, backoff 0.5,
// growth interval 2000.
#include <cstdint>

#include "core/host_device.h"

namespace plab {

enum class LossScaleMode : std::uint8_t { none, fixed, dynamic };

struct LossScaleRule {
  LossScaleMode mode = LossScaleMode::dynamic;
  float initScale = 65536.0f;      // 2^16, as torch.amp.GradScaler
  float growthFactor = 2.0f;
  float backoffFactor = 0.5f;
  std::int32_t growthInterval = 2000;
  std::int32_t hysteresis = 1;     // overflows tolerated (in a row) before backing off; 1 = back off at once
  float minScale = 0.0f;           // 0: no lower bound
  float maxScale = 0.0f;           // 0: no upper bound
};

struct LossScaleCounters {
  float scale;
  std::int32_t cleanSteps;         // consecutive steps without overflow
  std::int32_t hysteresisLeft;     // overflows still tolerated before the next backoff
};

inline PLAB_HOST_DEVICE LossScaleCounters initialCounters(const LossScaleRule& r) {
  float s = r.mode == LossScaleMode::none ? 1.0f : r.initScale;
  return {s, 0, r.hysteresis};
}

// The state after one step. A skipped step is decided by foundInf alone (the update
// is skipped whenever a gradient overflowed); the rule only changes the scale.
inline PLAB_HOST_DEVICE LossScaleCounters nextCounters(const LossScaleRule& r, LossScaleCounters c,
                                                       bool foundInf) {
  if (r.mode != LossScaleMode::dynamic) return c;
  if (foundInf) {
    c.cleanSteps = 0;
    c.hysteresisLeft -= 1;
    if (c.hysteresisLeft <= 0) {
      c.scale *= r.backoffFactor;
      if (r.minScale > 0.0f && c.scale < r.minScale) c.scale = r.minScale;
      c.hysteresisLeft = r.hysteresis;
    }
    return c;
  }
  c.cleanSteps += 1;
  if (c.cleanSteps >= r.growthInterval) {
    float grown = c.scale * r.growthFactor;
    // Never grow into inf, and respect the ceiling.
    if (grown <= 3.4e38f) c.scale = grown;
    if (r.maxScale > 0.0f && c.scale > r.maxScale) c.scale = r.maxScale;
    c.cleanSteps = 0;
    c.hysteresisLeft = r.hysteresis;
  }
  return c;
}

}  // namespace plab
