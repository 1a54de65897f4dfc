// Matrix products through cuBLASLt. Backend::gemm is row-major; cuBLASLt is
// column-major, and a row-major X is the column-major X^T, so C = op(A) op(B) is
// computed as C^T = op(B)^T op(A)^T with the operands swapped.
//
// Fast paths (A and B in one format): fp32 (CUBLAS_COMPUTE_32F: no TF32); fp16 and
// bf16 into C of the same format (fp32 accumulation, one rounding) or into an fp32 C
// (a statistics step's fp32 temporary); tf32 (CUBLAS_COMPUTE_32F_FAST_TF32 on
// operands already rounded to tf32, then C rounded to tf32 unless C is fp32); fp8 on
// sm_89 and newer (fp8Gemm below, when the product meets cuBLASLt's fp8 rules). Every
// other combination is emulated: operands widened exactly to fp32, an fp32 product,
// one rounding into C's format.
//
// Accumulation in fp16 (Backend::setAccumulation, docs/architecture.md "Accumulation"):
// cuBLASLt with CUBLAS_COMPUTE_16F, whose scale type, C and D are fp16 as well, so the
// running sums are fp16 in cuBLAS's own order (not the CPU's sequential one: the
// conformance suite's tolerance says how far apart they may be). bf16 has no 16-bit
// compute type in cuBLAS: refused by supportsAccumulation, so at start-up.
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "backend/cuda/cuda_backend_impl.h"

namespace plab::cuda {

struct GemmPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  std::shared_ptr<void> unreadC;  // fp8 D: the C operand cuBLASLt wants (beta is 0, never read)
  ~GemmPlan() {
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

namespace {

// The device pointers of an fp8 product, in our operand order. cuBLASLt multiplies its
// A and B by their scale pointers and D by its own before rounding; ours are stored =
// value * scale, so A and B get 1 / scale and D gets the output's scale.
struct Fp8Pointers {
  const float* inverseScaleA = nullptr;
  const float* inverseScaleB = nullptr;
  const float* scaleD = nullptr;   // fp8 output only
  float* productAmaxD = nullptr;   // fp8 output only
};

void setFp8Pointers(cublasLtMatmulDesc_t op, const Fp8Pointers& f) {
  // Swapped operands: cuBLASLt's A is our B.
  PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &f.inverseScaleB,
                                             sizeof f.inverseScaleB));
  PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &f.inverseScaleA,
                                             sizeof f.inverseScaleA));
  if (f.scaleD) {
    PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, &f.scaleD, sizeof f.scaleD));
    PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, &f.productAmaxD,
                                               sizeof f.productAmaxD));
  }
}

std::string describe(const GemmKey& k) {
  return "M=" + std::to_string(k.m) + " N=" + std::to_string(k.n) + " K=" + std::to_string(k.k) +
         (k.transA ? " A^T" : "") + (k.transB ? " B^T" : "") + " type " + std::to_string(k.format);
}

