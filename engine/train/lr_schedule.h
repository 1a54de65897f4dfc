#pragma once
// Learning-rate schedules (docs/experiment-format.md, "Optimizer and schedule"):
// constant, step decay, cosine annealing over the whole run, each with an optional
// linear warm-up from 0. The host computes the rate; the backend only receives it.
#include <cstdint>
#include <string>

namespace plab {

enum class ScheduleKind { constant, step, cosine };

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  double baseLr = 1e-3;
  std::int64_t stepSize = 1000;   // step: multiply by gamma every stepSize steps
  double gamma = 0.1;             // step
  double minLr = 0;               // cosine: the rate at the last step
  std::int64_t warmupSteps = 0;   // linear warm-up from 0 to baseLr over these steps
  std::int64_t totalSteps = 1;    // cosine: the length of the run

  // The rate for 1-based optimizer step `step`.
  double at(std::int64_t step) const;
};

const char* scheduleKindName(ScheduleKind kind);

}  // namespace plab
