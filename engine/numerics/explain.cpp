#include "numerics/explain.h"

#include <charconv>
#include <cmath>

namespace plab {
namespace {

// The fraction bits as stored: tf32 lives in an fp32 word, with its 10 bits at the top
// of fp32's 23-bit fraction.
int storedFractionBits(Precision p) {
  return p == Precision::tf32 ? 23 : formatInfo(p).mantissaBits;
}

void splitFields(ValueExplanation& e) {
  const FormatInfo& f = formatInfo(e.precision);
  const int fractionBits = storedFractionBits(e.precision);
  const int unusedBits = fractionBits - f.mantissaBits;  // 13 for tf32, 0 otherwise
  e.signField = (e.bits >> (fractionBits + f.exponentBits)) & 1u;
  e.exponentField = (e.bits >> fractionBits) & ((1u << f.exponentBits) - 1u);
  e.mantissaField = (e.bits >> unusedBits) & ((1u << f.mantissaBits) - 1u);
  switch (e.valueClass) {
    case ValueClass::normal: e.exponent = static_cast<int>(e.exponentField) - f.bias; break;
    case ValueClass::subnormal: e.exponent = 1 - f.bias; break;
    case ValueClass::zero:
    case ValueClass::inf:
    case ValueClass::nan: e.exponent = 0; break;
  }
}

void measureError(ValueExplanation& e) {
  const double value = e.value;
  if (std::isnan(e.input) || std::isnan(value)) {
    e.absError = e.relError = std::nan("");
  } else if (std::isinf(e.input) || std::isinf(value)) {
    e.absError = value == e.input ? 0.0 : INFINITY;
    e.relError = e.absError;
  } else {
    e.absError = std::fabs(value - e.input);
    if (e.input != 0.0) {
      e.relError = e.absError / std::fabs(e.input);
    } else {
      e.relError = e.absError == 0.0 ? 0.0 : INFINITY;
    }
  }
}

std::string describeOutcome(const ValueExplanation& e) {
  const FormatInfo& f = formatInfo(e.precision);
  const double in = e.input;
  const double out = e.value;
  if (std::isnan(in)) return "nan stays nan";
  if (std::isnan(out)) return "nan";
  if (std::isinf(in)) return std::isinf(out) ? "exact" : "inf saturated to max finite";
  if (in != 0.0 && out == 0.0) return "underflow to zero";
  if (std::isinf(out)) return "overflow to inf";
  if (std::fabs(in) > f.maxFinite && std::fabs(out) == f.maxFinite) {
    return "saturated to max finite";
  }
  if (out == in) return "exact";
  if (e.valueClass == ValueClass::subnormal) return "rounded (subnormal)";
  return "rounded";
}

}  // namespace

ValueExplanation explainValue(Precision p, double input) {
  ValueExplanation e{};
  e.precision = p;
  e.input = input;
  e.inputFp32 = static_cast<float>(input);
  e.bits = encode(p, e.inputFp32);
  e.value = decode(p, e.bits);
  e.valueClass = classify(p, e.bits);
  splitFields(e);
  measureError(e);
  e.outcome = describeOutcome(e);
  return e;
}

std::string bitsHex(Precision p, std::uint32_t bits) {
  static const char* const kDigits = "0123456789abcdef";
  const int digits = formatInfo(p).totalBits / 4;
  std::string text = "0x";
  for (int i = digits - 1; i >= 0; --i) text += kDigits[(bits >> (4 * i)) & 0xFu];
  return text;
}

std::string bitsFieldsBinary(const ValueExplanation& e) {
  const FormatInfo& f = formatInfo(e.precision);
  auto binary = [](std::uint32_t v, int width) {
    std::string s;
    for (int i = width - 1; i >= 0; --i) s += ((v >> i) & 1u) ? '1' : '0';
    return s;
  };
  return binary(e.signField, 1) + " " + binary(e.exponentField, f.exponentBits) + " " +
         binary(e.mantissaField, f.mantissaBits);
}

std::string formatNumber(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x);
  return std::string(buffer, result.ptr);
}

}  // namespace plab
