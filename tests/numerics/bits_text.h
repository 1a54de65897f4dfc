#pragma once
// Test helpers: bit patterns as hex text, so failures print the numbers.
#include <QString>
#include <cstdint>
#include <cstring>

#include "numerics/convert_bits.h"

namespace plab::test {

// The engine's own bit casts, so tests and engine read bits one way.
using plab::detail::bitsOf;
using plab::detail::floatOf;

inline QString hex(std::uint32_t bits, int digits = 8) {
  return QStringLiteral("0x%1").arg(bits, digits, 16, QLatin1Char('0'));
}

// "0x3dcccccd (0.1)": an fp32 input with its bits.
inline QString describeFloat(float x) {
  return QStringLiteral("%1 (%2)").arg(hex(bitsOf(x))).arg(static_cast<double>(x), 0, 'g', 9);
}

}  // namespace plab::test
