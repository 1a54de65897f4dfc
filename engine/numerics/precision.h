#pragma once
// The numeric formats a layer can use, and the facts about each one: one table
// (detail::kFormats below). Every question about a format (its name, limits, storage
// size, scaling, whether it is fp8) is answered from that table; docs/architecture.md
// ("Numerics") says how a format is added. The table is constexpr so that kernels can
// ask it at compile time (engine/backend/cuda/formats.cuh).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plab {

enum class Precision : std::uint8_t {
  fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2,
  // Block-scaled (numerics/block_format.h): OCP Microscaling with blocks of 32 sharing
  // an e8m0 scale, and NVFP4 (blocks of 16 with an e4m3 scale, one fp32 tensor scale).
  mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4, mxint8, nvfp4
};

inline constexpr std::array<Precision, 13> kAllPrecisions = {
    Precision::fp32,       Precision::tf32,       Precision::fp16,       Precision::bf16,
    Precision::fp8_e4m3,   Precision::fp8_e5m2,   Precision::mxfp8_e4m3, Precision::mxfp8_e5m2,
    Precision::mxfp6_e3m2, Precision::mxfp6_e2m3, Precision::mxfp4,      Precision::mxint8,
    Precision::nvfp4};

// The kind of format: it decides how a tensor of it is scaled and which kernels hold it.
// A new family is added here with its rows; -Werror=switch-enum then lists every switch
// that must learn it.
enum class FormatFamily : std::uint8_t {
  ieee,   // IEEE 754 layout, top exponent for inf/NaN, no scale: fp32, tf32, fp16, bf16
  fp8,    // OCP 8-bit floats, each tensor with a delayed per-tensor scale and amax
  mx,     // OCP Microscaling: blocks of 32 elements share a power-of-two (e8m0) scale
  nvfp4,  // NVIDIA's fp4: e2m1 elements, blocks of 16 with an e4m3 scale, an fp32 tensor scale
};

// How a scale is encoded: a tensor's one scale, or the scale of each block of elements.
enum class ScaleFormat : std::uint8_t {
  none,      // no scale of this kind
  fp32,      // a float: the per-tensor scale of fp8 (a backend slot beside the data) and nvfp4
  e8m0,      // a power of two, 8 bits: the block scale of OCP MX formats
  fp8_e4m3,  // an e4m3 value, 8 bits: the block scale of NVFP4
};

// What a teacher (and a backend) needs to know about a format. For a block-scaled format
// (blockSize > 1) the bit fields, limits and Inf/NaN say what one element holds before
// its block's scale multiplies it (mxfp4: e2m1, largest element 6); a block's scale can
// also be NaN, which makes every value of the block NaN (numerics/block_format.h).
// mxint8's elements are 8-bit two's complement integers times 2^-6: no exponent field,
// 6 fraction bits (exponentBits 0, mantissaBits 6).
struct FormatInfo {
  Precision precision;
  std::string_view name;      // "fp16": the spelling used in files, the CLI and the GUI
  FormatFamily family;
  int totalBits;              // bits of a pattern for encode/decode (tf32: an fp32 pattern, 32 bits,
                              // of which 19 carry information)
  int exponentBits;
  int mantissaBits;           // explicit fraction bits
  int bias;
  double maxFinite;
  double minNormal;
  double minSubnormal;
  double epsilon;             // 2^-mantissaBits: the gap between 1 and the next value
  bool hasInfinity;           // false for fp8_e4m3 (it saturates / has only NaN)
  bool hasNaN;
  // Bits one element takes in a backend's native storage (the CUDA backend's; the CPU
  // backend keeps every format as fp32 values, docs/architecture.md): 32 for tf32, which
  // is kept in fp32 bits. A packed 4-bit format would say 4.
  int storageBits;
  ScaleFormat tensorScale;    // the per-tensor scale kept beside the data (not in tensorBytes)
  int blockSize;              // consecutive elements sharing one block scale; 1: no block scale
  ScaleFormat blockScale;     // the encoding of each block's scale; none when blockSize is 1
  std::string_view colour;    // "#rrggbb", the colour of this precision everywhere in the app
};

