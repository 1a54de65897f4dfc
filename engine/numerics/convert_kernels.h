#pragma once
// Internal to engine/numerics: one set of array kernels per instruction-set path.
// convert_array.cpp picks a set once, at first use, from what the CPU supports.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "numerics/precision.h"

namespace plab::detail {

struct ArrayKernels {
  const char* name;
  void (*round)(Precision, const float*, float*, std::size_t);
  void (*encode16)(Precision, const float*, std::uint16_t*, std::size_t);
  void (*decode16)(Precision, const std::uint16_t*, float*, std::size_t);
  void (*encode8)(Precision, const float*, std::uint8_t*, std::size_t);
  void (*decode8)(Precision, const std::uint8_t*, float*, std::size_t);
};

const ArrayKernels& portableKernels();
// The x86 sets this CPU runs, best first; empty when not x86 or without AVX2 + F16C.
std::vector<const ArrayKernels*> x86KernelSets();

// fp8 decoding by a 256-entry table per format, filled from the scalar reference:
// exact by construction and shared by every path.
void decode8ByTable(Precision p, const std::uint8_t* in, float* out, std::size_t n);

}  // namespace plab::detail
