// Array conversion throughput (engine/numerics) against memcpy on the same buffers.
// For each buffer size (1M and 16M floats): memcpy of the fp32 buffer, then
// roundArray per format, encodeArray16/decodeArray16 for fp16 and bf16 and
// encodeArray8/decodeArray8 for the fp8 formats, on every path this CPU runs
// (avx512, f16c, portable). Out of place (in -> out), as memcpy. And, at 1M floats,
// quantiseDequantise of each block-scaled format (numerics/block_format.h: the scalar
// reference's loop, one path).
// bytes_per_second counts bytes read plus bytes written; the `vs_memcpy` counter is the
// memcpy time on the same number of floats divided by this benchmark's time (1.0 =
// memcpy speed), measured in the same run. All times are wall-clock (UseRealTime).
// Run: build/bench/bench_convert --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "numerics/block_format.h"
#include "numerics/convert.h"

using namespace plab;

namespace {

const std::size_t kSizes[] = {std::size_t{1} << 20, std::size_t{1} << 24};

// Values spread over many binades, both signs, some in every format's subnormal and
// overflow range, so that no branch is always predicted the same way.
std::vector<float> makeInputs(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> exponent(-30.0f, 20.0f);
  std::uniform_int_distribution<int> sign(0, 1);
  std::vector<float> v(n);
  for (float& x : v) x = (sign(rng) ? -1.0f : 1.0f) * std::exp2(exponent(rng));
  return v;
}

const std::vector<float>& inputs(std::size_t n) {
  static std::map<std::size_t, std::vector<float>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, makeInputs(n)).first;
  return it->second;
}

// Mean seconds per memcpy of n floats, measured by BM_memcpy (which runs first).
std::map<std::size_t, double>& memcpySeconds() {
  static std::map<std::size_t, double> seconds;
  return seconds;
}

void reportAgainstMemcpy(benchmark::State& state, std::size_t n, std::size_t bytesPerItem) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * bytesPerItem));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  const auto it = memcpySeconds().find(n);
  if (it != memcpySeconds().end()) {
    // kIsIterationInvariantRate turns "seconds per iteration" into a rate; inverted
    // here: memcpy time / our time = (memcpy s * iterations) / elapsed.
    state.counters["vs_memcpy"] =
        benchmark::Counter(it->second, benchmark::Counter::kIsIterationInvariantRate);
  }
}

void BM_memcpy(benchmark::State& state, std::size_t n) {
  const std::vector<float>& in = inputs(n);
  std::vector<float> out(n);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), n * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  memcpySeconds()[n] = elapsed / static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * 8));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_roundArray(benchmark::State& state, Precision p, std::string path, std::size_t n) {
  forceConversionPath(path);
  const std::vector<float>& in = inputs(n);
  std::vector<float> out(n);
  for (auto _ : state) {
    roundArray(p, in.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  reportAgainstMemcpy(state, n, 8);
  forceConversionPath("");
}

template <typename Storage>
void BM_encode(benchmark::State& state, Precision p, std::string path, std::size_t n) {
  forceConversionPath(path);
  const std::vector<float>& in = inputs(n);
  std::vector<Storage> out(n);
  for (auto _ : state) {
    if constexpr (sizeof(Storage) == 2) {
      encodeArray16(p, in.data(), out.data(), n);
    } else {
      encodeArray8(p, in.data(), out.data(), n);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  reportAgainstMemcpy(state, n, 4 + sizeof(Storage));
  forceConversionPath("");
}

template <typename Storage>
void BM_decode(benchmark::State& state, Precision p, std::string path, std::size_t n) {
  forceConversionPath(path);
  std::vector<Storage> in(n);
  if constexpr (sizeof(Storage) == 2) {
    encodeArray16(p, inputs(n).data(), in.data(), n);
  } else {
    encodeArray8(p, inputs(n).data(), in.data(), n);
  }
  std::vector<float> out(n);
  for (auto _ : state) {
    if constexpr (sizeof(Storage) == 2) {
      decodeArray16(p, in.data(), out.data(), n);
    } else {
      decodeArray8(p, in.data(), out.data(), n);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  reportAgainstMemcpy(state, n, 4 + sizeof(Storage));
  forceConversionPath("");
}

void BM_quantiseDequantise(benchmark::State& state, Precision p, std::size_t n) {
  const std::vector<float>& in = inputs(n);
  std::vector<float> out(n);
  for (auto _ : state) {
    quantiseDequantise(p, in.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  reportAgainstMemcpy(state, n, 8);
}

std::string label(const char* op, Precision p, const std::string& path, std::size_t n) {
  return std::string(op) + "/" + std::string(toString(p)) + "/" + path + "/" +
         std::to_string(n >> 20) + "M";
}

void registerAll() {
  for (std::size_t n : kSizes) {
    benchmark::RegisterBenchmark(("memcpy/fp32/-/" + std::to_string(n >> 20) + "M").c_str(),
                                 BM_memcpy, n)->UseRealTime();
    for (const std::string& path : availableConversionPaths()) {
      for (Precision p : kScalarPrecisions) {
        if (p == Precision::fp32) continue;  // a copy: memcpy itself
        benchmark::RegisterBenchmark(label("round", p, path, n).c_str(), BM_roundArray, p, path, n)->UseRealTime();
      }
      for (Precision p : {Precision::fp16, Precision::bf16}) {
        benchmark::RegisterBenchmark(label("encode", p, path, n).c_str(), BM_encode<std::uint16_t>, p, path, n)->UseRealTime();
        benchmark::RegisterBenchmark(label("decode", p, path, n).c_str(), BM_decode<std::uint16_t>, p, path, n)->UseRealTime();
      }
      for (Precision p : {Precision::fp8_e4m3, Precision::fp8_e5m2}) {
        benchmark::RegisterBenchmark(label("encode", p, path, n).c_str(), BM_encode<std::uint8_t>, p, path, n)->UseRealTime();
        benchmark::RegisterBenchmark(label("decode", p, path, n).c_str(), BM_decode<std::uint8_t>, p, path, n)->UseRealTime();
      }
    }
    if (n == kSizes[0]) {
      for (Precision p : kBlockPrecisions) {
        benchmark::RegisterBenchmark(label("quantise", p, "-", n).c_str(), BM_quantiseDequantise, p, n)->UseRealTime();
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  registerAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