// An unknown Precision or ScaleFormat value (a corrupt enum): std::invalid_argument
// naming `where` and the value.
[[noreturn]] void throwUnknownPrecision(const char* where, Precision p);
[[noreturn]] void throwUnknownScaleFormat(const char* where, ScaleFormat s);
// A scalar conversion asked of a block-scaled format: std::invalid_argument naming
// `where` and the format, and saying that its values are quantised a block at a time.
[[noreturn]] void throwBlockScaled(const char* where, Precision p);

namespace detail {

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

// Indexed by Precision (checked below). Colours: one hue per precision, distinguishable
// side by side in plots.
inline constexpr std::array<FormatInfo, 13> kFormats = {{
    {.precision = Precision::fp32, .name = "fp32", .family = FormatFamily::ieee, .totalBits = 32,
     .exponentBits = 8, .mantissaBits = 23, .bias = 127, .maxFinite = ieeeMax(8, 23, 127),
     .minNormal = pow2(-126), .minSubnormal = pow2(-149), .epsilon = pow2(-23), .hasInfinity = true,
     .hasNaN = true, .storageBits = 32, .tensorScale = ScaleFormat::none, .blockSize = 1,
     .blockScale = ScaleFormat::none, .colour = "#607d8b"},  // blue-grey
    {.precision = Precision::tf32, .name = "tf32", .family = FormatFamily::ieee, .totalBits = 32,
     .exponentBits = 8, .mantissaBits = 10, .bias = 127, .maxFinite = ieeeMax(8, 10, 127),
     .minNormal = pow2(-126), .minSubnormal = pow2(-136), .epsilon = pow2(-10), .hasInfinity = true,
     .hasNaN = true, .storageBits = 32, .tensorScale = ScaleFormat::none, .blockSize = 1,
     .blockScale = ScaleFormat::none, .colour = "#00897b"},  // teal
    {.precision = Precision::fp16, .name = "fp16", .family = FormatFamily::ieee, .totalBits = 16,
     .exponentBits = 5, .mantissaBits = 10, .bias = 15, .maxFinite = ieeeMax(5, 10, 15),
     .minNormal = pow2(-14), .minSubnormal = pow2(-24), .epsilon = pow2(-10), .hasInfinity = true,
     .hasNaN = true, .storageBits = 16, .tensorScale = ScaleFormat::none, .blockSize = 1,
     .blockScale = ScaleFormat::none, .colour = "#f57c00"},  // orange
    {.precision = Precision::bf16, .name = "bf16", .family = FormatFamily::ieee, .totalBits = 16,
     .exponentBits = 8, .mantissaBits = 7, .bias = 127, .maxFinite = ieeeMax(8, 7, 127),
     .minNormal = pow2(-126), .minSubnormal = pow2(-133), .epsilon = pow2(-7), .hasInfinity = true,
     .hasNaN = true, .storageBits = 16, .tensorScale = ScaleFormat::none, .blockSize = 1,
     .blockScale = ScaleFormat::none, .colour = "#7b1fa2"},  // purple
    // e4m3 (OCP "FN" variant): no inf; only S.1111.111 is NaN, so the top exponent
    // holds normal values and the largest is 1.75 * 2^8 = 448.
    {.precision = Precision::fp8_e4m3, .name = "fp8_e4m3", .family = FormatFamily::fp8, .totalBits = 8,
     .exponentBits = 4, .mantissaBits = 3, .bias = 7, .maxFinite = 448.0, .minNormal = pow2(-6),
     .minSubnormal = pow2(-9), .epsilon = pow2(-3), .hasInfinity = false, .hasNaN = true,
     .storageBits = 8, .tensorScale = ScaleFormat::fp32, .blockSize = 1, .blockScale = ScaleFormat::none,
     .colour = "#c62828"},  // red
    {.precision = Precision::fp8_e5m2, .name = "fp8_e5m2", .family = FormatFamily::fp8, .totalBits = 8,
     .exponentBits = 5, .mantissaBits = 2, .bias = 15, .maxFinite = ieeeMax(5, 2, 15),
     .minNormal = pow2(-14), .minSubnormal = pow2(-16), .epsilon = pow2(-2), .hasInfinity = true,
     .hasNaN = true, .storageBits = 8, .tensorScale = ScaleFormat::fp32, .blockSize = 1,
     .blockScale = ScaleFormat::none, .colour = "#ec407a"},  // pink
    // OCP Microscaling (MX v1.0): 32 consecutive elements share one e8m0 scale. The
    // element formats are OCP's: e4m3 and e5m2 as above; e3m2, e2m3 and e2m1 have no
    // inf or NaN (every pattern is a number); int8 is two's complement times 2^-6.
    {.precision = Precision::mxfp8_e4m3, .name = "mxfp8_e4m3", .family = FormatFamily::mx, .totalBits = 8,
     .exponentBits = 4, .mantissaBits = 3, .bias = 7, .maxFinite = 448.0, .minNormal = pow2(-6),
     .minSubnormal = pow2(-9), .epsilon = pow2(-3), .hasInfinity = false, .hasNaN = true,
     .storageBits = 8, .tensorScale = ScaleFormat::none, .blockSize = 32, .blockScale = ScaleFormat::e8m0,
     .colour = "#6d4c41"},  // brown
    {.precision = Precision::mxfp8_e5m2, .name = "mxfp8_e5m2", .family = FormatFamily::mx, .totalBits = 8,
     .exponentBits = 5, .mantissaBits = 2, .bias = 15, .maxFinite = ieeeMax(5, 2, 15),
     .minNormal = pow2(-14), .minSubnormal = pow2(-16), .epsilon = pow2(-2), .hasInfinity = true,
     .hasNaN = true, .storageBits = 8, .tensorScale = ScaleFormat::none, .blockSize = 32,
     .blockScale = ScaleFormat::e8m0, .colour = "#9e9d24"},  // olive
    {.precision = Precision::mxfp6_e3m2, .name = "mxfp6_e3m2", .family = FormatFamily::mx, .totalBits = 6,
     .exponentBits = 3, .mantissaBits = 2, .bias = 3, .maxFinite = 28.0, .minNormal = pow2(-2),
     .minSubnormal = pow2(-4), .epsilon = pow2(-2), .hasInfinity = false, .hasNaN = false,
     .storageBits = 6, .tensorScale = ScaleFormat::none, .blockSize = 32, .blockScale = ScaleFormat::e8m0,
     .colour = "#1e88e5"},  // blue
    {.precision = Precision::mxfp6_e2m3, .name = "mxfp6_e2m3", .family = FormatFamily::mx, .totalBits = 6,
     .exponentBits = 2, .mantissaBits = 3, .bias = 1, .maxFinite = 7.5, .minNormal = 1.0,
     .minSubnormal = pow2(-3), .epsilon = pow2(-3), .hasInfinity = false, .hasNaN = false,
     .storageBits = 6, .tensorScale = ScaleFormat::none, .blockSize = 32, .blockScale = ScaleFormat::e8m0,
     .colour = "#3949ab"},  // indigo
    {.precision = Precision::mxfp4, .name = "mxfp4", .family = FormatFamily::mx, .totalBits = 4,
     .exponentBits = 2, .mantissaBits = 1, .bias = 1, .maxFinite = 6.0, .minNormal = 1.0,
     .minSubnormal = 0.5, .epsilon = 0.5, .hasInfinity = false, .hasNaN = false, .storageBits = 4,
     .tensorScale = ScaleFormat::none, .blockSize = 32, .blockScale = ScaleFormat::e8m0,
     .colour = "#2e7d32"},  // green
    {.precision = Precision::mxint8, .name = "mxint8", .family = FormatFamily::mx, .totalBits = 8,
     .exponentBits = 0, .mantissaBits = 6, .bias = 0, .maxFinite = 127.0 / 64.0, .minNormal = pow2(-6),
     .minSubnormal = pow2(-6), .epsilon = pow2(-6), .hasInfinity = false, .hasNaN = false,
     .storageBits = 8, .tensorScale = ScaleFormat::none, .blockSize = 32, .blockScale = ScaleFormat::e8m0,
     .colour = "#f9a825"},  // amber
    // NVFP4: e2m1 elements in blocks of 16, each block with an e4m3 scale, and one fp32
    // scale per tensor that brings the block scales into e4m3's range.
    {.precision = Precision::nvfp4, .name = "nvfp4", .family = FormatFamily::nvfp4, .totalBits = 4,
     .exponentBits = 2, .mantissaBits = 1, .bias = 1, .maxFinite = 6.0, .minNormal = 1.0,
     .minSubnormal = 0.5, .epsilon = 0.5, .hasInfinity = false, .hasNaN = false, .storageBits = 4,
     .tensorScale = ScaleFormat::fp32, .blockSize = 16, .blockScale = ScaleFormat::fp8_e4m3,
     .colour = "#00acc1"},  // cyan
}};

constexpr bool formatsFollowEnumOrder() {
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    if (kFormats[i].precision != kAllPrecisions[i]) return false;
  }
  return kFormats.size() == kAllPrecisions.size();
}
static_assert(formatsFollowEnumOrder(), "kFormats must be indexed by Precision");

}  // namespace detail

