#pragma once
// Test helpers: bit patterns as hex text, so failures print the numbers.
#include <QString>
#include <cstdint>
#include <cstring>

namespace plab::test {

inline std::uint32_t bitsOf(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float floatOf(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

inline QString hex(std::uint32_t bits, int digits = 8) {
  return QStringLiteral("0x%1").arg(bits, digits, 16, QLatin1Char('0'));
}

// "0x3dcccccd (0.1)": an fp32 input with its bits.
inline QString describeFloat(float x) {
  return QStringLiteral("%1 (%2)").arg(hex(bitsOf(x))).arg(static_cast<double>(x), 0, 'g', 9);
}

}  // namespace plab::test
