#pragma once
// The random numbers behind the synthetic datasets and the batch order.
//
// Why not <random>'s distributions: std::uniform_real_distribution and
// std::normal_distribution are implementation-defined, so the same seed would give
// other datasets with libc++ or MSVC. Here every number comes from raw 64-bit words
// of xoshiro256** (seeded through SplitMix64), turned into doubles by fixed formulas.
// The one remaining platform dependence is libm's log/cos/sin in normal(); the
// results are rounded to float afterwards, so a last-ulp difference rarely shows.
#include <cmath>
#include <cstdint>
#include <numbers>

namespace plab::data {

// SplitMix64: spreads a seed (or seed + stream number) over 64 well-mixed bits.
inline std::uint64_t splitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mixes a seed with a stream number so that train, test and each epoch's shuffle
// draw from unrelated sequences.
inline std::uint64_t deriveSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  return splitMix64(s);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& word : state_) word = splitMix64(s);
  }

  // xoshiro256** (Blackman and Vigna).
  std::uint64_t nextU64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(nextU64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const unsigned __int128 m = (unsigned __int128)nextU64() * n;
      if (std::uint64_t(m) >= threshold) return std::uint64_t(m >> 64);
    }
  }

  // Standard normal by Box-Muller; the second value of each pair is kept for the next call.
  double normal() {
    if (haveSpare_) {
      haveSpare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();  // log(0) would be -inf
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    haveSpare_ = true;
    return radius * std::cos(angle);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
  double spare_ = 0;
  bool haveSpare_ = false;
};

}  // namespace plab::data
