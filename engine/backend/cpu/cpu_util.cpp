#include "backend/cpu/cpu_util.h"

#include <cmath>

namespace plab::cpu {

void roundInto(const Tensor& t, float* v, std::size_t n) {
  const Precision p = t.precision();
  if (p == Precision::fp32) return;
  if (isFp8(p)) {
    // Delayed scaling: amax of the values before quantisation, as Transformer Engine
    // records it; the history is folded into a new scale by updateFp8Scales.
    float amax = *t.amax();
    const float scale = *t.scale();
    for (std::size_t i = 0; i < n; ++i) {
      const float a = std::fabs(v[i]);
      amax = a > amax ? a : amax;  // NaN never wins
      v[i] *= scale;
    }
    *t.amax() = amax;
  }
  roundArray(p, v, v, n);
}

void decodeInPlace(Tensor& t) {
  if (!isFp8(t.precision())) return;
  float* v = slots(t);
  const float scale = *t.scale();
  const std::size_t n = static_cast<std::size_t>(t.numel());
  for (std::size_t i = 0; i < n; ++i) v[i] /= scale;
}

const float* logicalValues(const Tensor& t, float* buffer) {
  if (!isFp8(t.precision())) return slots(t);
  const float* s = slots(t);
  const float scale = *t.scale();
  const std::size_t n = static_cast<std::size_t>(t.numel());
  for (std::size_t i = 0; i < n; ++i) buffer[i] = s[i] / scale;
  return buffer;
}

[[noreturn]] void fail(const char* op, const std::string& message) {
  throw std::invalid_argument(std::string("cpu backend ") + op + ": " + message);
}

void requireDefined(const char* op, const char* what, const Tensor& t) {
  if (!t.defined()) fail(op, std::string(what) + " is undefined");
}

void requireShape(const char* op, const char* what, const Tensor& t, const Shape& expected) {
  requireDefined(op, what, t);
  if (!(t.shape() == expected))
    fail(op, std::string(what) + " has shape " + t.shape().toString() + ", expected " + expected.toString());
}

void requireNumel(const char* op, const char* what, const Tensor& t, std::int64_t expected) {
  requireDefined(op, what, t);
  if (t.numel() != expected)
    fail(op, std::string(what) + " has shape " + t.shape().toString() + " (" + std::to_string(t.numel()) +
                 " elements), expected " + std::to_string(expected) + " elements");
}

}  // namespace plab::cpu
