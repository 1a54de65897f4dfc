#pragma once
// What rounding did to one tensor: a backend fills it (Backend::convert, stats), a
// layer keeps it, a LayerStatsRecord (core/records.h) carries it to the store and the
// plots. Here, below the backends, so that the records need no backend header
// (docs/architecture.md, "Layering").
#include <array>
#include <cstdint>

namespace plab {

inline constexpr int kLog2HistMin = -64;   // bin 0 holds log2|x| < -63 as well
inline constexpr int kLog2HistBins = 128;  // bin i: floor(log2|x|) == kLog2HistMin + i
struct TensorStats {
  std::int64_t count = 0;
  std::int64_t zeros = 0;       // exact zeros after rounding
  std::int64_t underflows = 0;  // nonzero before rounding, zero after
  std::int64_t overflows = 0;   // finite before rounding, inf after (fp8: saturated to max)
  std::int64_t nonFinite = 0;   // inf or NaN before rounding
  float maxAbs = 0;             // of the finite values before rounding
  std::array<std::int64_t, kLog2HistBins> log2Hist{};  // of the nonzero finite values before rounding
};

}  // namespace plab
