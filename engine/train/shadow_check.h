#pragma once
// The shadow-pass check of `precisionlab-cli selftest` (docs/architecture.md, "Shadow
// statistics"): the shadow of a run's step must equal an fp32 run of the same step.
// A network in each of fp32, fp16 (static loss scale 2^10), bf16 and fp8 (delayed
// scaling) trains a few steps; then the shadow pass runs from its weights, and a
// separate all-fp32 network, its weights set through the host to the run's (widened
// exactly), takes a full fp32 training step on the same batch at the run's loss scale.
// Every layer's output and gradients of the shadow must equal that step's, element for
// element (relative error 0 by Backend::measureShadow, and the same count). The network
// has convolutions, pooling, dropout and batch norm, so that a backend's channels-last
// tensors and dropout masks are exercised.
#include <vector>

#include "backend/backend.h"
#include "backend/conformance.h"

namespace plab {

// One result per format.
std::vector<ConformanceResult> checkShadowPass(Backend& backend);

}  // namespace plab