std::shared_ptr<GemmPlan> makePlan(CudaBackend& be, const GemmKey& key, const Fp8Pointers* fp8) {
  auto plan = std::make_shared<GemmPlan>();
  const auto type = static_cast<cudaDataType_t>(key.format);
  // Our B sits in cuBLASLt's A slot (see the file comment).
  const auto ltTypeA = key.formatB >= 0 ? static_cast<cudaDataType_t>(key.formatB) : type;
  // CUBLAS_COMPUTE_16F takes fp16 alpha and beta (runLt converts them); every other
  // compute type here takes fp32 ones.
  const cudaDataType_t scaleType = key.compute == CUBLAS_COMPUTE_16F ? CUDA_R_16F : CUDA_R_32F;
  PLAB_CUBLAS(cublasLtMatmulDescCreate(&plan->op, static_cast<cublasComputeType_t>(key.compute), scaleType));
  // Swapped operands: cuBLASLt's A is our B, its B is our A (see the file comment).
  cublasOperation_t ltTransA = key.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t ltTransB = key.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
  PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &ltTransA, sizeof ltTransA));
  PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &ltTransB, sizeof ltTransB));
  if (key.biasEpilogue) {
    // D = round(alpha A B + bias), the bias (one per row of the column-major D, i.e.
    // per column of our row-major C) added in fp32 before the rounding.
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
  }
  if (key.fp8Scaled) {
    // Partial sums promoted to fp32 at intervals (the default, said explicitly): "fast
    // accumulation" would keep them in the tensor cores' narrower accumulator throughout.
    const std::int8_t fastAccumulation = 0;
    PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fastAccumulation,
                                               sizeof fastAccumulation));
    setFp8Pointers(plan->op, *fp8);
  }
  const std::uint64_t aRows = key.transB ? key.k : key.n, aCols = key.transB ? key.n : key.k;
  const std::uint64_t bRows = key.transA ? key.m : key.k, bCols = key.transA ? key.k : key.m;
  PLAB_CUBLAS(cublasLtMatrixLayoutCreate(&plan->a, ltTypeA, aRows, aCols, static_cast<std::int64_t>(aRows)));
  PLAB_CUBLAS(cublasLtMatrixLayoutCreate(&plan->b, type, bRows, bCols, static_cast<std::int64_t>(bRows)));
  PLAB_CUBLAS(cublasLtMatrixLayoutCreate(&plan->d, static_cast<cudaDataType_t>(key.outFormat), key.n, key.m, key.n));
  if (key.cFormat >= 0) {
    PLAB_CUBLAS(cublasLtMatrixLayoutCreate(&plan->c, static_cast<cudaDataType_t>(key.cFormat), key.n, key.m, key.n));
    plan->unreadC = be.allocate(static_cast<std::size_t>(key.m * key.n) * 2);
  }
  cublasLtMatrixLayout_t layoutC = plan->c ? plan->c : plan->d;

  cublasLtMatmulPreference_t pref = nullptr;
  PLAB_CUBLAS(cublasLtMatmulPreferenceCreate(&pref));
  std::uint64_t maxWorkspace = be.workspaceSize();
  PLAB_CUBLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxWorkspace,
                                                   sizeof maxWorkspace));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(be.context().lt, plan->op, plan->a, plan->b, layoutC, plan->d,
                                                    pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  // No algorithm for this format and shape (say, an odd leading dimension in fp16):
  // the caller takes the emulated fp32 path instead. For fp8 the table of type
  // combinations differs between cuBLASLt versions (e4m3 x e4m3 into e5m2, say), and
  // an unsupported one may answer "invalid value": emulated too.
  // The bias epilogue's type rules vary in the same way (the linear op then runs its
  // three steps unfused).
  if (s == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) return nullptr;
  if ((key.fp8Scaled || key.biasEpilogue) && s != CUBLAS_STATUS_SUCCESS) return nullptr;
  PLAB_CUBLAS(s);
  plan->algo = result.algo;
  return plan;
}

// False when cuBLASLt has no algorithm for this key (the plan cache remembers that).
bool runLt(CudaBackend& be, const GemmKey& key, float alpha, const void* a, const void* b, float beta, void* c,
           const void* bias = nullptr, const Fp8Pointers* fp8 = nullptr) {
  auto& plans = be.gemmPlans();
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, makePlan(be, key, fp8)).first;
  if (!it->second) return false;
  GemmPlan& p = *it->second;
  if (key.biasEpilogue)
    PLAB_CUBLAS(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
  if (key.fp8Scaled) setFp8Pointers(p.op, *fp8);
  // Our B goes in cuBLASLt's A slot and our A in its B slot. An fp8 D has its own C
  // (cuBLASLt wants a 16-bit C beside an fp8 D; beta is 0 there, so it is not read).
  const void* inC = p.c ? p.unreadC.get() : c;
  const __half alphaHalf = __float2half(alpha), betaHalf = __float2half(beta);
  const bool halfScale = key.compute == CUBLAS_COMPUTE_16F;
  const void* alphaPtr = halfScale ? static_cast<const void*>(&alphaHalf) : &alpha;
  const void* betaPtr = halfScale ? static_cast<const void*>(&betaHalf) : &beta;
  PLAB_CUBLAS(cublasLtMatmul(be.context().lt, p.op, alphaPtr, b, p.a, a, p.b, betaPtr, inC, p.c ? p.c : p.d, c, p.d,
                             &p.algo, be.workspace(0), be.workspaceSize(), be.stream()));
  return true;
}

