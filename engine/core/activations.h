#pragma once
// Every activation, registered once (docs/architecture.md, "Adding an activation").
// An entry is a struct with its one-line help, its optional parameter, whether its
// derivative reads the forward's output, and its fp32 formulas; PLAB_ACTIVATIONS lists
// the structs. The Activation enum, the layer types, the experiment schema and its
// parser and writer, the shape rule, the CPU and CUDA kernels and the conformance
// suite all expand that list, so a new activation is a struct and a line here.
//
// Every backend computes the same fp32 value from these formulas before its one
// rounding into the output's format. GELU is the exact erf form 0.5 x (1 + erf(x/√2))
// (PyTorch's default), not the tanh approximation.
#include <math.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/host_device.h"

namespace plab {
namespace act {

// erf, exp and tanh: libm's fp32 functions on the host; in CUDA device code, the
// double function rounded once to fp32. CUDA's fp32 erff/expf/tanhf may differ from
// the host's libm by an ulp or two, and GELU's 1 + erf(x/√2) cancels for negative x,
// which would magnify that ulp into hundreds; a rounded double agrees with an
// accurate libm wherever that is correctly rounded.
PLAB_HOST_DEVICE inline float erfF(float a) {
#if defined(__CUDA_ARCH__)
  return static_cast<float>(::erf(static_cast<double>(a)));
#else
  return ::erff(a);
#endif
}
PLAB_HOST_DEVICE inline float expF(float a) {
#if defined(__CUDA_ARCH__)
  return static_cast<float>(::exp(static_cast<double>(a)));
#else
  return ::expf(a);
#endif
}
PLAB_HOST_DEVICE inline float tanhF(float a) {
#if defined(__CUDA_ARCH__)
  return static_cast<float>(::tanh(static_cast<double>(a)));
#else
  return ::tanhf(a);
#endif
}

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// An activation's one parameter, as the experiment file spells it (key empty: none).
struct Param {
  std::string_view key;
  double defaultValue = 0, min = 0, max = 0;
  std::string_view help;
};

// What each entry provides:
//   kHelp            what it computes, for the schema and the GUI's tooltips
//   kParam           its parameter, passed to forward and grad as `param` (0 if none)
//   kGradFromOutput  grad reads the forward's output y instead of its input x
//   kExact           no transcendental function: every backend matches bit for bit
//   forward(x, param)        y
//   grad(s, dy, param)       dL/dx, where s is y when kGradFromOutput, else x
struct Relu {
  static constexpr std::string_view kHelp = "max(x, 0)";
  static constexpr Param kParam{};
  static constexpr bool kGradFromOutput = false, kExact = true;
  PLAB_HOST_DEVICE static float forward(float x, float) { return x < 0.0f ? 0.0f : x; }  // NaN passes through
  PLAB_HOST_DEVICE static float grad(float x, float dy, float) { return x > 0.0f ? dy : 0.0f; }
};

struct LeakyRelu {
  static constexpr std::string_view kHelp = "x, or slope * x for negative x";
  static constexpr Param kParam{"slope", 0.01, -1e3, 1e3, "slope for negative inputs"};
  static constexpr bool kGradFromOutput = false, kExact = true;
  PLAB_HOST_DEVICE static float forward(float x, float slope) { return x < 0.0f ? slope * x : x; }
  PLAB_HOST_DEVICE static float grad(float x, float dy, float slope) { return x > 0.0f ? dy : slope * dy; }
};

struct Gelu {
  static constexpr std::string_view kHelp = "x * Phi(x), the exact erf form";
  static constexpr Param kParam{};
  static constexpr bool kGradFromOutput = false, kExact = false;
  PLAB_HOST_DEVICE static float forward(float x, float) { return 0.5f * x * (1.0f + erfF(x * kInvSqrt2)); }
  PLAB_HOST_DEVICE static float grad(float x, float dy, float) {
    const float cdf = 0.5f * (1.0f + erfF(x * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * expF(-0.5f * x * x);
    return dy * (cdf + x * pdf);
  }
};

struct Tanh {
  static constexpr std::string_view kHelp = "tanh(x)";
  static constexpr Param kParam{};
  static constexpr bool kGradFromOutput = true, kExact = false;
  PLAB_HOST_DEVICE static float forward(float x, float) { return tanhF(x); }
  PLAB_HOST_DEVICE static float grad(float y, float dy, float) { return dy * (1.0f - y * y); }
};

struct Sigmoid {
  static constexpr std::string_view kHelp = "1 / (1 + exp(-x))";
  static constexpr Param kParam{};
  static constexpr bool kGradFromOutput = true, kExact = false;
  PLAB_HOST_DEVICE static float forward(float x, float) { return 1.0f / (1.0f + expF(-x)); }
  PLAB_HOST_DEVICE static float grad(float y, float dy, float) { return dy * y * (1.0f - y); }
};

struct Silu {
  static constexpr std::string_view kHelp = "x * sigmoid(x), also called swish";
  static constexpr Param kParam{};
  static constexpr bool kGradFromOutput = false, kExact = false;
  PLAB_HOST_DEVICE static float forward(float x, float) { return x / (1.0f + expF(-x)); }
  PLAB_HOST_DEVICE static float grad(float x, float dy, float) {
    const float s = 1.0f / (1.0f + expF(-x));
    return dy * s * (1.0f + x * (1.0f - s));
  }
};

}  // namespace act

// X(name, Struct): `name` is the spelling in experiment files and the enumerator of
// both Activation and LayerType; the order is the order of the docs and the GUI.
#define PLAB_ACTIVATIONS(X) \
  X(relu, Relu)             \
  X(leaky_relu, LeakyRelu)  \
  X(gelu, Gelu)             \
  X(tanh, Tanh)             \
  X(sigmoid, Sigmoid)       \
  X(silu, Silu)

#define PLAB_ACT_ENUMERATOR(name, S) name,
enum class Activation { PLAB_ACTIVATIONS(PLAB_ACT_ENUMERATOR) };
#undef PLAB_ACT_ENUMERATOR

#define PLAB_ACT_LISTED(name, S) Activation::name,
inline constexpr Activation kAllActivations[] = {PLAB_ACTIVATIONS(PLAB_ACT_LISTED)};
#undef PLAB_ACT_LISTED

// Calls f(act::Struct{}) for `a`; a value outside the list is an error, not a fallback.
template <class F>
decltype(auto) visitActivation(Activation a, F&& f) {
#define PLAB_ACT_VISIT(name, S) \
  case Activation::name: return f(act::S{});
  switch (a) { PLAB_ACTIVATIONS(PLAB_ACT_VISIT) }
#undef PLAB_ACT_VISIT
  throw std::invalid_argument("unknown activation value " + std::to_string(static_cast<int>(a)));
}

std::string_view toString(Activation a);  // "leaky_relu"; throws on a value outside the list
std::optional<Activation> parseActivation(std::string_view name);
inline bool gradFromOutput(Activation a) {
  return visitActivation(a, [](auto op) { return decltype(op)::kGradFromOutput; });
}
inline bool exactEverywhere(Activation a) {
  return visitActivation(a, [](auto op) { return decltype(op)::kExact; });
}
inline act::Param activationParam(Activation a) {
  return visitActivation(a, [](auto op) { return decltype(op)::kParam; });
}

namespace act {

// One element, for kernels that switch per element (the CUDA backend). The host entry
// points check `a` with visitActivation before launching, so the trailing NaN is never
// reached by a listed value.
PLAB_HOST_DEVICE inline float forward(Activation a, float x, float param) {
#define PLAB_ACT_FORWARD(name, S) \
  case Activation::name: return S::forward(x, param);
  switch (a) { PLAB_ACTIVATIONS(PLAB_ACT_FORWARD) }
#undef PLAB_ACT_FORWARD
  return NAN;
}
PLAB_HOST_DEVICE inline float grad(Activation a, float source, float dy, float param) {
#define PLAB_ACT_GRAD(name, S) \
  case Activation::name: return S::grad(source, dy, param);
  switch (a) { PLAB_ACTIVATIONS(PLAB_ACT_GRAD) }
#undef PLAB_ACT_GRAD
  return NAN;
}

}  // namespace act
}  // namespace plab
