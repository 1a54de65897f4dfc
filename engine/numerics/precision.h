#pragma once
// The numeric formats a layer can use, and the facts about each one.
// One source of truth: names, bit layouts and limits are defined here only.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plab {

enum class Precision : std::uint8_t { fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2 };

inline constexpr std::array<Precision, 6> kAllPrecisions = {
    Precision::fp32, Precision::tf32, Precision::fp16,
    Precision::bf16, Precision::fp8_e4m3, Precision::fp8_e5m2};

// What a teacher needs to know about a format.
struct FormatInfo {
  Precision precision;
  std::string_view name;      // "fp16": the spelling used in files, the CLI and the GUI
  int totalBits;              // storage bits (tf32 is stored in 32, of which 19 carry information)
  int exponentBits;
  int mantissaBits;           // explicit fraction bits
  int bias;
  double maxFinite;
  double minNormal;
  double minSubnormal;
  double epsilon;             // 2^-mantissaBits: the gap between 1 and the next value
  bool hasInfinity;           // false for fp8_e4m3 (it saturates / has only NaN)
  std::string_view colour;    // "#rrggbb", the colour of this precision everywhere in the app
};

const FormatInfo& formatInfo(Precision p);
std::string_view toString(Precision p);
// Parses "fp16" etc.; std::nullopt for an unknown name.
std::optional<Precision> parsePrecision(std::string_view name);
// "fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2": for error messages.
std::string allowedPrecisionNames();

}  // namespace plab
