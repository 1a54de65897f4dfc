// CpuBackend: identity, memory, conversion, statistics, timing.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_stats.h"
#include "backend/cpu/cpu_util.h"
#include "backend/cpu/openblas_core.h"

namespace plab {

using namespace cpu;

namespace {

std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) break;
    auto name = line.substr(colon + 1);
    name.erase(0, name.find_first_not_of(" \t"));
    return name;
  }
  return "unknown CPU";
}

class WallTimer final : public Backend::Timer {
 public:
  void start() override { begin_ = Clock::now(); }
  void stop() override { end_ = Clock::now(); }
  double milliseconds() override { return std::chrono::duration<double, std::milli>(end_ - begin_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point begin_{}, end_{};
};

}  // namespace

CpuBackend::CpuBackend() : scratch_(8) { ensureOpenBlasKernel(); }

bool CpuBackend::supportsAccumulation(Precision format, ProductKind kind, std::string& whyNot) const {
  (void)kind;  // matrix products and convolutions alike
  if (format == Precision::fp32 || format == Precision::fp16 || format == Precision::bf16) return true;
  whyNot = "the cpu backend accumulates products in fp32, fp16 or bf16, not " + std::string(toString(format));
  return false;
}

BackendInfo CpuBackend::info() const {
  BackendInfo i;
  i.name = "cpu";
  i.device = cpuModelName() + " (" + std::to_string(std::thread::hardware_concurrency()) + " threads)";
  i.details = std::string(openblas_get_config()) + ", " + std::to_string(openblas_get_num_threads()) +
              " BLAS threads; " + ensureOpenBlasKernel() + "; conversions: " + conversionPathName();
  return i;
}

float* CpuBackend::scratch(int slot, std::size_t n) {
  auto& buffer = scratch_.at(static_cast<std::size_t>(slot));
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

Tensor CpuBackend::empty(const Shape& shape, Precision precision) {
  for (auto d : shape.dims)
    if (d < 0) fail("empty", "negative dimension in shape " + shape.toString());
  if (isBlockScaled(precision)) {
    fail("empty", std::string(toString(precision)) + " is block-scaled: no tensor holds it (a block-scaled layer keeps "
                  "bf16 tensors and quantises its products' inputs, docs/architecture.md)");
  }
  // 64-byte aligned fp32 slots (one cache line, one AVX-512 vector); never size 0
  // so that an empty tensor is still defined().
  const std::size_t bytes = std::max<std::size_t>(64, (static_cast<std::size_t>(shape.numel()) * 4 + 63) / 64 * 64);
  void* raw = std::aligned_alloc(64, bytes);
  if (!raw) throw std::bad_alloc();
  std::shared_ptr<void> storage(raw, [](void* p) { std::free(p); });
  if (isFp8(precision))
    return Tensor(this, storage, shape, precision, std::make_shared<float>(1.0f), std::make_shared<float>(0.0f));
  return Tensor(this, storage, shape, precision);
}

// The CPU backend's scale and amax are host floats: reading them needs no wait.
float CpuBackend::fp8Scale(const Tensor& t) { return t.scale() ? *t.scale() : 1.0f; }
float CpuBackend::fp8Amax(const Tensor& t) { return t.amax() ? *t.amax() : 0.0f; }

void CpuBackend::setFp8Scale(Tensor& t, float scale) {
  requireDefined("setFp8Scale", "tensor", t);
  if (!t.scale())
    fail("setFp8Scale", "tensor " + t.shape().toString() + " is " + std::string(toString(t.precision())) +
                            ", only fp8 tensors have a scale");
  if (!(scale > 0.0f) || !std::isfinite(scale))
    fail("setFp8Scale", "scale " + std::to_string(scale) + " is not a finite number > 0");
  *t.scale() = scale;
}

void CpuBackend::fill(Tensor& t, float value) {
  requireDefined("fill", "tensor", t);
  float stored = value;
  roundInto(t, &stored, 1);
  std::fill_n(slots(t), t.numel(), stored);
}

void CpuBackend::upload(const float* host, Tensor& t) {
  requireDefined("upload", "tensor", t);
  std::memcpy(slots(t), host, static_cast<std::size_t>(t.numel()) * sizeof(float));
  finishOutput(t);
}

void CpuBackend::download(const Tensor& t, float* host) {
  requireDefined("download", "tensor", t);
  const float* v = logicalValues(t, host);
  if (v != host) std::memcpy(host, v, static_cast<std::size_t>(t.numel()) * sizeof(float));
}

void CpuBackend::convert(const Tensor& src, Tensor& dst, TensorStats* stats) {
  requireNumel("convert", "dst", dst, src.numel());
  const std::size_t n = static_cast<std::size_t>(src.numel());
  float* out = slots(dst);
  const float* in = logicalValues(src, scratch(0, n));
  if (in != out) std::memmove(out, in, n * sizeof(float));
  if (!stats) {
    finishOutput(dst);
    return;
  }
  // Keep the values as the format sees them (fp8: times the scale) to compare.
  float* before = scratch(1, n);
  const float scale = dst.scale() ? *dst.scale() : 1.0f;
  for (std::size_t i = 0; i < n; ++i) before[i] = out[i] * scale;
  finishOutput(dst);
  const float limit = isFp8(dst.precision()) ? static_cast<float>(formatInfo(dst.precision()).maxFinite) : 0.0f;
  computeStats(before, out, n, limit, *stats);
}

void CpuBackend::stats(const Tensor& t, TensorStats& out) {
  requireDefined("stats", "tensor", t);
  computeStats(slots(t), nullptr, static_cast<std::size_t>(t.numel()), 0.0f, out);
}

std::unique_ptr<Backend::Timer> CpuBackend::createTimer() { return std::make_unique<WallTimer>(); }

}  // namespace plab
