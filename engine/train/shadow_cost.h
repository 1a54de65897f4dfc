#pragma once
// What the shadow pass costs (docs/PERFORMANCE.md, "Shadow statistics"), measured side
// by side with what it is compared to: one fp32 training step of the same network.
// `precisionlab-cli bench FILE --shadow` prints it. Each round takes one batch and, in
// alternating order, times (wall time, synced) a full fp32 training step of the
// network with every layer in fp32 (forward, loss, backward, optimizer), and a whole
// shadow pass from the experiment's own network: ShadowPass::run (weights widened,
// fp32 forward and backward) plus the measuring of its tensors against the run's
// tensors of the same step (ShadowPass::attach). The run's own step between them, with
// statistics and capture on, is not timed.
#include <cstdint>

#include "backend/backend.h"
#include "data/dataset.h"
#include "model/experiment.h"

namespace plab {

struct ShadowCost {
  int rounds = 0;            // measured rounds (after the warm-up)
  double fp32StepMs = 0;     // median of the fp32 training steps
  double shadowMs = 0;       // median of the whole shadow passes (run + measuring)
  double shadowRunMs = 0;    // median of ShadowPass::run alone
  double measureMs = 0;      // median of the measuring alone
  std::int64_t values = 0;   // shadow values measured per pass
  // The median over rounds of (shadow pass / fp32 step) of the same round: on a
  // machine whose load drifts, steadier than the ratio of the medians.
  double pairedRatio = 0;
  double ratio() const { return fp32StepMs > 0 ? shadowMs / fp32StepMs : 0; }  // of the medians
};

// Throws what the network's construction throws (ShapeError, OutOfMemoryError) and
// std::invalid_argument for rounds < 1 or warmup < 0.
ShadowCost measureShadowCost(const Experiment& e, const Dataset& data, Backend& backend, int rounds, int warmup);

}  // namespace plab
