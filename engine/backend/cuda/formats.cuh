#pragma once
// Device-side reading and writing of every storage format, rounding exactly as the
// numerics module's reference (engine/numerics/convert_reference.cpp): round to
// nearest even, subnormals kept (this file must never be built with fast math or
// -ftz=true), fp16/bf16 overflow to inf, NaN quieted with its payload kept, fp8 as
// __nv_cvt_float_to_fp8(x, __NV_SATFINITE, ...).
//
// Storage: fp32 and tf32 as float (tf32 values already rounded), fp16 and bf16 as
// their 16 raw bits, fp8 as one byte holding round_fp8(value * scale).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>
#include <cstdio>

#include "numerics/precision.h"

namespace plab::cuda {

// ---- scalar conversions ------------------------------------------------------------
__device__ __forceinline__ bool isNanBits(std::uint32_t b) { return (b & 0x7FFFFFFFu) > 0x7F800000u; }

// tf32: the low 13 fraction bits rounded away by integer addition (a carry out of the
// fraction bumps the exponent, as rounding does; from the top finite values it gives inf).
__device__ __forceinline__ float roundTf32(float x) {
  std::uint32_t b = __float_as_uint(x);
  if (isNanBits(b)) return __uint_as_float((b | 0x00400000u) & 0xFFFFE000u);
  b = (b + 0x0FFFu + ((b >> 13) & 1u)) & 0xFFFFE000u;
  return __uint_as_float(b);
}

__device__ __forceinline__ std::uint16_t encodeFp16(float x) {
  const std::uint32_t b = __float_as_uint(x);
  if (isNanBits(b)) return static_cast<std::uint16_t>(((b >> 16) & 0x8000u) | 0x7E00u | ((b >> 13) & 0x03FFu));
  return __half_as_ushort(__float2half_rn(x));
}
__device__ __forceinline__ float decodeFp16(std::uint32_t h) {
  if ((h & 0x7C00u) == 0x7C00u && (h & 0x03FFu) != 0)
    return __uint_as_float(((h & 0x8000u) << 16) | 0x7FC00000u | ((h & 0x03FFu) << 13));
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
}

__device__ __forceinline__ std::uint16_t encodeBf16(float x) {
  const std::uint32_t b = __float_as_uint(x);
  if (isNanBits(b)) return static_cast<std::uint16_t>((b >> 16) | 0x0040u);
  return __bfloat16_as_ushort(__float2bfloat16_rn(x));
}
__device__ __forceinline__ float decodeBf16(std::uint32_t h) { return __uint_as_float(h << 16); }

__device__ __forceinline__ std::uint8_t encodeE4m3(float x) {
  return static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
}
__device__ __forceinline__ std::uint8_t encodeE5m2(float x) {
  return static_cast<std::uint8_t>(__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E5M2));
}
__device__ __forceinline__ float decodeE4m3(std::uint32_t b) {
  if ((b & 0x7Fu) == 0x7Fu) return __uint_as_float(((b & 0x80u) << 24) | 0x7FC00000u);
  const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(b), __NV_E4M3);
  return __half2float(__half(h));
}
// e5m2 is the top byte of an fp16 pattern, NaN payloads included.
__device__ __forceinline__ float decodeE5m2(std::uint32_t b) { return decodeFp16(b << 8); }

// ---- compile-time formats ------------------------------------------------------------
// Fmt<P>::load gives the logical fp32 value of element i; store rounds v into P.
// scale is the fp8 tensor's scale (ignored by the other formats).
template <Precision P> struct Fmt;

