#pragma once
// Internal to engine/numerics: one set of array kernels per instruction-set path.
// convert_array.cpp picks a set once, at first use, from what the CPU supports.
#include <cstddef>
#include <cstdint>

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
// The best x86 set this CPU runs, or nullptr (not x86, or no F16C/AVX2).
const ArrayKernels* x86Kernels();

}  // namespace plab::detail
