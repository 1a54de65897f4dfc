#include "backend/registry.h"

#include <stdexcept>

#include "backend/cpu/cpu_backend.h"

#ifdef PLAB_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace plab {

bool cudaUsable(std::string& reason) {
#ifdef PLAB_HAVE_CUDA
  return probeCudaDevice(reason);
#else
  reason = "CUDA backend not built";
  return false;
#endif
}

std::unique_ptr<Backend> createBackend(const std::string& which, std::string& note) {
  if (which == "cpu") {
    note = "cpu backend (requested)";
    return std::make_unique<CpuBackend>();
  }
  if (which != "cuda" && which != "auto")
    throw std::invalid_argument("backend \"" + which + "\" is not one of cpu, cuda, auto");
  std::string reason;
  const bool usable = cudaUsable(reason);
  if (which == "cuda" && !usable) throw std::runtime_error("cuda backend unavailable: " + reason);
  if (usable) {
#ifdef PLAB_HAVE_CUDA
    note = which == "auto" ? "cuda backend (auto: " + reason + ")" : "cuda backend (requested)";
    return createCudaBackend();
#endif
  }
  note = "cpu backend (auto: " + reason + ")";
  return std::make_unique<CpuBackend>();
}

}  // namespace plab
