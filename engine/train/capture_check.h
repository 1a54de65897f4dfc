#pragma once
// The step-capture check of `precisionlab-cli selftest`: a captured and replayed
// training step (Backend::captureStep, CUDA graphs) must compute exactly what the
// same step issued operation by operation computes. Two identical networks train the
// same batches on one backend, one with capture off and one with it on; every step
// record (loss, loss scale, overflow flags) and every parameter at the end must be
// bit-identical. The networks include dropout (whose mask depends on the step
// number), a warm-up and cosine learning-rate schedule (the rate changes each step)
// and, in fp16, dynamic loss scaling that grows fast enough to overflow and skip
// steps, so that every value a replay must take from the device is exercised.
#include <vector>

#include "backend/backend.h"
#include "backend/conformance.h"

namespace plab {

// One result per format (fp32, fp16 with dynamic scaling, bf16). Empty when the
// backend cannot capture steps at all (the CPU backend): there is nothing to compare.
std::vector<ConformanceResult> checkStepCapture(Backend& backend);

}  // namespace plab
