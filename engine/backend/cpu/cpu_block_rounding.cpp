// CpuBackend: block quantisation of a product's operand and stochastic rounding, on the
// tensors' fp32 slots (backend.h gives the contract; the host default in
// backend_host_ops.cpp gives the same values through copies).
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"
#include "backend/stochastic_array.h"

namespace plab {
using namespace cpu;

void CpuBackend::blockQuantise(const Tensor& src, Tensor& dst, Precision format, BlockLayout layout) {
  if (!isBlockScaled(format)) fail("blockQuantise", std::string(toString(format)) + " is not a block-scaled format");
  if (dst.precision() != Precision::fp32) fail("blockQuantise", "the destination must be fp32");
  requireShape("blockQuantise", "dst", dst, src.shape());
  const auto n = static_cast<std::size_t>(src.numel());
  if (n == 0) return;
  const auto rows = static_cast<std::size_t>(src.shape().dims.empty() ? 1 : src.shape().dims[0]);
  std::vector<float> decoded;
  if (isFp8(src.precision())) decoded.resize(n);
  const float* values = logicalValues(src, decoded.data());
  quantiseDequantiseMatrix(format, layout, values, slots(dst), rows, n / rows);
}

void CpuBackend::convertStochastic(const Tensor& src, Tensor& dst, std::uint64_t seed, std::uint64_t step) {
  const Precision p = dst.precision();
  if (isFp8(p) || isBlockScaled(p)) {
    fail("convertStochastic", "rounds into fp32, tf32, fp16 or bf16, not " + std::string(toString(p)));
  }
  requireShape("convertStochastic", "dst", dst, src.shape());
  const auto n = static_cast<std::size_t>(src.numel());
  std::vector<float> decoded;
  if (isFp8(src.precision())) decoded.resize(n);
  const float* values = logicalValues(src, decoded.data());
  const std::uint64_t stream = counterStream(seed, step);
  roundStochasticArray(p, values, slots(dst), n, stream);
}

}  // namespace plab