constexpr const FormatInfo& formatInfo(Precision p) {
  const auto i = static_cast<std::size_t>(p);
  if (i >= detail::kFormats.size()) throwUnknownPrecision("formatInfo", p);
  return detail::kFormats[i];
}

// The one fp8 question: true for the formats whose tensors carry a delayed per-tensor
// scale and amax (fp8_e4m3, fp8_e5m2). The MX formats with fp8 elements are not fp8 here:
// their scale is per block and computed from the block itself.
constexpr bool isFp8(Precision p) { return formatInfo(p).family == FormatFamily::fp8; }

// True for the formats whose values are quantised a block at a time (OCP MX, NVFP4):
// numerics/block_format.h quantises them; the scalar conversions (convert.h) refuse them.
constexpr bool isBlockScaled(Precision p) { return formatInfo(p).blockSize > 1; }

namespace detail {
constexpr std::size_t countFormats(bool blockScaled) {
  std::size_t n = 0;
  for (const FormatInfo& f : kFormats) n += (f.blockSize > 1) == blockScaled ? 1 : 0;
  return n;
}
template <bool BlockScaled>
constexpr std::array<Precision, countFormats(BlockScaled)> formatsWhere() {
  std::array<Precision, countFormats(BlockScaled)> list{};
  std::size_t i = 0;
  for (const FormatInfo& f : kFormats) {
    if ((f.blockSize > 1) == BlockScaled) list[i++] = f.precision;
  }
  return list;
}
}  // namespace detail

