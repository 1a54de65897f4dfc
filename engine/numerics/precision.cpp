#include "numerics/precision.h"

#include <stdexcept>

namespace plab {

void throwUnknownPrecision(const char* where, Precision p) {
  throw std::invalid_argument(std::string(where) + ": unknown precision value " +
                              std::to_string(static_cast<int>(p)) + " (known: " + allowedPrecisionNames() + ")");
}

void throwUnknownScaleFormat(const char* where, ScaleFormat s) {
  throw std::invalid_argument(std::string(where) + ": unknown scale format value " +
                              std::to_string(static_cast<int>(s)));
}

void throwBlockScaled(const char* where, Precision p) {
  const FormatInfo& f = formatInfo(p);
  throw std::invalid_argument(std::string(where) + ": " + std::string(f.name) +
                              " is a block-scaled format (blocks of " + std::to_string(f.blockSize) +
                              " values share one " + std::string(toString(f.blockScale)) +
                              " scale): its values are quantised a block at a time "
                              "(numerics/block_format.h), not one by one");
}

std::size_t elementBytes(Precision p) {
  const FormatInfo& f = formatInfo(p);
  if (f.storageBits % 8 != 0) {
    throw std::invalid_argument("elementBytes: " + std::string(f.name) + " packs " + std::to_string(f.storageBits) +
                                "-bit elements, which have no byte of their own (use tensorBytes)");
  }
  return static_cast<std::size_t>(f.storageBits / 8);
}

std::size_t tensorBytes(const FormatInfo& f, std::int64_t n) {
  if (n < 0) {
    throw std::invalid_argument("tensorBytes: " + std::string(f.name) + " tensor of " + std::to_string(n) +
                                " elements");
  }
  if (f.blockSize < 1) {
    throw std::invalid_argument("tensorBytes: " + std::string(f.name) + " has block size " +
                                std::to_string(f.blockSize) + " (1 means no block scale)");
  }
  const auto count = static_cast<std::uint64_t>(n);
  // Packed elements end on a whole byte; a started block keeps its whole scale.
  const std::uint64_t elementBits = count * static_cast<std::uint64_t>(f.storageBits);
  const std::uint64_t blocks =
      f.blockSize == 1 ? 0 : (count + static_cast<std::uint64_t>(f.blockSize) - 1) / static_cast<std::uint64_t>(f.blockSize);
  const std::uint64_t scaleBitsTotal = blocks * static_cast<std::uint64_t>(scaleBits(f.blockScale));
  return static_cast<std::size_t>((elementBits + 7) / 8 + (scaleBitsTotal + 7) / 8);
}

std::size_t tensorBytes(Precision p, std::int64_t n) { return tensorBytes(formatInfo(p), n); }

std::string_view toString(Precision p) { return formatInfo(p).name; }

std::optional<Precision> parsePrecision(std::string_view name) {
  for (const FormatInfo& f : detail::kFormats) {
    if (f.name == name) return f.precision;
  }
  return std::nullopt;
}

std::string allowedPrecisionNames() {
  std::string names;
  for (const FormatInfo& f : detail::kFormats) {
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names;
}

std::string scalarPrecisionNames() {
  std::string names;
  for (Precision p : kScalarPrecisions) {
    if (!names.empty()) names += ", ";
    names += toString(p);
  }
  return names;
}

std::string_view toString(ScaleFormat s) {
  switch (s) {
    case ScaleFormat::none: return "none";
    case ScaleFormat::fp32: return "fp32";
    case ScaleFormat::e8m0: return "e8m0";
    case ScaleFormat::fp8_e4m3: return "e4m3";
  }
  throwUnknownScaleFormat("toString(ScaleFormat)", s);
}

}  // namespace plab
