#include "backend/cpu/openblas_core.h"

#include <cblas.h>
#include <dlfcn.h>

#include <cstdlib>
#include <string_view>

namespace plab::cpu {

namespace {

// Kernels OpenBLAS falls back to when it does not recognise the CPU model.
bool isGenericKernel(std::string_view core) {
  return core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Dunnington" || core == "Nehalem" ||
         core == "Atom" || core == "Katmai" || core == "Coppermine" || core == "Northwood" || core == "Banias";
}

// The kernel the CPU's features call for, or "" when no better one applies.
const char* kernelForFeatures() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

std::string selectKernel() {
  const std::string detected = openblas_get_corename();
  if (std::getenv("OPENBLAS_CORETYPE")) return "OpenBLAS kernel " + detected + " (OPENBLAS_CORETYPE)";
  const char* wanted = kernelForFeatures();
  if (!isGenericKernel(detected) || !*wanted) return "OpenBLAS kernel " + detected;
  // Exported by DYNAMIC_ARCH builds only, hence looked up rather than linked.
  using InitFn = void (*)();
  auto quit = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<InitFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (!quit || !init)
    return "OpenBLAS kernel " + detected + " (generic; set OPENBLAS_CORETYPE=" + wanted + " for faster products)";
  // dynamic_init reads OPENBLAS_CORETYPE; no product has run yet in this process.
  setenv("OPENBLAS_CORETYPE", wanted, 0);
  quit();
  init();
  return "OpenBLAS kernel " + std::string(openblas_get_corename()) + " (re-selected: the library detected " +
         detected + " on this CPU)";
}

}  // namespace

const std::string& ensureOpenBlasKernel() {
  static const std::string note = selectKernel();  // thread-safe, once
  return note;
}

}  // namespace plab::cpu
