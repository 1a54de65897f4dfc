#pragma once
// Which backends this build has, and picking one at run time.
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace plab {

// which: "cpu", "cuda" or "auto". auto takes CUDA when it was built and a usable
// device answers, else the CPU backend; `note` gets one line saying what was chosen
// and why ("CUDA backend not built", "no CUDA device", "driver too old: ...").
// "cuda" when CUDA cannot be used throws std::runtime_error with that reason; an
// unknown name throws std::invalid_argument naming the allowed ones.
std::unique_ptr<Backend> createBackend(const std::string& which, std::string& note);

// Whether a CUDA device can be used now; `reason` says why not (or names the device).
bool cudaUsable(std::string& reason);

}  // namespace plab
