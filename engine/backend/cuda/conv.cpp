// Convolutions through cuDNN, one cached plan (descriptors and algorithm) per
// geometry, format, direction and memory layout. fp32 runs with CUDNN_FMA_MATH only
// (no TF32, as the fp32 contract needs); tf32 lets cuDNN use TF32 tensor cores on
// operands already in tf32 and rounds the result to tf32; fp16 and bf16 accumulate in
// fp32 (compute type float) on tensor cores. Mixed formats and fp8 are emulated:
// exact fp32 operands, an fp32 convolution, one rounding into the output's format.
// When the operands are fp16, bf16 or tf32 their fp32 copies are exact in tf32, so
// that fp32 convolution may use TF32 tensor cores: the products are exact and the
// sums fp32, as in a native fp16 convolution (this is a layer with a bias, whose
// convolution writes fp32 so that the bias is added before the one rounding).
//
// Layout (layout.cu): the convolution runs NCHW or NHWC as convLayoutFor(operand
// format) says; inputs in the other layout are reordered, the output is written in
// the run's layout and tagged. In NHWC the filter is KRSC: the logical KCRS weight is
// reordered per call (K*C*R*S elements, a few thousand in a small CNN) and a KRSC
// filter gradient is reordered back into the KCRS gradient tensor. Where cuDNN offers
// no NHWC algorithm for a case, that case runs NCHW between two reorders (correct,
// slower; the side-by-side bench shows it).
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {

enum class ConvDirection { forward, backwardData, backwardFilter };

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  std::size_t workspaceBytes = 0;
  ~ConvPlan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

namespace {

struct ConvFormat {
  cudnnDataType_t type;
  cudnnMathType_t math;
  bool roundTf32After;
};

std::string describe(const Conv2dGeometry& g) {
  return "conv x[" + std::to_string(g.n) + "," + std::to_string(g.c) + "," + std::to_string(g.h) + "," +
         std::to_string(g.w) + "] w[" + std::to_string(g.k) + "," + std::to_string(g.c) + "," + std::to_string(g.r) +
         "," + std::to_string(g.s) + "]";
}

// Picks the fastest algorithm by cuDNN's heuristics that fits the math rule: for fp32,
// FMA kernels only.
template <class Perf> const Perf* pickAlgorithm(const Perf* perf, int count, cudnnMathType_t math) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (math == CUDNN_FMA_MATH && perf[i].mathType != CUDNN_FMA_MATH) continue;
    return &perf[i];
  }
  return nullptr;
}

std::shared_ptr<ConvPlan> makePlan(CudaBackend& be, const Conv2dGeometry& g, ConvDirection dir, ConvFormat f,
                                   MemoryLayout layout) {
  const cudnnTensorFormat_t order = layout == MemoryLayout::nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  auto p = std::make_shared<ConvPlan>();
  PLAB_CUDNN(cudnnCreateTensorDescriptor(&p->x));
  PLAB_CUDNN(cudnnCreateTensorDescriptor(&p->y));
  PLAB_CUDNN(cudnnCreateFilterDescriptor(&p->w));
  PLAB_CUDNN(cudnnCreateConvolutionDescriptor(&p->conv));
  // Dimensions are given in logical order whatever the memory order; an NHWC filter is KRSC.
  PLAB_CUDNN(cudnnSetTensor4dDescriptor(p->x, order, f.type, g.n, g.c, g.h, g.w));
  PLAB_CUDNN(cudnnSetTensor4dDescriptor(p->y, order, f.type, g.n, g.k, g.outH(), g.outW()));
  PLAB_CUDNN(cudnnSetFilter4dDescriptor(p->w, f.type, order, g.k, g.c, g.r, g.s));
  PLAB_CUDNN(cudnnSetConvolution2dDescriptor(p->conv, g.padH, g.padW, g.strideH, g.strideW, 1, 1,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  PLAB_CUDNN(cudnnSetConvolutionMathType(p->conv, f.math));
  cudnnHandle_t h = be.context().dnn;
  constexpr int kMax = 16;
  int found = 0;
  cudnnMathType_t chosenMath = f.math;
  if (dir == ConvDirection::forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    PLAB_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y, kMax, &found, perf));
    const auto* best = pickAlgorithm(perf, found, f.math);
    if (!best)
      throw std::runtime_error("CUDA backend: cuDNN has no forward algorithm for " + describe(g) + " " +
                               std::string(toString(layout)));
    p->algo = best->algo;
    chosenMath = best->mathType;
    PLAB_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, best->algo, &p->workspaceBytes));
  } else if (dir == ConvDirection::backwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    PLAB_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x, kMax, &found, perf));
    const auto* best = pickAlgorithm(perf, found, f.math);
    if (!best)
      throw std::runtime_error("CUDA backend: cuDNN has no backward-data algorithm for " + describe(g) + " " +
                               std::string(toString(layout)));
    p->algo = best->algo;
    chosenMath = best->mathType;
    PLAB_CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x, best->algo,
                                                            &p->workspaceBytes));
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    PLAB_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w, kMax, &found, perf));
    const auto* best = pickAlgorithm(perf, found, f.math);
    if (!best)
      throw std::runtime_error("CUDA backend: cuDNN has no backward-filter algorithm for " + describe(g) + " " +
                               std::string(toString(layout)));
    p->algo = best->algo;
    chosenMath = best->mathType;
    PLAB_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w, best->algo,
                                                              &p->workspaceBytes));
  }
  PLAB_CUDNN(cudnnSetConvolutionMathType(p->conv, chosenMath));
  return p;
}

