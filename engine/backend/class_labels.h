#pragma once
// Class labels are fp32 class indices (Backend::softmaxCrossEntropy, evaluate). One
// rule for what a valid label is and one error text for a bad one, so that the CPU
// backend (which throws in the loss) and the CUDA backend (whose loss kernel flags the
// first bad row and whose host code throws when it reads the flag back) fail the same
// way; the conformance suite holds both to it (conformance_step.cpp).
#include <cstdint>
#include <string>

#include "backend/counter_rng.h"  // PLAB_HOST_DEVICE

namespace plab {

// A label is valid when it is an integer in [0, classes). The range is tested first:
// converting NaN or a huge float to an integer is undefined.
PLAB_HOST_DEVICE inline bool isClassIndex(float label, std::int64_t classes) {
  if (!(label >= 0.0f && label < static_cast<float>(classes))) return false;
  return static_cast<float>(static_cast<std::int64_t>(label)) == label;
}

// "label 7.000000 of row 3 is not a class index in [0, 5)"; each backend puts its
// name and the operation in front.
inline std::string badClassLabelMessage(float label, std::int64_t row, std::int64_t classes) {
  return "label " + std::to_string(label) + " of row " + std::to_string(row) + " is not a class index in [0, " +
         std::to_string(classes) + ")";
}

}  // namespace plab
