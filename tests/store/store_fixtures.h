#pragma once
// Records with every field set to a distinct value, for the store's round trips.
#include <cmath>
#include <limits>
#include <string>

#include <QString>

#include "protocol/records_json.h"
#include "core/records.h"

namespace plab::testing {

inline StepMetrics sampleStep(std::int64_t step) {
  StepMetrics m;
  m.step = step;
  m.epoch = std::int32_t(step / 100);
  m.loss = 2.5 / double(step);
  m.lossScale = std::ldexp(1.0, 16 - int(step % 3));
  m.overflow = step % 7 == 0;
  m.skipped = m.overflow;
  m.culprit = m.overflow ? "layers[2] linear" : "";
  m.gradNorm = m.overflow ? std::numeric_limits<double>::infinity() : 0.125 * double(step);
  m.learningRate = 1e-3;
  m.stepMs = 1.5 + double(step % 5);
  m.samplesPerSecond = 64000.0 / m.stepMs;
  return m;
}

inline LayerStatsRecord sampleLayerStats(std::int64_t step, int layer, StatsKind kind) {
  LayerStatsRecord r;
  r.step = step;
  r.layerIndex = layer;
  r.layerName = "layers[" + std::to_string(layer) + "] linear";
  r.kind = kind;
  r.precision = "fp16";
  r.stats.count = 1000;
  r.stats.zeros = 10 + layer;
  r.stats.underflows = 3;
  r.stats.overflows = kind == StatsKind::gradient ? 2 : 0;
  r.stats.nonFinite = 1;
  r.stats.maxAbs = 65504.0f;
  r.stats.log2Hist[0] = 4;
  r.stats.log2Hist[50] = 900;
  r.stats.log2Hist[127] = 83;
  // The gradient row keeps a sample with every kind of value a tensor can hold.
  if (kind == StatsKind::gradient)
    r.sample = {0.5f, -0.0f, 1e-30f, 65504.0f, std::numeric_limits<float>::infinity(), 3.0e-8f};
  return r;
}

inline SpeedResult sampleSpeed(const std::string& config) {
  SpeedResult r;
  r.config = config;
  r.batchSize = 128;
  r.medianStepMs = 3.25;
  r.samplesPerSecond = 128 / 3.25e-3;
  r.measuredSteps = 50;
  r.layers = {{"layers[0] linear", 0.5, 1.25}, {"layers[1] relu", 0.0625, 0.125}};
  return r;
}

// Statuses compare as their stored text (records.h's toString lives in plab_train,
// which these suites do not link).
inline QString statusText(RunStatus s) { return protocol::runStatusText(s); }

// Bitwise double equality that treats NaN as equal to NaN.
inline bool sameDouble(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace plab::testing
