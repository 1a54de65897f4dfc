#pragma once
// OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds) goes by the CPU's family
// and model numbers. On virtual machines that hide them ("Intel(R) Xeon(R)
// Processor") Debian's OpenBLAS 0.3.21 falls back to the generic Prescott (SSE3)
// kernel even when the CPU has AVX-512: products run about 3x slower (measured on an
// H100 host: 18 vs 98 GFLOP/s on one core). This re-selects the kernel from the CPU's
// feature flags, once, before the first product.
#include <string>

namespace plab::cpu {

// Runs once per process. Does nothing when the user set OPENBLAS_CORETYPE, when the
// library already chose a specific kernel, or when it does not export its dynamic
// (re)initialisation. Returns one line saying what the kernel is and why.
const std::string& ensureOpenBlasKernel();

}  // namespace plab::cpu
