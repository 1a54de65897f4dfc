// The Backend operations with a host implementation that any backend can use: block
// quantisation of a product's operand and stochastic rounding (backend.h). They read the
// tensor's logical values, work in fp32 on the host and write the result back, so every
// backend gives the CPU reference's bits.
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/stochastic_array.h"

namespace plab {

std::string_view toString(Rounding r) {
  switch (r) {
    case Rounding::nearest: return "nearest";
    case Rounding::stochastic: return "stochastic";
  }
  throw std::invalid_argument("toString: unknown Rounding " + std::to_string(int(r)));
}

void Backend::blockQuantise(const Tensor& src, Tensor& dst, Precision format, BlockLayout layout) {
  if (!isBlockScaled(format)) {
    throw std::invalid_argument("blockQuantise: " + std::string(toString(format)) + " is not a block-scaled format");
  }
  if (dst.precision() != Precision::fp32 || !(dst.shape() == src.shape())) {
    throw std::invalid_argument("blockQuantise: the destination must be fp32 " + src.shape().toString() + ", not " +
                                std::string(toString(dst.precision())) + " " + dst.shape().toString());
  }
  const auto n = static_cast<std::size_t>(src.numel());
  if (n == 0) return;
  const auto rows = static_cast<std::size_t>(src.shape().dims.empty() ? 1 : src.shape().dims[0]);
  std::vector<float> values(n);
  download(src, values.data());
  quantiseDequantiseMatrix(format, layout, values.data(), values.data(), rows, n / rows);
  upload(values.data(), dst);
}

void Backend::convertStochastic(const Tensor& src, Tensor& dst, std::uint64_t seed, std::uint64_t step) {
  const Precision p = dst.precision();
  if (isFp8(p) || isBlockScaled(p)) {
    throw std::invalid_argument("convertStochastic: rounds into fp32, tf32, fp16 or bf16, not " +
                                std::string(toString(p)));
  }
  if (!(dst.shape() == src.shape())) {
    throw std::invalid_argument("convertStochastic: shapes " + src.shape().toString() + " and " +
                                dst.shape().toString() + " differ");
  }
  const auto n = static_cast<std::size_t>(src.numel());
  std::vector<float> values(n);
  download(src, values.data());
  roundStochasticArray(p, values.data(), values.data(), n, counterStream(seed, step));
  upload(values.data(), dst);  // exact: every value is already one of p's
}

}  // namespace plab