// The cached plan, or nullptr when cuDNN has no NHWC algorithm for this case (cached
// too, so that it is asked once): the caller then runs it NCHW. NCHW failures throw.
ConvPlan* planFor(CudaBackend& be, const Conv2dGeometry& g, ConvDirection dir, ConvFormat f, MemoryLayout layout) {
  std::vector<std::int64_t> key{static_cast<int>(dir), f.type, f.math, g.n, g.c, g.h, g.w, g.k, g.r, g.s,
                                g.strideH, g.strideW, g.padH, g.padW, static_cast<int>(layout)};
  auto& plans = be.convPlans();
  auto it = plans.find(key);
  if (it == plans.end()) {
    std::shared_ptr<ConvPlan> plan;
    if (layout == MemoryLayout::nchw) {
      plan = makePlan(be, g, dir, f, layout);
    } else {
      try {
        plan = makePlan(be, g, dir, f, layout);
      } catch (const std::exception&) {
        plan = nullptr;
      }
    }
    it = plans.emplace(key, std::move(plan)).first;
  }
  return it->second.get();
}

// The format the convolution runs in, or nullopt-like {} when it must be emulated.
bool nativeFormat(Precision a, Precision b, Precision out, ConvFormat& f) {
  if (a != out || b != out) return false;
  switch (out) {
    case Precision::fp32: f = {CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, false}; return true;
    case Precision::tf32: f = {CUDNN_DATA_FLOAT, CUDNN_DEFAULT_MATH, true}; return true;
    case Precision::fp16: f = {CUDNN_DATA_HALF, CUDNN_TENSOR_OP_MATH, false}; return true;
    case Precision::bf16: f = {CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_OP_MATH, false}; return true;
    case Precision::fp8_e4m3:
    case Precision::fp8_e5m2: return false;  // cuDNN has no fp8 convolution here: emulated
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("CUDA backend, nativeFormat", out);
  }
  throwUnknownPrecision("CUDA backend, nativeFormat", out);
}

void checkSizes(const char* op, const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const Tensor& y) {
  const std::int64_t nx = std::int64_t(g.n) * g.c * g.h * g.w, nw = std::int64_t(g.k) * g.c * g.r * g.s,
                     ny = std::int64_t(g.n) * g.k * g.outH() * g.outW();
  if (x.numel() != nx || w.numel() != nw || y.numel() != ny)
    throwShapeError(op, "tensors x " + x.shape().toString() + ", w " + w.shape().toString() + ", y " +
                            y.shape().toString() + " do not match " + describe(g));
}

void runConvAs(CudaBackend& be, const Conv2dGeometry& g, ConvDirection dir, MemoryLayout layout, ConvFormat f,
               const Tensor& in1, const Tensor& in2, Tensor& out);

// Every value of format p is exact in tf32 (10 mantissa bits, fp32's exponent range).
bool exactInTf32(Precision p) { return p == Precision::fp16 || p == Precision::bf16 || p == Precision::tf32; }

// Runs one direction: in1, in2 are the inputs in the order cuDNN takes them, out the
// result, all three already stored in `layout` (the filter KRSC when NHWC).
void runConv(CudaBackend& be, const Conv2dGeometry& g, ConvDirection dir, MemoryLayout layout, const Tensor& in1,
             const Tensor& in2, Tensor& out) {
  ConvFormat f{};
  if (!nativeFormat(in1.precision(), in2.precision(), out.precision(), f)) {
    const bool tf32 = out.precision() == Precision::tf32;
    const bool tensorCores = tf32 || (exactInTf32(in1.precision()) && exactInTf32(in2.precision()));
    Tensor a = be.toFp32(in1, tf32), b = be.toFp32(in2, tf32);
    Tensor wide = be.empty(out.shape(), Precision::fp32);
    wide.setLayout(out.layout());
    if (out.precision() == Precision::fp32 && !tensorCores) {
      runConv(be, g, dir, layout, a, b, out);
      return;
    }
    const ConvFormat widened{CUDNN_DATA_FLOAT, tensorCores ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, false};
    Tensor& target = out.precision() == Precision::fp32 ? out : wide;
    runConvAs(be, g, dir, layout, widened, a, b, target);
    if (&target != &out) be.convert(wide, out);
    return;
  }
  runConvAs(be, g, dir, layout, f, in1, in2, out);
}

