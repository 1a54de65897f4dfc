#pragma once
// One training step, the sequence of DESIGN.md's "Loss scaling", in one place: the
// trainer and the speed benchmark both run exactly this.
//
// forward -> fp32 loss with the gradient times the loss scale -> backward -> one
// check over every gradient (backward order) -> optimizer step (skipped by the
// backend on overflow) -> loss-scale update. Nothing here waits for the device.
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/experiment.h"
#include "data/dataset.h"
#include "model/network.h"

namespace plab {

struct StepBuffers {
  Tensor input;      // [N, sample...] fp32, filled by the caller
  Tensor target;     // [N] class indices or [N, targetSize], fp32
  Tensor dOutput;    // allocated on first use in the network's output-gradient format
};

// Allocates input and target tensors for batches of n examples of data.
StepBuffers makeStepBuffers(Backend& backend, const Dataset& data, std::int64_t n);
Shape batchShape(std::int64_t n, const Shape& sample);   // [n, sample...]
Shape targetShape(std::int64_t n, const Dataset& data);  // [n] labels or [n, targetSize]

// The median of v (the mean of the two middle values for an even count); 0 when empty.
double medianOf(std::vector<double> v);

void runTrainingStep(Network& network, Backend& backend, StepState& state, StepBuffers& buffers,
                     LossKind loss, const OptimizerHyper& hyper, std::int64_t step);

}  // namespace plab