template <> struct Fmt<Precision::fp32> {
  using T = float;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float) { return p[i]; }
  static __device__ __forceinline__ float round(float v, float) { return v; }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float) { p[i] = v; }
};
template <> struct Fmt<Precision::tf32> {
  using T = float;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float) { return p[i]; }
  static __device__ __forceinline__ float round(float v, float) { return roundTf32(v); }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float) { p[i] = roundTf32(v); }
};
template <> struct Fmt<Precision::fp16> {
  using T = std::uint16_t;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float) { return decodeFp16(p[i]); }
  static __device__ __forceinline__ float round(float v, float) { return decodeFp16(encodeFp16(v)); }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float) { p[i] = encodeFp16(v); }
};
template <> struct Fmt<Precision::bf16> {
  using T = std::uint16_t;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float) { return decodeBf16(p[i]); }
  static __device__ __forceinline__ float round(float v, float) { return decodeBf16(encodeBf16(v)); }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float) { p[i] = encodeBf16(v); }
};
// fp8: stored = round_fp8(value * scale), value = stored / scale (division, as the CPU does).
template <> struct Fmt<Precision::fp8_e4m3> {
  using T = std::uint8_t;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float s) { return decodeE4m3(p[i]) / s; }
  static __device__ __forceinline__ float round(float v, float s) { return decodeE4m3(encodeE4m3(v * s)) / s; }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float s) { p[i] = encodeE4m3(v * s); }
};
template <> struct Fmt<Precision::fp8_e5m2> {
  using T = std::uint8_t;
  static __device__ __forceinline__ float load(const T* p, std::int64_t i, float s) { return decodeE5m2(p[i]) / s; }
  static __device__ __forceinline__ float round(float v, float s) { return decodeE5m2(encodeE5m2(v * s)) / s; }
  static __device__ __forceinline__ void store(T* p, std::int64_t i, float v, float s) { p[i] = encodeE5m2(v * s); }
};

// ---- run-time formats (for multi-tensor kernels whose tensors differ in format) -------
// The end of a device switch that lists every Precision: only a corrupt value (or a
// block-scaled format, which no CUDA tensor holds) gets here. A kernel cannot throw, so it names the value and traps, which fails the launch
// (reported by PLAB_CUDA) rather than reading the data as some other format. Not
// inlined and never returning, so that the cold path costs the kernels no registers.
[[noreturn]] inline __device__ __noinline__ void trapUnknownPrecision(const char* where, Precision p) {
  printf("plab CUDA kernel, %s: unknown precision value %d\n", where, static_cast<int>(p));
  __trap();
  __builtin_unreachable();
}

__device__ __forceinline__ float loadAny(Precision p, const void* data, std::int64_t i, float scale) {
  switch (p) {
    case Precision::fp32:
    case Precision::tf32: return static_cast<const float*>(data)[i];
    case Precision::fp16: return decodeFp16(static_cast<const std::uint16_t*>(data)[i]);
    case Precision::bf16: return decodeBf16(static_cast<const std::uint16_t*>(data)[i]);
    case Precision::fp8_e4m3: return decodeE4m3(static_cast<const std::uint8_t*>(data)[i]) / scale;
    case Precision::fp8_e5m2: return decodeE5m2(static_cast<const std::uint8_t*>(data)[i]) / scale;
    PLAB_BLOCK_SCALED_CASES: break;  // no CUDA tensor holds one (CudaBackend::supportsPrecision)
  }
  trapUnknownPrecision("loadAny", p);
}
__device__ __forceinline__ void storeAny(Precision p, void* data, std::int64_t i, float v, float scale) {
  switch (p) {
    case Precision::fp32: static_cast<float*>(data)[i] = v; return;
    case Precision::tf32: static_cast<float*>(data)[i] = roundTf32(v); return;
    case Precision::fp16: static_cast<std::uint16_t*>(data)[i] = encodeFp16(v); return;
    case Precision::bf16: static_cast<std::uint16_t*>(data)[i] = encodeBf16(v); return;
    case Precision::fp8_e4m3: static_cast<std::uint8_t*>(data)[i] = encodeE4m3(v * scale); return;
    case Precision::fp8_e5m2: static_cast<std::uint8_t*>(data)[i] = encodeE5m2(v * scale); return;
    PLAB_BLOCK_SCALED_CASES: break;  // no CUDA tensor holds one (CudaBackend::supportsPrecision)
  }
  trapUnknownPrecision("storeAny", p);
}

// Folds max |v| of the values written into an fp8 tensor into its amax slot, which
// keeps growing until updateFp8Scales folds it into the history and restarts it (as
// the CPU backend). One atomic per warp.
// amax >= 0, so comparing float bits as unsigned integers orders them.
__device__ __forceinline__ void reportAmax(float* amax, float localMax) {
  for (int o = 16; o > 0; o >>= 1) localMax = fmaxf(localMax, __shfl_xor_sync(0xFFFFFFFFu, localMax, o));
  if ((threadIdx.x & 31) == 0 && localMax > 0.0f)
    atomicMax(reinterpret_cast<unsigned int*>(amax), __float_as_uint(localMax));
}

}  // namespace plab::cuda
