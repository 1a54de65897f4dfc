#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace plab {

double LrSchedule::at(std::int64_t step) const {
  // Warm-up: step 1 of W gets lr/W, step W gets lr (never a zero rate on step 1,
  // which would waste a step), as torch's LinearLR with start_factor 1/W.
  if (warmupSteps > 0 && step <= warmupSteps) return baseLr * double(step) / double(warmupSteps);
  const std::int64_t t = std::max<std::int64_t>(step - 1, 0);  // steps taken before this one
  switch (kind) {
    case ScheduleKind::constant:
      return baseLr;
    case ScheduleKind::step: {
      const std::int64_t size = std::max<std::int64_t>(stepSize, 1);
      return baseLr * std::pow(gamma, double(t / size));
    }
    case ScheduleKind::cosine: {
      // Annealed over the steps after the warm-up, reaching minLr at the last step.
      const std::int64_t span = std::max<std::int64_t>(totalSteps - warmupSteps - 1, 1);
      const double progress = std::clamp(double(step - warmupSteps - 1) / double(span), 0.0, 1.0);
      constexpr double kPi = 3.14159265358979323846;
      return minLr + (baseLr - minLr) * 0.5 * (1.0 + std::cos(kPi * progress));
    }
  }
  return baseLr;
}

const char* scheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::constant: return "constant";
    case ScheduleKind::step: return "step";
    case ScheduleKind::cosine: return "cosine";
  }
  return "?";
}

}  // namespace plab
