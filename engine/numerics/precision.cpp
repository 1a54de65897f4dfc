#include "numerics/precision.h"

#include <cstddef>

namespace plab {
namespace {

// 2^e as a double, exact for every exponent used below.
constexpr double pow2(int e) {
  double v = 1.0;
  for (; e > 0; --e) v *= 2.0;
  for (; e < 0; ++e) v *= 0.5;
  return v;
}

// Largest finite value of a format with an IEEE-style top exponent reserved for inf/NaN.
constexpr double ieeeMax(int exponentBits, int mantissaBits, int bias) {
  const int maxExponent = (1 << exponentBits) - 2 - bias;
  return (2.0 - pow2(-mantissaBits)) * pow2(maxExponent);
}

// Order follows the enum; formatInfo() checks that with the precision field.
// Colours: one hue per precision, distinguishable side by side in plots.
constexpr std::array<FormatInfo, 6> kFormats = {{
    {Precision::fp32, "fp32", 32, 8, 23, 127, ieeeMax(8, 23, 127), pow2(-126), pow2(-149),
     pow2(-23), true, "#607d8b"},  // blue-grey
    {Precision::tf32, "tf32", 32, 8, 10, 127, ieeeMax(8, 10, 127), pow2(-126), pow2(-136),
     pow2(-10), true, "#00897b"},  // teal
    {Precision::fp16, "fp16", 16, 5, 10, 15, ieeeMax(5, 10, 15), pow2(-14), pow2(-24),
     pow2(-10), true, "#f57c00"},  // orange
    {Precision::bf16, "bf16", 16, 8, 7, 127, ieeeMax(8, 7, 127), pow2(-126), pow2(-133),
     pow2(-7), true, "#7b1fa2"},  // purple
    // e4m3 (OCP "FN" variant): no inf; only S.1111.111 is NaN, so the top exponent
    // holds normal values and the largest is 1.75 * 2^8 = 448.
    {Precision::fp8_e4m3, "fp8_e4m3", 8, 4, 3, 7, 448.0, pow2(-6), pow2(-9), pow2(-3), false,
     "#c62828"},  // red
    {Precision::fp8_e5m2, "fp8_e5m2", 8, 5, 2, 15, ieeeMax(5, 2, 15), pow2(-14), pow2(-16),
     pow2(-2), true, "#ec407a"},  // pink
}};

constexpr bool formatsFollowEnumOrder() {
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    if (kFormats[i].precision != kAllPrecisions[i]) return false;
  }
  return true;
}
static_assert(formatsFollowEnumOrder(), "kFormats must be indexed by Precision");

}  // namespace

const FormatInfo& formatInfo(Precision p) {
  return kFormats[static_cast<std::size_t>(p)];
}

std::string_view toString(Precision p) { return formatInfo(p).name; }

std::optional<Precision> parsePrecision(std::string_view name) {
  for (const FormatInfo& f : kFormats) {
    if (f.name == name) return f.precision;
  }
  return std::nullopt;
}

std::string allowedPrecisionNames() {
  std::string names;
  for (const FormatInfo& f : kFormats) {
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names;
}

}  // namespace plab
