#pragma once
// Shared plumbing of the conformance cases: random inputs in a format, reading
// outputs back, and recording one checked outcome per op, format and shape.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/conformance.h"
#include "backend/conformance_check.h"

namespace plab::conformance {

class Suite {
 public:
  Suite(Backend& backend, const ConformanceOptions& options);

  Backend& backend;
  bool isCpu;  // the CPU backend is held to bit-exactness where the reference is fp32
  std::mt19937_64 rng;

  // Runs one case unless filtered out; an exception becomes a failed result.
  void run(const std::string& op, Precision p, const std::string& shape, const std::function<void()>& body);
  // Random values uniform in [lo, hi] rounded into format p (fp8: scale 2), never
  // all zero. `values` receives the logical values the tensor holds.
  Tensor input(const Shape& s, Precision p, std::vector<double>& values, float lo = -1.0f, float hi = 1.0f,
               float fp8Scale = 2.0f);
  // An output tensor of format p (fp8: scale 0.5, so scales are exercised).
  Tensor output(const Shape& s, Precision p, float fp8Scale = 0.5f);
  std::vector<float> read(const Tensor& t);
  // Rounds `exactWant` into t's format and compares with what t holds.
  void check(const std::string& op, const std::string& shape, const Tensor& t, const std::vector<double>& exactWant,
             const std::vector<double>* terms, const Tolerance& tol);
  // The same, when the reference is already in t's format.
  void checkRounded(const std::string& op, const std::string& shape, const Tensor& t, const std::vector<double>& want,
                    const Tolerance& tol);
  void fail(const std::string& op, Precision p, const std::string& shape, const std::string& why);

  // Standard tolerances: products and sums against a double reference; elementwise
  // against an fp32 reference (bit-exact on the CPU, 2 ulps elsewhere).
  Tolerance products(Precision p) const;
  Tolerance elementwise() const;
  Tolerance fp32Math() const;  // a float reference of the same formula (optimizers)

  std::vector<ConformanceResult> results;

 private:
  std::string filter_;
};

std::string productShape(const Shape& a, bool ta, const Shape& b, bool tb);

void runProductCases(Suite& s);      // gemm, linear, bias, convolution
void runAccumulationCases(Suite& s); // products accumulating in fp16 / bf16
void runElementwiseCases(Suite& s);  // activations, dropout, pooling, batch norm
void runStepCases(Suite& s);
void runLabelCases(Suite& s);        // bad class labels: the same error on every backend
void runShadowCases(Suite& s);       // the shadow pass's measure against its round-trip reference
void runBlockCases(Suite& s);        // block quantisation and stochastic rounding against the numerics reference
void runLayoutCases(Suite& s);       // a CNN's ops chained in each convolution layout         // conversions, stats, losses, optimizers, loss scale, fp8 scales

}  // namespace plab::conformance
