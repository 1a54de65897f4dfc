#pragma once
// The model's own deterministic random numbers (weight initialisation): SplitMix64,
// so that the same seed gives the same weights on every platform and standard
// library (std:: distributions differ between implementations).
#include <cstdint>

namespace plab::detail {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 24 random bits: every value exact in fp32.
  float uniform01() { return float(next() >> 40) * (1.0f / 16777216.0f); }
  // Uniform in [-bound, bound).
  float symmetric(float bound) { return (2.0f * uniform01() - 1.0f) * bound; }

 private:
  std::uint64_t state_;
};

// A seed for one purpose of one layer, decorrelated from its neighbours.
inline std::uint64_t deriveSeed(std::uint64_t seed, std::uint64_t layerIndex, std::uint64_t purpose) {
  SplitMix64 mix(seed ^ (0x632be59bd9b4e019ull * (layerIndex + 1)) ^ (0x85ebca6b0d2a4c3full * (purpose + 1)));
  return mix.next();
}

}  // namespace plab::detail
