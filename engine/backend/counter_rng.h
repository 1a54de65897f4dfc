#pragma once
// Counter-based random numbers: a value is a pure function of (seed, step, index),
// so the CPU backend and a CUDA kernel (one thread per element) draw the same
// dropout mask without sharing any generator state. splitmix64 finalisers
// (Steele, Lea, Flood 2014) mix the counter; 24 bits make an exact float in [0, 1).
#include <cstdint>

#include "core/host_device.h"

namespace plab {

PLAB_HOST_DEVICE inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The stream of one (seed, step): computed once per launch, not per element.
PLAB_HOST_DEVICE inline std::uint64_t counterStream(std::uint64_t seed, std::uint64_t step) {
  return splitmix64(seed ^ splitmix64(step ^ 0x632BE59BD9B4E019ull));
}

// Uniform in [0, 1), a multiple of 2^-24, for element `index` of a stream.
PLAB_HOST_DEVICE inline float counterUniform(std::uint64_t stream, std::uint64_t index) {
  const std::uint64_t h = splitmix64(stream ^ (index * 0xD1B54A32D192ED03ull));
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);
}

// Dropout keeps element `index` when its uniform is >= p.
PLAB_HOST_DEVICE inline bool dropoutKeeps(std::uint64_t stream, std::uint64_t index, float p) {
  return counterUniform(stream, index) >= p;
}

// Inverted dropout: kept values are multiplied by keepScale = 1 / (1 - p) (in fp32).
PLAB_HOST_DEVICE inline float dropoutKeepScale(float p) { return p >= 1.0f ? 0.0f : 1.0f / (1.0f - p); }

}  // namespace plab