// The case labels of every block-scaled format, for a switch that refuses them all alike
// (a scalar conversion, a kernel dispatch). A switch that treats them one by one lists
// them itself.
#define PLAB_BLOCK_SCALED_CASES                                                            \
  case ::plab::Precision::mxfp8_e4m3:                                                      \
  case ::plab::Precision::mxfp8_e5m2:                                                      \
  case ::plab::Precision::mxfp6_e3m2:                                                      \
  case ::plab::Precision::mxfp6_e2m3:                                                      \
  case ::plab::Precision::mxfp4:                                                           \
  case ::plab::Precision::mxint8:                                                          \
  case ::plab::Precision::nvfp4

// The formats whose values round one at a time (convert.h): every format a backend tensor
// holds today, and the ones a layer may use.
inline constexpr auto kScalarPrecisions = detail::formatsWhere<false>();
// The block-scaled formats, in table order.
inline constexpr auto kBlockPrecisions = detail::formatsWhere<true>();

// Bits of one scale in format s (0 for none).
constexpr int scaleBits(ScaleFormat s) {
  switch (s) {
    case ScaleFormat::none: return 0;
    case ScaleFormat::fp32: return 32;
    case ScaleFormat::e8m0: return 8;
    case ScaleFormat::fp8_e4m3: return 8;
  }
  throwUnknownScaleFormat("scaleBits", s);
}

// Bytes of one element in a backend's native storage, for code that addresses elements
// one by one (copies, reorders). std::invalid_argument for a format packed below a byte.
std::size_t elementBytes(Precision p);

// Bytes that n consecutive elements of a format occupy in a backend's native storage:
// the packed elements plus one block scale per (started) block. The per-tensor scale
// lives in its own slot (Backend::fp8Scale) and is not counted. Use this, never
// totalBits / 8. std::invalid_argument for n < 0.
std::size_t tensorBytes(Precision p, std::int64_t n);
std::size_t tensorBytes(const FormatInfo& f, std::int64_t n);

std::string_view toString(Precision p);
// Parses "fp16" etc.; std::nullopt for an unknown name.
std::optional<Precision> parsePrecision(std::string_view name);
// "fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2, mxfp8_e4m3, ...": every format, for error
// messages.
std::string allowedPrecisionNames();
// The same for the scalar formats only ("fp32, ..., fp8_e5m2").
std::string scalarPrecisionNames();
// The name of a scale format: "e8m0", "e4m3", "fp32" ("none" for none).
std::string_view toString(ScaleFormat s);

}  // namespace plab