void runConvAs(CudaBackend& be, const Conv2dGeometry& g, ConvDirection dir, MemoryLayout layout, ConvFormat f,
               const Tensor& in1, const Tensor& in2, Tensor& out) {
  ConvPlan* plan = planFor(be, g, dir, f, layout);
  if (!plan) {  // no NHWC algorithm: reorder into NCHW, run there, reorder the result back
    const Tensor a = be.inLayout(in1, MemoryLayout::nchw), b = be.inLayout(in2, MemoryLayout::nchw);
    Tensor logical = be.empty(out.shape(), out.precision());
    runConvAs(be, g, dir, MemoryLayout::nchw, f, a, b, logical);
    be.toLayout(logical, out, out.layout());
    return;
  }
  ConvPlan& p = *plan;
  void* ws = be.workspace(p.workspaceBytes);
  const float one = 1.0f, zero = 0.0f;
  cudnnHandle_t h = be.context().dnn;
  if (dir == ConvDirection::forward) {
    PLAB_CUDNN(cudnnConvolutionForward(h, &one, p.x, in1.data(), p.w, in2.data(), p.conv,
                                       static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), ws, be.workspaceSize(), &zero,
                                       p.y, out.data()));
  } else if (dir == ConvDirection::backwardData) {
    PLAB_CUDNN(cudnnConvolutionBackwardData(h, &one, p.w, in2.data(), p.y, in1.data(), p.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), ws,
                                            be.workspaceSize(), &zero, p.x, out.data()));
  } else {
    PLAB_CUDNN(cudnnConvolutionBackwardFilter(h, &one, p.x, in1.data(), p.y, in2.data(), p.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), ws,
                                              be.workspaceSize(), &zero, p.w, out.data()));
  }
  if (f.roundTf32After) be.roundInPlace(out);
}

}  // namespace

// Convolutions accumulate in fp32 only here (supportsAccumulation, gemm.cpp): a layer
// asking for more is refused when its network is built, so this is a caller's bug.
static void requireFp32Accumulation(const Backend& be, const char* op) {
  if (be.accumulation() != Precision::fp32)
    throw std::logic_error(std::string("CUDA backend ") + op + ": convolutions accumulate in fp32 only, not " +
                           std::string(toString(be.accumulation())));
}

void CudaBackend::conv2dForward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, Tensor& y) {
  PLAB_BACKEND_CALL("conv2dForward");
  requireFp32Accumulation(*this, "conv2dForward");
  checkSizes("conv2dForward", g, x, w, y);
  const MemoryLayout layout = convLayoutFor(x.precision());
  const Tensor xs = inLayout(x, layout), ws = inLayout(w, layout);
  y.setLayout(layout);
  runConv(*this, g, ConvDirection::forward, layout, xs, ws, y);
}

void CudaBackend::conv2dBackwardData(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  PLAB_BACKEND_CALL("conv2dBackwardData");
  requireFp32Accumulation(*this, "conv2dBackwardData");
  checkSizes("conv2dBackwardData", g, dx, w, dy);
  const MemoryLayout layout = convLayoutFor(dy.precision());
  const Tensor dys = inLayout(dy, layout), ws = inLayout(w, layout);
  dx.setLayout(layout);
  runConv(*this, g, ConvDirection::backwardData, layout, dys, ws, dx);
}

// The filter gradient is a parameter gradient: it stays KCRS (nchw) for the optimizer.
void CudaBackend::conv2dBackwardFilter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, Tensor& dw) {
  PLAB_BACKEND_CALL("conv2dBackwardFilter");
  requireFp32Accumulation(*this, "conv2dBackwardFilter");
  checkSizes("conv2dBackwardFilter", g, x, dw, dy);
  const MemoryLayout layout = convLayoutFor(x.precision());
  const Tensor xs = inLayout(x, layout), dys = inLayout(dy, layout);
  const bool reorder = layout != MemoryLayout::nchw && g.c > 1 && g.r * g.s > 1;
  dw.setLayout(MemoryLayout::nchw);
  if (!reorder) {
    runConv(*this, g, ConvDirection::backwardFilter, layout, xs, dys, dw);
    return;
  }
  Tensor krsc = empty(dw.shape(), dw.precision());
  if (dw.scale()) krsc = krsc.withFp8ScaleOf(dw);
  krsc.setLayout(layout);
  runConv(*this, g, ConvDirection::backwardFilter, layout, xs, dys, krsc);
  toLayout(krsc, dw, MemoryLayout::nchw);
}

}  // namespace plab::cuda
