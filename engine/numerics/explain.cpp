#include "numerics/explain.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "numerics/block_format.h"

namespace plab {
namespace {

// The fraction bits as stored: tf32 lives in an fp32 word, with its 10 bits at the top
// of fp32's 23-bit fraction.
int storedFractionBits(Precision p) {
  return p == Precision::tf32 ? 23 : formatInfo(p).mantissaBits;
}

void splitFields(ValueExplanation& e) {
  const FormatInfo& f = formatInfo(e.precision);
  if (f.exponentBits == 0) {  // mxint8: a two's complement integer, no exponent field
    e.signField = (e.bits >> (f.totalBits - 1)) & 1u;
    e.exponentField = 0;
    e.mantissaField = e.bits & ((1u << (f.totalBits - 1)) - 1u);
    e.exponent = 0;
    return;
  }
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

// The element name of a block-scaled format: "e2m1", "int8".
std::string elementName(const FormatInfo& f) {
  if (f.exponentBits == 0) return "int" + std::to_string(f.totalBits);
  return "e" + std::to_string(f.exponentBits) + "m" + std::to_string(f.mantissaBits);
}

std::string describeBlockOutcome(const ValueExplanation& e, const BlockScaleExplanation& block) {
  const FormatInfo& f = formatInfo(e.precision);
  if (std::isnan(block.value)) {
    if (std::isnan(e.input)) return "nan stays nan";
    if (std::isinf(e.inputFp32)) return "inf: its block's scale is nan";
    return "nan: its block holds nan or inf";
  }
  if (e.input == 0.0) return "exact";
  if (e.value == 0.0f) return "underflow to zero";
  if (block.multiplier > 0 && std::fabs(double(e.inputFp32)) / block.multiplier > f.maxFinite) {
    return "saturated to the largest element";
  }
  if (double(e.value) == e.input) return "exact";
  if (e.valueClass == ValueClass::subnormal) return "rounded (subnormal element)";
  return "rounded";
}

std::string blockScaleNote(Precision p, const BlockScaleRecord& r) {
  const FormatInfo& f = formatInfo(p);
  if (std::isnan(r.scale)) {
    return "nan: the block holds nan or inf, so every value of the block is nan";
  }
  if (f.family == FormatFamily::nvfp4) {
    if (r.scale == 0) return "0: the block's amax / (6 x tensor scale) is below half of e4m3's smallest value, "
                             "so the block is zeros";
    if (r.steppedDown) return "stepped down one e4m3 value, so that the block's largest value is element 6 "
                              "(quantising again gives the same bits)";
    return "";
  }
  if (r.amax == 0) return "an all-zero block: the smallest e8m0 scale, 2^-127";
  int exponent = 0;
  std::frexp(r.amax, &exponent);
  if (exponent - 1 - elementMaxExponent(p) < kE8m0MinExponent) {
    return "floor(log2 amax) - " + std::to_string(elementMaxExponent(p)) +
           " is below -127: clamped to the smallest e8m0 scale";
  }
  return "";
}

}  // namespace

BlockExplanation explainBlocks(Precision p, const std::vector<double>& inputs) {
  if (!isBlockScaled(p)) {
    throw std::invalid_argument("explainBlocks: " + std::string(toString(p)) +
                                " is not a block-scaled format (use explainValue)");
  }
  const FormatInfo& f = formatInfo(p);
  std::vector<float> fp32(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) fp32[i] = static_cast<float>(inputs[i]);
  const BlockQuantisation q = quantiseBlocks(p, fp32);
  BlockExplanation out;
  out.precision = p;
  out.hasTensorScale = f.tensorScale != ScaleFormat::none;
  out.tensorScale = q.tensorScale;
  out.tensorAmax = q.tensorAmax;
  for (std::size_t b = 0; b < q.blocks.size(); ++b) {
    const BlockScaleRecord& r = q.blocks[b];
    BlockScaleExplanation block;
    block.first = r.first;
    block.count = r.count;
    block.format = f.blockScale;
    block.bits = r.scaleBits;
    block.value = r.scale;
    block.multiplier = out.hasTensorScale ? r.scale * double(q.tensorScale) : r.scale;
    block.amax = r.amax;
    block.note = blockScaleNote(p, r);
    for (std::size_t i = r.first; i < r.first + r.count; ++i) {
      ValueExplanation e{};
      e.precision = p;
      e.input = inputs[i];
      e.inputFp32 = fp32[i];
      e.value = q.values[i];
      e.bits = q.elementBits[i];
      e.valueClass = std::isnan(r.scale) ? ValueClass::nan : classifyElement(p, e.bits);
      e.block = static_cast<int>(b);
      e.element = decodeElement(p, e.bits);
      splitFields(e);
      measureError(e);
      e.outcome = describeBlockOutcome(e, block);
      out.values.push_back(e);
    }
    out.blocks.push_back(block);
  }
  return out;
}

std::string describeBlockFormat(Precision p) {
  const FormatInfo& f = formatInfo(p);
  if (!isBlockScaled(p)) return std::string(f.name) + ": one value at a time, no block scale";
  const double bitsPerValue = 8.0 * double(tensorBytes(f, f.blockSize)) / f.blockSize;
  std::string text = std::string(f.name) + ": " + elementName(f) + " elements in blocks of " +
                     std::to_string(f.blockSize) + ", one " + std::string(toString(f.blockScale)) +
                     " scale per block";
  if (f.tensorScale != ScaleFormat::none) {
    text += " and one " + std::string(toString(f.tensorScale)) + " scale per tensor";
  }
  return text + ": " + formatNumber(bitsPerValue) + " bits per value";
}

ValueExplanation explainValue(Precision p, double input) {
  if (isBlockScaled(p)) return explainBlocks(p, {input}).values.front();
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
  const int digits = (formatInfo(p).totalBits + 3) / 4;
  std::string text = "0x";
  for (int i = digits - 1; i >= 0; --i) text += kDigits[(bits >> (4 * i)) & 0xFu];
  return text;
}

std::string scaleBitsHex(ScaleFormat s, std::uint32_t bits) {
  static const char* const kDigits = "0123456789abcdef";
  const int digits = scaleBits(s) / 4;
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
  if (f.exponentBits == 0) return binary(e.signField, 1) + " " + binary(e.mantissaField, f.totalBits - 1);
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
