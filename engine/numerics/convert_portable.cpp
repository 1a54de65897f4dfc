// The portable array path: plain loops over the scalar rules, valid on any CPU.
#include "numerics/convert_kernels.h"

#include <array>
#include <cfloat>
#include <vector>

#include "numerics/convert.h"
#include "numerics/convert_bits.h"

namespace plab::detail {
namespace {

// The format is a template argument so that its constants fold into the loop body.
template <const SmallFormatRounding& F>
void roundSmall(const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = floatOf(roundToSmallFormatBits(bitsOf(in[i]), F));
}

// The subnormal trick in roundToSmallFormatBits needs fp32 arithmetic done in fp32
// (FLT_EVAL_METHOD 0: SSE, NEON...), not in x87 extended precision.
constexpr bool kFloatArithmeticIsFp32 = FLT_EVAL_METHOD == 0;

template <const SmallFormatRounding& F>
void roundSmallOrReference(Precision p, const float* in, float* out, std::size_t n) {
  if constexpr (kFloatArithmeticIsFp32) {
    roundSmall<F>(in, out, n);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = roundTo(p, in[i]);
  }
}

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
    case Precision::fp16: roundSmallOrReference<kFp16Rounding>(p, in, out, n); return;
    case Precision::fp8_e4m3: roundSmallOrReference<kFp8E4m3Rounding>(p, in, out, n); return;
    case Precision::fp8_e5m2: roundSmallOrReference<kFp8E5m2Rounding>(p, in, out, n); return;
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("roundArray (portable)", p);
  }
  throwUnknownPrecision("roundArray (portable)", p);
}

// Round, then take the code of the rounded value: both steps branch-free.
template <typename Code, const SmallFormatRounding& F, int Bias, bool IsFp16>
void encodeSmall(Precision p, const float* in, Code* out, std::size_t n) {
  if constexpr (kFloatArithmeticIsFp32) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t rounded = roundToSmallFormatBits(bitsOf(in[i]), F);
      out[i] = static_cast<Code>(smallCodeOfRoundedBits<F, Bias, IsFp16>(rounded));
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Code>(encode(p, in[i]));
  }
}

void encode16Portable(Precision p, const float* in, std::uint16_t* out, std::size_t n) {
  if (p == Precision::bf16) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint16_t>(bf16Bits(bitsOf(in[i])));
    return;
  }
  encodeSmall<std::uint16_t, kFp16Rounding, 15, true>(p, in, out, n);
}

// fp16 decoding by a 65,536-entry table (256 KiB, built on first use from the scalar
// reference): exact by construction and far faster than decoding field by field.
const std::vector<float>& fp16Table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (std::uint32_t code = 0; code < t.size(); ++code) t[code] = decode(Precision::fp16, code);
    return t;
  }();
  return table;
}

void decode16Portable(Precision p, const std::uint16_t* in, float* out, std::size_t n) {
  if (p == Precision::bf16) {
    for (std::size_t i = 0; i < n; ++i) out[i] = floatOf(static_cast<std::uint32_t>(in[i]) << 16);
    return;
  }
  const float* table = fp16Table().data();
  for (std::size_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

void encode8Portable(Precision p, const float* in, std::uint8_t* out, std::size_t n) {
  if (p == Precision::fp8_e4m3) {
    encodeSmall<std::uint8_t, kFp8E4m3Rounding, 7, false>(p, in, out, n);
  } else {
    encodeSmall<std::uint8_t, kFp8E5m2Rounding, 15, false>(p, in, out, n);
  }
}

using Fp8Table = std::array<float, 256>;

Fp8Table buildFp8Table(Precision p) {
  Fp8Table table{};
  for (std::uint32_t code = 0; code < 256; ++code) table[code] = decode(p, code);
  return table;
}

}  // namespace

void decode8ByTable(Precision p, const std::uint8_t* in, float* out, std::size_t n) {
  static const Fp8Table e4m3 = buildFp8Table(Precision::fp8_e4m3);
  static const Fp8Table e5m2 = buildFp8Table(Precision::fp8_e5m2);
  const float* table = p == Precision::fp8_e4m3 ? e4m3.data() : e5m2.data();
  for (std::size_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

const ArrayKernels& portableKernels() {
  static const ArrayKernels kernels{"portable", roundPortable, encode16Portable,
                                    decode16Portable, encode8Portable, decode8ByTable};
  return kernels;
}

}  // namespace plab::detail
