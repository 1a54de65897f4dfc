// CpuBackend: matrix products (OpenBLAS sgemm), the linear op and bias.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/cpu_accumulate.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_util.h"

namespace plab {

using namespace cpu;

namespace {

// A tensor seen as a matrix: dim 0 is the rows, everything else the columns
// (so an [N, C, H, W] activation is the [N, C*H*W] matrix a Linear layer reads).
struct MatrixDims {
  std::int64_t rows = 0, cols = 0;
};

MatrixDims matrixDims(const char* op, const char* what, const Tensor& t) {
  requireDefined(op, what, t);
  if (t.shape().rank() < 1) fail(op, std::string(what) + " is a scalar, expected a matrix");
  const auto rows = t.shape()[0];
  return {rows, rows ? t.numel() / rows : 0};
}

// The product op(A) op(B) -> C: A and B as matrices, m x k times k x n, checked
// against each other and against C's size.
struct ProductShape {
  MatrixDims a, b;
  std::int64_t m = 0, n = 0, k = 0;
};

ProductShape productShape(const char* op, const char* nameA, const char* nameB, const char* nameC, bool transA,
                          bool transB, const Tensor& a, const Tensor& b, const Tensor& c) {
  ProductShape p{matrixDims(op, nameA, a), matrixDims(op, nameB, b)};
  p.m = transA ? p.a.cols : p.a.rows;
  p.k = transA ? p.a.rows : p.a.cols;
  const auto kb = transB ? p.b.cols : p.b.rows;
  p.n = transB ? p.b.rows : p.b.cols;
  if (p.k != kb)
    fail(op, std::string("inner dimensions differ: ") + nameA + " " + a.shape().toString() + (transA ? "^T" : "") +
                 " times " + nameB + " " + b.shape().toString() + (transB ? "^T" : ""));
  requireNumel(op, nameC, c, p.m * p.n);
  return p;
}

// tf32 products read their fp32 inputs rounded to tf32 (as tensor cores do); inputs
// in narrower formats are already exact in tf32.
const float* tf32Operand(const Tensor& t, float* buffer) {
  if (t.precision() != Precision::fp32) return slots(t);
  roundArray(Precision::tf32, slots(t), buffer, static_cast<std::size_t>(t.numel()));
  return buffer;
}

// Spatial size of [N, C, ...] (1 for [N, C]).
std::int64_t spatialSize(const Tensor& t) {
  std::int64_t s = 1;
  for (std::size_t i = 2; i < t.shape().rank(); ++i) s *= t.shape()[i];
  return s;
}

// y[i, j, s] += bias[j] over [batch, channels, spatial] fp32 values, one fp32 add each.
void addChannelBias(float* py, std::int64_t batch, std::int64_t channels, std::int64_t spatial, const float* pb) {
  for (std::int64_t i = 0; i < batch; ++i) {
    if (spatial == 1) {  // [N, C]: one vectorisable pass per row
      float* row = py + i * channels;
      for (std::int64_t j = 0; j < channels; ++j) row[j] += pb[j];
      continue;
    }
    for (std::int64_t j = 0; j < channels; ++j) {
      float* row = py + (i * channels + j) * spatial;
      const float bj = pb[j];
      for (std::int64_t s = 0; s < spatial; ++s) row[s] += bj;
    }
  }
}

}  // namespace

// C = alpha * op(A) op(B) + beta * C in fp32, left in C's slots unrounded (gemm and
// linear round it). fp8 inputs are multiplied as stored and the product scaled by
// alpha * (1 / scaleA) * (1 / scaleB), as cuBLASLt applies scale-inverse pointers.
CpuBackend::ProductDims CpuBackend::multiplyFp32(const ProductNames& names, bool transA, bool transB, float alpha,
                                                 const Tensor& a, const Tensor& b, float beta, Tensor& c) {
  const ProductShape p = productShape(names.op, names.a, names.b, names.c, transA, transB, a, b, c);
  const auto m = p.m, n = p.n, k = p.k;
  const MatrixDims& da = p.a;
  const MatrixDims& db = p.b;
  const float factor = alpha * inverseScale(a) * inverseScale(b);
  const float* pa = slots(a);
  const float* pb = slots(b);
  if (c.precision() == Precision::tf32) {
    pa = tf32Operand(a, scratch(2, static_cast<std::size_t>(a.numel())));
    pb = tf32Operand(b, scratch(3, static_cast<std::size_t>(b.numel())));
  }
  if (beta != 0.0f) decodeInPlace(c);
  if (m > 0 && n > 0) {
    if (k > 0) {
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                  static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), factor, pa,
                  static_cast<int>(da.cols), pb, static_cast<int>(db.cols), beta, slots(c), static_cast<int>(n));
    } else {
      float* pc = slots(c);
      for (std::int64_t i = 0; i < m * n; ++i) pc[i] = beta == 0.0f ? 0.0f : beta * pc[i];
    }
  }
  return {m, n};
}

