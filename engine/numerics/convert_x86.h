#pragma once
// Internal to engine/numerics: the x86 kernel sets and what they share.
#include "numerics/convert_kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PLAB_X86_KERNELS 1
#else
#define PLAB_X86_KERNELS 0
#endif

#if PLAB_X86_KERNELS
namespace plab::detail {
const ArrayKernels& avx2Kernels();    // needs AVX2 and F16C
const ArrayKernels& avx512Kernels();  // needs AVX-512 F, BW and VL
}  // namespace plab::detail
#endif
