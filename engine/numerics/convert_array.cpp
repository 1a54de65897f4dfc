// Array conversions: argument checks here, then the kernel set chosen for this CPU.
#include <atomic>
#include <stdexcept>
#include <string>

#include "numerics/convert.h"
#include "numerics/convert_kernels.h"

namespace plab {
namespace {

const detail::ArrayKernels& bestKernels() {
  static const detail::ArrayKernels* best = [] {
    const detail::ArrayKernels* x86 = detail::x86Kernels();
    return x86 ? x86 : &detail::portableKernels();
  }();
  return *best;
}

std::atomic<bool> gForcePortable{false};

const detail::ArrayKernels& kernels() {
  return gForcePortable.load(std::memory_order_relaxed) ? detail::portableKernels()
                                                        : bestKernels();
}

void requireStorageBits(const char* function, Precision p, int bits) {
  if (formatInfo(p).totalBits != bits) {
    throw std::invalid_argument(std::string(function) + ": " + std::string(toString(p)) +
                                " is not a " + std::to_string(bits) + "-bit format");
  }
}

}  // namespace

void roundArray(Precision p, const float* in, float* out, std::size_t n) {
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
  gForcePortable.store(portable, std::memory_order_relaxed);
}

}  // namespace plab
