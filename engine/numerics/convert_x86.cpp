// Which x86 kernel sets this CPU can run, asked once through __builtin_cpu_supports
// (which also checks that the OS saves the AVX / AVX-512 registers).
#include "numerics/convert_x86.h"

namespace plab::detail {

std::vector<const ArrayKernels*> x86KernelSets() {
#if PLAB_X86_KERNELS
  __builtin_cpu_init();
  std::vector<const ArrayKernels*> sets;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("f16c")) {
    sets.push_back(&avx512Kernels());
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) {
    sets.push_back(&avx2Kernels());
  }
  return sets;
#else
  return {};
#endif
}

}  // namespace plab::detail