// C = op(A) op(B) summed in accumulation()'s format, rounding after every addition
// (cpu_accumulate.h), left in C's slots (already in that format). Only the plain
// product a layer asks for: alpha = 1, beta = 0, inputs without an fp8 scale.
CpuBackend::ProductDims CpuBackend::multiplyRoundedSum(const ProductNames& names, bool transA, bool transB,
                                                       float alpha, const Tensor& a, const Tensor& b, float beta,
                                                       Tensor& c) {
  const char* op = names.op;
  const Precision format = accumulation();
  if (alpha != 1.0f || beta != 0.0f || a.scale() || b.scale())
    fail(op, std::string("accumulation in ") + std::string(toString(format)) +
                 " takes alpha = 1, beta = 0 and no fp8 inputs");
  const ProductShape p = productShape(op, names.a, names.b, names.c, transA, transB, a, b, c);
  multiplyRounded(format, transA, transB, p.m, p.n, p.k, slots(a), p.a.cols, slots(b), p.b.cols, false, slots(c),
                  scratch(5, static_cast<std::size_t>(p.n * p.k)));
  return {p.m, p.n};
}

void CpuBackend::gemm(bool transA, bool transB, float alpha, const Tensor& a, const Tensor& b, float beta,
                      Tensor& c) {
  if (accumulation() != Precision::fp32)
    multiplyRoundedSum({"gemm", "A", "B", "C"}, transA, transB, alpha, a, b, beta, c);
  else
    multiplyFp32({"gemm", "A", "B", "C"}, transA, transB, alpha, a, b, beta, c);
  finishOutput(c);
}

// The product and the bias summed in y's fp32 slots, then the one rounding: the same
// values as gemm into an fp32 temporary, addBias, convert (backend.h).
// With accumulation in a narrow format, the bias is one more rounded addition.
void CpuBackend::linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  const ProductNames names{"linear", "x", "W", "y"};
  const Precision format = accumulation();
  const ProductDims d = format != Precision::fp32 ? multiplyRoundedSum(names, false, true, 1.0f, x, w, 0.0f, y)
                                                  : multiplyFp32(names, false, true, 1.0f, x, w, 0.0f, y);
  if (bias) {
    requireNumel("linear", "bias", *bias, d.cols);
    const float* pb = logicalValues(*bias, scratch(0, static_cast<std::size_t>(d.cols)));
    if (format == Precision::fp32) {
      addChannelBias(slots(y), d.rows, d.cols, 1, pb);
    } else {
      float* py = slots(y);
      for (std::int64_t i = 0; i < d.rows * d.cols; ++i) py[i] = addRounded(format, py[i], pb[i % d.cols]);
    }
  }
  finishOutput(y);
}

void CpuBackend::addBias(Tensor& y, const Tensor& bias) {
  requireDefined("addBias", "y", y);
  if (y.shape().rank() < 2) fail("addBias", "y has shape " + y.shape().toString() + ", expected [N, C, ...]");
  const auto batch = y.shape()[0], channels = y.shape()[1], spatial = spatialSize(y);
  requireNumel("addBias", "bias", bias, channels);
  const float* pb = logicalValues(bias, scratch(0, static_cast<std::size_t>(channels)));
  decodeInPlace(y);
  addChannelBias(slots(y), batch, channels, spatial, pb);
  finishOutput(y);
}

// db[j] = sum of dy over every dim but 1, accumulated in fp32 in row order.
void CpuBackend::biasGrad(const Tensor& dy, Tensor& db) {
  requireDefined("biasGrad", "dy", dy);
  if (dy.shape().rank() < 2) fail("biasGrad", "dy has shape " + dy.shape().toString() + ", expected [N, C, ...]");
  const auto batch = dy.shape()[0], channels = dy.shape()[1], spatial = spatialSize(dy);
  requireNumel("biasGrad", "db", db, channels);
  const float* pdy = logicalValues(dy, scratch(0, static_cast<std::size_t>(dy.numel())));
  float* out = slots(db);
  std::fill_n(out, channels, 0.0f);
  for (std::int64_t i = 0; i < batch; ++i) {
    const float* rowBlock = pdy + i * channels * spatial;
    if (spatial == 1) {
      for (std::int64_t j = 0; j < channels; ++j) out[j] += rowBlock[j];  // vectorises over j
      continue;
    }
    for (std::int64_t j = 0; j < channels; ++j) {
      const float* plane = rowBlock + j * spatial;
      float sum = 0;
      for (std::int64_t s = 0; s < spatial; ++s) sum += plane[s];
      out[j] += sum;
    }
  }
  finishOutput(db);
}

}  // namespace plab