cudaDataType_t nativeType(Precision p) {
  switch (p) {
    case Precision::fp16: return CUDA_R_16F;
    case Precision::bf16: return CUDA_R_16BF;
    case Precision::fp8_e4m3: return CUDA_R_8F_E4M3;
    case Precision::fp8_e5m2: return CUDA_R_8F_E5M2;
    case Precision::fp32:
    case Precision::tf32: return CUDA_R_32F;
    PLAB_BLOCK_SCALED_CASES: throwBlockScaled("CUDA backend, nativeType", p);
  }
  throwUnknownPrecision("CUDA backend, nativeType", p);
}

// PLAB_CUDA_FP8_GEMM=fp8 lets fp8 products take cuBLASLt's fp8 path where its rules
// allow; unset, empty or "emulated" (the default until the fp8 path has been run and
// measured on a GPU, docs/gpu-testing.md) sends every fp8 product down the emulated
// path. Read once, at the first fp8 product; any other value is an error.
bool fp8GemmForcedEmulated() {
  static const bool forced = [] {
    const char* v = std::getenv("PLAB_CUDA_FP8_GEMM");
    if (v == nullptr || *v == '\0' || std::strcmp(v, "emulated") == 0) return true;
    if (std::strcmp(v, "fp8") == 0) return false;
    throw std::invalid_argument(std::string("CUDA backend: environment variable PLAB_CUDA_FP8_GEMM=\"") + v +
                                "\" is not one of fp8, emulated");
  }();
  return forced;
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

// A transposed copy of an fp8 matrix, reading with t's own scale slot.
Tensor transposedFp8(CudaBackend& be, const Tensor& t) {
  const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
  Tensor out = Tensor(&be, be.allocate(static_cast<std::size_t>(rows * cols)), Shape{cols, rows}, t.precision())
                   .withFp8ScaleOf(t);
  launchTransposeBytes(be.stream(), t.data(), out.data(), rows, cols);
  return out;
}

}  // namespace

// fp8 operands on fp8 tensor cores: cuBLASLt multiplies the stored bytes, accumulates
// in fp32, scales by alpha / (scaleA scaleB) (its A/B scale pointers get the slots'
// 1 / scale) and rounds once into C's format; an fp8 C is multiplied by its scale
// first (D scale pointer) and rounded with saturation to the largest finite value, as
// our conversions do. cuBLASLt writes max |alpha A B| (before the D scale, our amax's
// domain) to the slot's product amax, folded into the tensor's amax afterwards.
// Returns false when the product must be emulated (at most an unused transposed copy
// has been queued); each `return false` names the rule that sends it there.
bool CudaBackend::fp8Gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b, float beta,
                          Tensor& c) {
  const Precision pa = a.precision(), pb = b.precision(), pc = c.precision();
  if (!isFp8(pa) || !isFp8(pb)) return false;  // the fp8 path takes fp8 operands only
  if (fp8GemmForcedEmulated()) return false;   // PLAB_CUDA_FP8_GEMM unset or emulated
  const cudaDeviceProp& dev = context().properties;
  if (dev.major * 10 + dev.minor < 89) return false;  // fp8 tensor cores: Ada (sm_89) and newer
  if (pa == Precision::fp8_e5m2 && pb == Precision::fp8_e5m2) return false;  // no e5m2 x e5m2 kernels
  const std::int64_t m = transA ? a.shape()[1] : a.shape()[0], k = transA ? a.shape()[0] : a.shape()[1];
  const std::int64_t n = transB ? b.shape()[0] : b.shape()[1];
  // Every dimension a multiple of 16 (the leading dimensions are K, K and N) and every
  // pointer 16-byte aligned.
  if (m <= 0 || n <= 0 || k <= 0 || m % 16 || n % 16 || k % 16) return false;
  if (!aligned16(a.data()) || !aligned16(b.data()) || !aligned16(c.data())) return false;
  if (pc == Precision::tf32) return false;  // a tf32 result needs tf32-rounded inputs and output: emulated
  // An fp8 C goes with a 16-bit C operand in cuBLASLt, so it cannot be read: beta must be 0.
  if (isFp8(pc) && beta != 0.0f) return false;
  // "TN" only: cuBLASLt's A (our B) transposed, its B (our A) not, i.e. C = A B^T with
  // both operands row-major [rows, K], as a linear layer's forward. Other layouts (its
  // two backward products) multiply transposed copies (bytes, cheap beside the product).
  const Tensor ra = transA ? transposedFp8(*this, a) : a;
  const Tensor rb = transB ? b : transposedFp8(*this, b);
  GemmKey key{false, true, m, n, k, nativeType(pa), nativeType(pc), CUBLAS_COMPUTE_32F};
  key.fp8Scaled = true;
  key.formatB = nativeType(pb);
  if (isFp8(pc)) key.cFormat = CUDA_R_16BF;
  Fp8Pointers pointers{inverseScaleOf(a), inverseScaleOf(b), nullptr, nullptr};
  if (isFp8(pc)) {
    pointers.scaleD = c.scale();
    pointers.productAmaxD = productAmaxOf(c);
  }
  // Unsupported type combination or shape: cuBLASLt has no algorithm (remembered).
  if (!runLt(*this, key, alpha, ra.data(), rb.data(), beta, c.data(), nullptr, &pointers)) return false;
  if (isFp8(pc)) launchFp8FoldProductAmax(stream(), c.scale());
  return true;
}

