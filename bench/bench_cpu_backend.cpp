// CPU backend micro-benchmarks (Google Benchmark):
// - GemmRound: a Linear layer's forward product [128, 784] x [256, 784]^T, fp32
//   accumulation by OpenBLAS plus the one rounding into each format;
// - RoundOnly: that rounding alone (convert of the [128, 256] result);
// - GemmAccumulate: the same fp16 / bf16 product, side by side with fp32 accumulation
//   (arg 1 = 0) and with the running sum rounded into the format after every addition
//   (arg 1 = 1, Backend::setAccumulation, docs/architecture.md "Accumulation");
// - MlpStep: one whole training step of an MLP 784-256-128-10, batch 128, Adam,
//   written directly against the Backend (no model layer), per configuration:
//   fp32, fp16 mixed (dynamic loss scale, master weights), bf16 mixed (master
//   weights). This is the figure the "fp16/bf16 within 1.5x of fp32" is about.
// Run: build/bench/bench_cpu_backend --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"

using namespace plab;

namespace {

Tensor randomTensor(Backend& b, const Shape& s, Precision p, std::mt19937& rng, float range) {
  std::uniform_real_distribution<float> d(-range, range);
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  for (auto& x : v) x = d(rng);
  Tensor t = b.empty(s, p);
  b.upload(v.data(), t);
  return t;
}

const Precision kFormats[] = {Precision::fp32, Precision::tf32, Precision::fp16, Precision::bf16,
                              Precision::fp8_e4m3, Precision::fp8_e5m2};

void GemmRound(benchmark::State& state) {
  const Precision p = kFormats[state.range(0)];
  CpuBackend be;
  std::mt19937 rng(1);
  Tensor x = randomTensor(be, {128, 784}, p, rng, 1.0f), w = randomTensor(be, {256, 784}, p, rng, 0.05f);
  Tensor y = be.empty({128, 256}, p);
  for (auto _ : state) {
    be.gemm(false, true, 1.0f, x, w, 0.0f, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(toString(p)));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 128 * 256 * 784, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(GemmRound)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

void GemmAccumulate(benchmark::State& state) {
  const Precision p = state.range(0) == 0 ? Precision::fp16 : Precision::bf16;
  const bool inFormat = state.range(1) == 1;
  CpuBackend be;
  std::mt19937 rng(1);
  Tensor x = randomTensor(be, {128, 784}, p, rng, 1.0f), w = randomTensor(be, {256, 784}, p, rng, 0.05f);
  Tensor y = be.empty({128, 256}, p);
  AccumulationScope scope(be, inFormat ? p : Precision::fp32);
  for (auto _ : state) {
    be.gemm(false, true, 1.0f, x, w, 0.0f, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(toString(p)) + (inFormat ? ", accumulating in it" : ", fp32 accumulation"));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 128 * 256 * 784, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(GemmAccumulate)->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMicrosecond);

void RoundOnly(benchmark::State& state) {
  const Precision p = kFormats[state.range(0)];
  CpuBackend be;
  std::mt19937 rng(1);
  Tensor src = randomTensor(be, {128, 256}, Precision::fp32, rng, 4.0f);
  Tensor dst = be.empty({128, 256}, p);
  for (auto _ : state) {
    be.convert(src, dst);
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetLabel(std::string(toString(p)));
  state.SetItemsProcessed(state.iterations() * src.numel());
}
BENCHMARK(RoundOnly)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

// The convolution layers of a small Fashion-MNIST CNN, batch 128, 3x3, padding 1:
// range(1) 0: [128, 16, 14, 14] -> 32 channels; 1: [128, 1, 28, 28] -> 16 channels.
// Forward, backward data and backward filter together.
void ConvLayer(benchmark::State& state) {
  const Precision p = kFormats[state.range(0)];
  CpuBackend be;
  std::mt19937 rng(3);
  Conv2dGeometry g;
  g.n = 128, g.c = 16, g.h = 14, g.w = 14, g.k = 32, g.r = 3, g.s = 3, g.padH = 1, g.padW = 1;
  if (state.range(1) == 1) g.c = 1, g.h = 28, g.w = 28, g.k = 16;
  Tensor x = randomTensor(be, {g.n, g.c, g.h, g.w}, p, rng, 1.0f), w = randomTensor(be, {g.k, g.c, g.r, g.s}, p, rng, 0.1f);
  Tensor y = be.empty({g.n, g.k, g.outH(), g.outW()}, p), dx = be.empty(x.shape(), p), dw = be.empty(w.shape(), p);
  for (auto _ : state) {
    be.conv2dForward(g, x, w, y);
    be.conv2dBackwardData(g, y, w, dx);
    be.conv2dBackwardFilter(g, x, y, dw);
    benchmark::DoNotOptimize(dw.data());
  }
  state.SetLabel(std::string(toString(p)));
  state.counters["GFLOP/s"] = benchmark::Counter(3.0 * 2 * g.n * g.k * g.outH() * g.outW() * g.c * g.r * g.s,
                                                 benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(ConvLayer)->ArgsProduct({{0, 2, 3}, {0, 1}})->Unit(benchmark::kMillisecond);

// One Linear + (optional) ReLU layer of the MLP with its parameters and buffers.
struct Layer {
  ParamSlot w, b;
  Tensor in, out, act, dOut, dIn;
  bool relu = true;
};

struct Mlp {
  CpuBackend be;
  std::vector<Layer> layers;
  Tensor inputFp32, labels, logitsGrad;
  std::unique_ptr<StepState> state;
  std::int64_t step = 0;
  // Handles sharing the layers' tensors, in one array as optimizerStep wants them.
  std::vector<ParamSlot> params;
  std::vector<Tensor> grads;

  Mlp(Precision p, int batch) {
    std::mt19937 rng(7);
    const int sizes[] = {784, 256, 128, 10};
    for (int i = 0; i < 3; ++i) {
      Layer l;
      const float bound = 1.0f / std::sqrt(float(sizes[i]));
      for (ParamSlot* s : {&l.w, &l.b}) {
        const Shape shape = s == &l.w ? Shape{sizes[i + 1], sizes[i]} : Shape{sizes[i + 1]};
        s->master = randomTensor(be, shape, Precision::fp32, rng, bound);
        s->working = be.empty(shape, p);
        be.convert(s->master, s->working);
        s->grad = be.empty(shape, p);
        s->state1 = be.zeros(shape, Precision::fp32);
        s->state2 = be.zeros(shape, Precision::fp32);
      }
      l.in = be.empty({batch, sizes[i]}, p);
      l.out = be.empty({batch, sizes[i + 1]}, p);
      l.act = be.empty({batch, sizes[i + 1]}, p);
      l.dOut = be.empty({batch, sizes[i + 1]}, p);
      l.dIn = be.empty({batch, sizes[i]}, p);
      l.relu = i < 2;
      layers.push_back(std::move(l));
    }
    inputFp32 = randomTensor(be, {batch, 784}, Precision::fp32, rng, 1.0f);
    std::vector<float> lab(batch);
    for (int i = 0; i < batch; ++i) lab[i] = float(i % 10);
    labels = be.empty({batch}, Precision::fp32);
    be.upload(lab.data(), labels);
    LossScaleRule rule;
    rule.mode = p == Precision::fp16 ? LossScaleMode::dynamic : LossScaleMode::none;
    state = be.createStepState(rule, 6);
    for (auto& l : layers)
      for (ParamSlot* s : {&l.w, &l.b}) {
        params.push_back(*s);
        grads.push_back(s->grad);
      }
  }

  void trainStep() {
    be.convert(inputFp32, layers[0].in);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      Layer& l = layers[i];
      if (i > 0) be.convert(layers[i - 1].act, l.in);
      be.gemm(false, true, 1.0f, l.in, l.w.working, 0.0f, l.out);
      be.addBias(l.out, l.b.working);
      if (l.relu) be.activationForward(Activation::relu, 0, l.out, l.act);
      else l.act = l.out;
    }
    be.softmaxCrossEntropy(layers.back().act, labels, *state, layers.back().dOut);
    for (std::size_t k = layers.size(); k-- > 0;) {
      Layer& l = layers[k];
      if (l.relu) be.activationBackward(Activation::relu, 0, l.out, l.act, layers[k].dOut, l.dOut);
      be.gemm(true, false, 1.0f, l.dOut, l.in, 0.0f, l.w.grad);
      be.biasGrad(l.dOut, l.b.grad);
      if (k > 0) {
        be.gemm(false, false, 1.0f, l.dOut, l.w.working, 0.0f, l.dIn);
        be.convert(l.dIn, layers[k - 1].dOut);
      }
    }
    be.checkGradients(grads, *state);
    be.optimizerStep(OptimizerHyper{}, params, *state);
    be.updateLossScale(*state, ++step);
    if (step % 100 == 0) be.drainStepRecords(*state);
  }
};

void MlpStep(benchmark::State& state) {
  const Precision p = state.range(0) == 0 ? Precision::fp32 : state.range(0) == 1 ? Precision::fp16 : Precision::bf16;
  Mlp mlp(p, 128);
  for (int i = 0; i < 5; ++i) mlp.trainStep();
  for (auto _ : state) mlp.trainStep();
  state.SetLabel(p == Precision::fp32 ? "fp32" : p == Precision::fp16 ? "fp16-mixed" : "bf16-mixed");
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(MlpStep)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// The backend's details (OpenBLAS kernel, conversion path) head the output.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  CpuBackend backend;
  benchmark::AddCustomContext("cpu_backend", backend.info().device + "; " + backend.info().details);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
