// Array conversions: argument checks here, then the kernel set chosen for this CPU.
#include <atomic>
#include <stdexcept>
#include <string>

#include "numerics/convert.h"
#include "numerics/convert_kernels.h"

namespace plab {
namespace {

// Every set this CPU runs, best first, portable last; asked once.
const std::vector<const detail::ArrayKernels*>& supportedKernels() {
  static const std::vector<const detail::ArrayKernels*> sets = [] {
    std::vector<const detail::ArrayKernels*> all = detail::x86KernelSets();
    all.push_back(&detail::portableKernels());
    return all;
  }();
  return sets;
}

// The set forced by a test or benchmark, or nullptr for the automatic (best) choice.
std::atomic<const detail::ArrayKernels*> gForcedKernels{nullptr};

const detail::ArrayKernels& kernels() {
  const detail::ArrayKernels* forced = gForcedKernels.load(std::memory_order_relaxed);
  return forced ? *forced : *supportedKernels().front();
}

void requireStorageBits(const char* function, Precision p, int bits) {
  if (isBlockScaled(p)) throwBlockScaled(function, p);
  if (formatInfo(p).storageBits != bits) {
    throw std::invalid_argument(std::string(function) + ": " + std::string(toString(p)) +
                                " is not a " + std::to_string(bits) + "-bit format");
  }
}

}  // namespace

void roundArray(Precision p, const float* in, float* out, std::size_t n) {
  if (isBlockScaled(p)) throwBlockScaled("roundArray", p);
  kernels().round(p, in, out, n);
}

void encodeArray16(Precision p, const float* in, std::uint16_t* out, std::size_t n) {
  requireStorageBits("encodeArray16", p, 16);
  kernels().encode16(p, in, out, n);
}

void decodeArray16(Precision p, const std::uint16_t* in, float* out, std::size_t n) {
  requireStorageBits("decodeArray16", p, 16);
  kernels().decode16(p, in, out, n);
}

void encodeArray8(Precision p, const float* in, std::uint8_t* out, std::size_t n) {
  requireStorageBits("encodeArray8", p, 8);
  kernels().encode8(p, in, out, n);
}

void decodeArray8(Precision p, const std::uint8_t* in, float* out, std::size_t n) {
  requireStorageBits("decodeArray8", p, 8);
  kernels().decode8(p, in, out, n);
}

const char* conversionPathName() { return kernels().name; }

void forcePortableConversion(bool portable) {
  gForcedKernels.store(portable ? &detail::portableKernels() : nullptr,
                       std::memory_order_relaxed);
}

std::vector<std::string> availableConversionPaths() {
  std::vector<std::string> names;
  for (const detail::ArrayKernels* k : supportedKernels()) names.emplace_back(k->name);
  return names;
}

bool forceConversionPath(std::string_view name) {
  if (name.empty()) {
    gForcedKernels.store(nullptr, std::memory_order_relaxed);
    return true;
  }
  for (const detail::ArrayKernels* k : supportedKernels()) {
    if (name == k->name) {
      gForcedKernels.store(k, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

}  // namespace plab
