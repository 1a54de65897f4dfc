#pragma once
// The CUDA backend's public face: no CUDA header is included here, so the registry
// and the CLI can name it without the CUDA toolkit on their include path.
#include <memory>
#include <string>

#include "backend/backend.h"

namespace plab {

// True when a usable CUDA device answers (driver new enough, at least one device of
// compute capability 8.0 or newer). Otherwise false, with one line in reason saying
// why ("no CUDA device", "driver too old: ...").
bool probeCudaDevice(std::string& reason);

// The backend on device 0. Throws std::runtime_error (with the failing CUDA call)
// when the device cannot be used.
std::unique_ptr<Backend> createCudaBackend();

}  // namespace plab
