#pragma once
// How much memory training a network needs at least, from the sizes that shape
// inference gives every layer (LayerShapeInfo: the same figures the editor shows per
// layer), and the refusal of a network that cannot fit (docs/experiment-format.md,
// "Hostile input").
//
// The estimate is a lower bound: per layer, the working weights and their gradient at
// the layer's storage format, the fp32 master copy (when on) and the optimizer's fp32
// state (momentum, Adam's two moments), and a batch of output activations and of
// their gradients at the layer's format; with shadow_stats the fp32 shadow network
// (docs/architecture.md, "Shadow statistics"): the same in fp32, without master copy
// and optimizer state. Backends may need more (the CPU backend keeps
// every element in an fp32 slot; buffers for format conversions, statistics, the
// evaluation batch), never less, so a network refused by it cannot train here.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "model/network.h"

namespace plab {

struct LayerMemory {
  int index = 0;
  std::string name;            // "layers[1] linear"
  double weightBytes = 0;      // working copy, gradient, master copy, optimizer state
  double activationBytes = 0;  // output and its gradient for one training batch
  double shadowBytes = 0;      // shadow_stats: the fp32 shadow's weights, gradients, output and its gradient
  double total() const { return weightBytes + activationBytes + shadowBytes; }
};

std::vector<LayerMemory> estimateTrainingMemory(const std::vector<LayerShapeInfo>& shapes, const Experiment& e);

// The memory a backend's tensors live in, in bytes: physical memory for the CPU
// backend (sysconf); nothing for a backend that reports its own out-of-memory errors
// (CUDA: cudaMalloc names the size it could not get).
std::optional<double> memoryLimitFor(const BackendInfo& backend);

// "1.5 GiB", "640 KiB": a byte count for messages.
std::string bytesText(double bytes);

// Throws MemoryLimitError when the estimate passes limitBytes, naming the total, the
// limit and the layer that needs the most.
void requireTrainingMemory(const std::vector<LayerShapeInfo>& shapes, const Experiment& e, double limitBytes,
                           const std::string& limitName);

// The check before training: e's network on data's samples against the memory of
// `backend` (memoryLimitFor). Throws ShapeError or MemoryLimitError.
void requireTrainingMemory(const Experiment& e, const Dataset& data, const BackendInfo& backend);

}  // namespace plab