void CudaBackend::gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b, float beta,
                       Tensor& c) {
  PLAB_HOST_TIMED("gemm");
  if (a.shape().rank() != 2 || b.shape().rank() != 2 || c.shape().rank() != 2)
    throwShapeError("gemm", "operands must be matrices, got A " + a.shape().toString() + ", B " +
                                b.shape().toString() + ", C " + c.shape().toString());
  const std::int64_t m = transA ? a.shape()[1] : a.shape()[0];
  const std::int64_t k = transA ? a.shape()[0] : a.shape()[1];
  const std::int64_t kb = transB ? b.shape()[1] : b.shape()[0];
  const std::int64_t n = transB ? b.shape()[0] : b.shape()[1];
  if (k != kb || c.shape()[0] != m || c.shape()[1] != n)
    throwShapeError("gemm", "shapes do not match: op(A) " + std::to_string(m) + "x" + std::to_string(k) +
                                ", op(B) " + std::to_string(kb) + "x" + std::to_string(n) + ", C " +
                                c.shape().toString());
  if (accumulation() != Precision::fp32) {
    gemmAccumulatingInFp16(GemmKey{transA, transB, m, n, k, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_16F}, a, b,
                           alpha, beta, c);
    return;
  }
  const Precision pc = c.precision(), pa = a.precision();
  const bool sameInputs = pa == b.precision();
  const bool half = pa == Precision::fp16 || pa == Precision::bf16;
  if (sameInputs && (pa == pc || pc == Precision::fp32) && (half || pa == Precision::fp32)) {
    GemmKey key{transA, transB, m, n, k, nativeType(pa), nativeType(pc), CUBLAS_COMPUTE_32F};
    if (runLt(*this, key, alpha, a.data(), b.data(), beta, c.data())) return;
  }
  if (fp8Gemm(transA, transB, alpha, a, b, beta, c)) return;
  if (sameInputs && pa == Precision::tf32 && (pc == Precision::tf32 || pc == Precision::fp32)) {
    GemmKey key{transA, transB, m, n, k, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32};
    if (runLt(*this, key, alpha, a.data(), b.data(), beta, c.data())) {
      if (pc == Precision::tf32) roundInPlace(c);
      return;
    }
  }
  // Emulated: exact fp32 operands (rounded to tf32 first for a tf32 result), fp32
  // product, one rounding into C.
  const bool tf32 = pc == Precision::tf32;
  Tensor wa = toFp32(a, tf32), wb = toFp32(b, tf32);
  Tensor wc = pc == Precision::fp32 ? c : (beta != 0.0f ? toFp32(c) : empty(c.shape(), Precision::fp32));
  GemmKey key{transA, transB, m, n, k, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
  if (!runLt(*this, key, alpha, wa.data(), wb.data(), beta, wc.data()))
    throw std::runtime_error("CUDA backend: cuBLASLt found no fp32 algorithm for gemm " + describe(key));
  if (pc != Precision::fp32) convert(wc, c);
}

// ---- the linear op: y = x W^T + bias (backend.h) ---------------------------------------
// One cuBLASLt call with the bias epilogue where cuBLASLt takes the formats: x and W in
// one format with a native product (fp32, tf32, fp16, bf16; fp16/bf16 into y of their
// format or fp32), and the bias stored like y (the epilogue reads the bias in D's type).
// cuBLASLt adds the bias to the fp32 result before the one rounding into y, as the
// unfused steps do. Returns false when the product must take the unfused path.
bool CudaBackend::linearEpilogue(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  const Precision px = x.precision(), py = y.precision();
  if (w.precision() != px || isFp8(px) || isFp8(py) || isFp8(bias.precision())) return false;
  if (nativeType(bias.precision()) != nativeType(py)) return false;
  const bool half = px == Precision::fp16 || px == Precision::bf16;
  const bool tf32 = px == Precision::tf32;
  if (half && py != px && py != Precision::fp32) return false;
  if (px == Precision::fp32 && py != Precision::fp32) return false;
  if (tf32 && py != Precision::tf32 && py != Precision::fp32) return false;
  const std::int64_t m = x.shape()[0], k = x.shape()[1], n = w.shape()[0];
  GemmKey key{false, true, m, n, k, nativeType(px), nativeType(py),
              tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
  key.biasEpilogue = true;
  if (!runLt(*this, key, 1.0f, x.data(), w.data(), 0.0f, y.data(), bias.data())) return false;
  if (py == Precision::tf32) roundInPlace(y);
  return true;
}

// An fp32 view of `shape` on a buffer kept for the unfused linear op, so that a training
// step allocates only the first time (a captured step may not allocate).
Tensor CudaBackend::linearScratch(const Shape& shape) {
  if (!linearScratch_.defined() || linearScratch_.numel() < shape.numel())
    linearScratch_ = empty(Shape{shape.numel()}, Precision::fp32);
  return linearScratch_.reshaped(shape);
}

void CudaBackend::linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  PLAB_HOST_TIMED("linear");
  if (x.shape().rank() != 2 || w.shape().rank() != 2 || y.shape().rank() != 2)
    throwShapeError("linear", "x, W and y must be matrices, got x " + x.shape().toString() + ", W " +
                                  w.shape().toString() + ", y " + y.shape().toString());
  if (x.shape()[1] != w.shape()[1] || y.shape()[0] != x.shape()[0] || y.shape()[1] != w.shape()[0])
    throwShapeError("linear", "shapes do not match: x " + x.shape().toString() + ", W " + w.shape().toString() +
                                  " (y = x W^T), y " + y.shape().toString());
  if (accumulation() != Precision::fp32) {
    linearAccumulatingInFp16(x, w, bias, y);
    return;
  }
  if (!bias) {
    gemm(false, true, 1.0f, x, w, 0.0f, y);
    return;
  }
  if (bias->numel() != w.shape()[0])
    throwShapeError("linear", "bias " + bias->shape().toString() + " does not match W " + w.shape().toString() +
                                  " (one value per output)");
  if (linearEpilogue(x, w, *bias, y)) return;
  // Unfused: the product in fp32, the bias added in fp32, one rounding into y. A tf32
  // y reads its fp32 inputs rounded to tf32, as gemm into a tf32 C would.
  const bool roundInputs = y.precision() == Precision::tf32;
  const Tensor xs = roundInputs && x.precision() == Precision::fp32 ? toFp32(x, true) : x;
  const Tensor ws = roundInputs && w.precision() == Precision::fp32 ? toFp32(w, true) : w;
  Tensor wide = y.precision() == Precision::fp32 ? y : linearScratch(y.shape());
  gemm(false, true, 1.0f, xs, ws, 0.0f, wide);
  addBias(wide, *bias);
  if (wide.data() != y.data()) convert(wide, y);
}

// ---- accumulation in fp16 (see the file comment) ----------------------------------------

// Block-scaled formats have no CUDA kernels: Hopper (sm_90) has no fp4 or fp6 tensor
// cores, and emulated MX / NVFP4 kernels come later. The CPU backend is the reference.
bool CudaBackend::supportsPrecision(Precision p, std::string& whyNot) const {
  if (!isBlockScaled(p)) return true;
  whyNot = std::string(toString(p)) + " is block-scaled, and the CUDA backend has no kernels for block-scaled "
           "formats (Hopper has no fp4/fp6 tensor cores; they come later): not yet trainable on CUDA";
  return false;
}

bool CudaBackend::supportsAccumulation(Precision format, ProductKind kind, std::string& whyNot) const {
  if (format == Precision::fp32) return true;
  if (format != Precision::fp16) {
    whyNot = "the cuda backend cannot accumulate " + std::string(toString(format)) + " products in " +
             std::string(toString(format)) + ": cuBLAS has no 16-bit compute type for it (only fp16's "
             "CUBLAS_COMPUTE_16F); use \"fp32\" or the cpu backend";
    return false;
  }
  if (kind == ProductKind::convolution) {
    whyNot = "the cuda backend accumulates fp16 in fp16 for linear layers only (cuBLAS's CUBLAS_COMPUTE_16F); its "
             "convolutions (cuDNN) accumulate in fp32; use \"fp32\" or the cpu backend";
    return false;
  }
  return true;
}

// C = alpha op(A) op(B) + beta C with fp16 operands, sums, alpha, beta and result. An
// fp32 C (a statistics step's temporary) gets the fp16 result widened, exactly.
void CudaBackend::gemmAccumulatingInFp16(const GemmKey& key, const Tensor& a, const Tensor& b, float alpha,
                                         float beta, Tensor& c) {
  if (accumulation() != Precision::fp16 || a.precision() != Precision::fp16 || b.precision() != Precision::fp16)
    throw std::invalid_argument("CUDA backend gemm: accumulation in " + std::string(toString(accumulation())) +
                                " takes fp16 operands and fp16 accumulation only, got A " +
                                std::string(toString(a.precision())) + ", B " + std::string(toString(b.precision())));
  if (c.precision() != Precision::fp16 && c.precision() != Precision::fp32)
    throw std::invalid_argument("CUDA backend gemm: accumulation in fp16 writes fp16 or fp32, not " +
                                std::string(toString(c.precision())));
  Tensor out = c.precision() == Precision::fp16 ? c : empty(c.shape(), Precision::fp16);
  if (beta != 0.0f && out.data() != c.data()) convert(c, out);
  if (!runLt(*this, key, alpha, a.data(), b.data(), beta, out.data()))
    throw std::runtime_error("CUDA backend: cuBLASLt found no CUBLAS_COMPUTE_16F algorithm for gemm " + describe(key));
  if (out.data() != c.data()) convert(out, c);
}

// y = x W^T in fp16 sums, then the bias added and rounded into fp16 (addBias), as the
// CPU's one more rounded addition; an fp32 y gets those fp16 values widened.
void CudaBackend::linearAccumulatingInFp16(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  if (bias && bias->numel() != w.shape()[0])
    throwShapeError("linear", "bias " + bias->shape().toString() + " does not match W " + w.shape().toString() +
                                  " (one value per output)");
  Tensor out = y.precision() == Precision::fp16 ? y : empty(y.shape(), Precision::fp16);
  gemm(false, true, 1.0f, x, w, 0.0f, out);
  if (bias) addBias(out, *bias);
  if (out.data() != y.data()) convert(out, y);
}

}  // namespace plab::cuda
