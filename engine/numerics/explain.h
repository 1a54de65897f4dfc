#pragma once
// What a format does to one value, field by field: the engine of `precisionlab-cli
// numbers` and of the GUI's Precision Explorer, so both show the same thing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "numerics/convert.h"
#include "numerics/precision.h"

namespace plab {

struct ValueExplanation {
  Precision precision;
  double input;          // the value asked about, as given (parsed to double)
  float inputFp32;       // input as an fp32 tensor would hold it: the conversion's input
  float value;           // inputFp32 rounded to the format (decode(encode(...)))
  std::uint32_t bits;    // the format's bit pattern of value
  ValueClass valueClass;
  std::uint32_t signField;
  std::uint32_t exponentField;
  std::uint32_t mantissaField;  // the explicit fraction bits
  int exponent;          // unbiased exponent of value (normal: field - bias; subnormal: 1 - bias); 0 for zero/inf/nan
  double absError;       // |value - input|: inf when a finite input became inf, nan for nan
  double relError;       // absError / |input|; 0 for an exact zero, inf for a nonzero result from 0
  std::string outcome;   // one phrase: "exact", "rounded", "underflow to zero", "overflow to inf", ...
  // Block-scaled formats: bits, class and fields are the value's element; value is the
  // element times its block's scale (NVFP4: and the tensor scale).
  int block = -1;        // the value's block (-1: not a block-scaled format)
  double element = 0;    // the element's own value, before the scale
};

// A block-scaled format (OCP MX, NVFP4; numerics/block_format.h): the value as the only
// value of its block. explainBlocks shows a list of values, block by block.
ValueExplanation explainValue(Precision p, double input);

// One block of a block-scaled format: its scale.
struct BlockScaleExplanation {
  std::size_t first = 0;      // index of its first value
  std::size_t count = 0;
  ScaleFormat format = ScaleFormat::e8m0;
  std::uint32_t bits = 0;     // the scale's pattern
  double value = 0;           // the scale's value (NaN for a NaN scale)
  double multiplier = 0;      // what each element is multiplied by: value (MX), value * tensor scale (NVFP4)
  double amax = 0;            // the block's largest input magnitude
  std::string note;           // why the scale is what it is, when that is not the plain rule ("" otherwise)
};

// What a block-scaled format does to values quantised as consecutive blocks, as a layer
// would quantise a row of its product's inputs.
struct BlockExplanation {
  Precision precision = Precision::mxfp4;
  bool hasTensorScale = false;  // NVFP4
  float tensorScale = 1.0f;     // NVFP4: the fp32 tensor scale
  double tensorAmax = 0;        // NVFP4: the amax it was chosen from (finite inputs)
  std::vector<BlockScaleExplanation> blocks;
  std::vector<ValueExplanation> values;  // one per input, in order
};

// std::invalid_argument when p is not block-scaled.
BlockExplanation explainBlocks(Precision p, const std::vector<double>& inputs);
// "mxfp4: e2m1 elements in blocks of 32, one e8m0 scale per block": one line.
std::string describeBlockFormat(Precision p);

// "0x2e66": hex of the bit pattern, as many digits as the format's storage bits (a 6-bit
// element: two).
std::string bitsHex(Precision p, std::uint32_t bits);
// "0x7f": a scale's pattern (e8m0, e4m3: two digits; fp32: eight).
std::string scaleBitsHex(ScaleFormat s, std::uint32_t bits);
// "0 01011 1001100110": sign, exponent and mantissa fields in binary (mxint8: the sign
// bit and the other seven bits of the two's complement integer).
std::string bitsFieldsBinary(const ValueExplanation& e);
// Shortest text that reads back as the same double ("0.0999755859375", "inf", "-0").
std::string formatNumber(double x);

}  // namespace plab
