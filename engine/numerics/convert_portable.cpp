// The portable array path: plain loops over the scalar rules, valid on any CPU.
#include "numerics/convert_kernels.h"

#include "numerics/convert.h"
#include "numerics/convert_bits.h"

namespace plab::detail {
namespace {

void roundPortable(Precision p, const float* in, float* out, std::size_t n) {
  switch (p) {
    case Precision::fp32:
      if (in != out) {
        for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
      }
      return;
    case Precision::tf32:
      for (std::size_t i = 0; i < n; ++i) out[i] = floatOf(tf32Bits(bitsOf(in[i])));
      return;
    case Precision::bf16:
      for (std::size_t i = 0; i < n; ++i) out[i] = floatOf(bf16Bits(bitsOf(in[i])) << 16);
      return;
    default:
      for (std::size_t i = 0; i < n; ++i) out[i] = roundTo(p, in[i]);
      return;
  }
}

void encode16Portable(Precision p, const float* in, std::uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint16_t>(encode(p, in[i]));
}

void decode16Portable(Precision p, const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = decode(p, in[i]);
}

void encode8Portable(Precision p, const float* in, std::uint8_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(encode(p, in[i]));
}

void decode8Portable(Precision p, const std::uint8_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = decode(p, in[i]);
}

}  // namespace

const ArrayKernels& portableKernels() {
  static const ArrayKernels kernels{"portable", roundPortable, encode16Portable,
                                    decode16Portable, encode8Portable, decode8Portable};
  return kernels;
}

}  // namespace plab::detail
