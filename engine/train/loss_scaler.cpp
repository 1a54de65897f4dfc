#include "train/loss_scaler.h"

#include <sstream>
#include <stdexcept>

namespace plab {

LossScaler::LossScaler(const LossScaleRule& rule) : rule_(rule), counters_(initialCounters(rule)) {}

std::vector<std::string> LossScaler::overflowedLayers(const StepRecord& record,
                                                      std::span<const std::string> gradientOwners) {
  std::vector<std::string> layers;
  for (std::size_t i = 0; i < record.gradOverflow.size(); ++i) {
    if (!record.gradOverflow[i]) continue;
    std::string owner = i < gradientOwners.size() ? gradientOwners[i] : "gradient #" + std::to_string(i);
    // A layer owns several gradients (weight, bias): name it once.
    bool seen = false;
    for (const auto& l : layers) seen = seen || l == owner;
    if (!seen) layers.push_back(std::move(owner));
  }
  return layers;
}

LossScaler::Outcome LossScaler::observe(const StepRecord& record,
                                        std::span<const std::string> gradientOwners) {
  Outcome out;
  const float before = counters_.scale;
  if (record.lossScale != before) {
    std::ostringstream msg;
    msg << "loss scaler: step " << record.step << " used scale " << record.lossScale
        << " but the rule gives " << before << " (backend and host disagree)";
    throw std::logic_error(msg.str());
  }
  counters_ = nextCounters(rule_, counters_, record.overflow);
  if (record.nextLossScale != counters_.scale) {
    std::ostringstream msg;
    msg << "loss scaler: after step " << record.step << " the backend set scale "
        << record.nextLossScale << " but the rule gives " << counters_.scale;
    throw std::logic_error(msg.str());
  }
  if (record.skipped) ++skippedSteps_;
  if (record.overflow) {
    ++overflowCount_;
    OverflowEvent e;
    e.step = record.step;
    e.scaleBefore = before;
    e.scaleAfter = counters_.scale;
    e.layers = overflowedLayers(record, gradientOwners);
    out.overflow = std::move(e);
  } else if (counters_.scale > before) {
    ++growthCount_;
    out.growth = ScaleGrowthEvent{record.step, before, counters_.scale};
  }
  return out;
}

const char* lossScaleModeName(LossScaleMode mode) {
  switch (mode) {
    case LossScaleMode::none: return "none";
    case LossScaleMode::fixed: return "static";
    case LossScaleMode::dynamic: return "dynamic";
  }
  return "?";
}

}  // namespace plab
