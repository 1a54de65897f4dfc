#include "model/memory_estimate.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace plab {
namespace {

constexpr double kFp32Bytes = 4;

// fp32 values the optimizer keeps per parameter (engine/model/network.cpp,
// allocateOptimizerState): a momentum buffer or first moment, and Adam's second moment.
double optimizerStatesPerParameter(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::sgd: return 1;
    case OptimizerKind::adam:
    case OptimizerKind::adamw: return 2;
  }
  return 2;
}

}  // namespace

std::vector<LayerMemory> estimateTrainingMemory(const std::vector<LayerShapeInfo>& shapes, const Experiment& e) {
  const double states = optimizerStatesPerParameter(e.optimizer.kind) + (e.masterWeights ? 1 : 0);
  std::vector<LayerMemory> layers;
  for (const LayerShapeInfo& info : shapes) {
    LayerMemory m;
    m.index = info.index;
    m.name = info.name;
    m.weightBytes = 2 * double(info.weightBytes) + states * kFp32Bytes * double(info.parameterCount);
    m.activationBytes = 2 * double(e.batchSize) * double(info.activationBytesPerSample);
    if (e.shadowStats && e.statsInterval > 0)
      m.shadowBytes = 2 * kFp32Bytes * double(info.parameterCount) +
                      2 * double(e.batchSize) * kFp32Bytes * double(info.outputShape.numel());
    layers.push_back(m);
  }
  return layers;
}

std::optional<double> memoryLimitFor(const BackendInfo& backend) {
  if (backend.name != "cpu") return std::nullopt;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long pageSize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0) return std::nullopt;
  return double(pages) * double(pageSize);
}

std::string bytesText(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[48];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return text;
}

void requireTrainingMemory(const std::vector<LayerShapeInfo>& shapes, const Experiment& e, double limitBytes,
                           const std::string& limitName) {
  const std::vector<LayerMemory> layers = estimateTrainingMemory(shapes, e);
  double total = 0;
  for (const LayerMemory& m : layers) total += m.total();
  if (layers.empty() || total <= limitBytes) return;
  const LayerMemory& largest =
      *std::max_element(layers.begin(), layers.end(), [](const auto& a, const auto& b) { return a.total() < b.total(); });
  throw MemoryLimitError(
      largest.index, largest.name + ": training needs at least " + bytesText(total) + " with batch_size " +
                         std::to_string(e.batchSize) + ", more than the " + bytesText(limitBytes) + " of " + limitName +
                         "; this layer alone needs " + bytesText(largest.total()) + " (weights, gradients and optimizer state " +
                         bytesText(largest.weightBytes) + ", activations and their gradients " +
                         bytesText(largest.activationBytes) +
                         (largest.shadowBytes > 0 ? ", its fp32 shadow (shadow_stats) " + bytesText(largest.shadowBytes)
                                                  : std::string()) +
                         ")");
}

void requireTrainingMemory(const Experiment& e, const Dataset& data, const BackendInfo& backend) {
  const std::optional<double> limit = memoryLimitFor(backend);
  if (!limit) return;
  requireTrainingMemory(inferShapesForDataset(e.network, data), e, *limit, "physical memory on this machine");
}

}  // namespace plab
