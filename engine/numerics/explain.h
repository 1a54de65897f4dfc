#pragma once
// What a format does to one value, field by field: the engine of `precisionlab-cli
// numbers` and of the GUI's Precision Explorer, so both show the same thing.
#include <cstdint>
#include <string>

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
};

ValueExplanation explainValue(Precision p, double input);

// "0x2e66": hex of the bit pattern, as many digits as the format's storage bits.
std::string bitsHex(Precision p, std::uint32_t bits);
// "0 01011 1001100110": sign, exponent and mantissa fields in binary.
std::string bitsFieldsBinary(const ValueExplanation& e);
// Shortest text that reads back as the same double ("0.0999755859375", "inf", "-0").
std::string formatNumber(double x);

}  // namespace plab
