#include "backend/conformance.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "backend/conformance_suite.h"

namespace plab {

namespace conformance {

Suite::Suite(Backend& b, const ConformanceOptions& options)
    : backend(b), isCpu(b.info().name == "cpu"), rng(options.seed), filter_(options.filter) {}

void Suite::run(const std::string& op, Precision p, const std::string& shape, const std::function<void()>& body) {
  if (!filter_.empty() && op.find(filter_) == std::string::npos) return;
  const std::size_t before = results.size();
  try {
    body();
  } catch (const std::exception& e) {
    fail(op, p, shape, std::string("threw: ") + e.what());
  }
  if (results.size() == before) fail(op, p, shape, "the case recorded no result");
}

Tensor Suite::input(const Shape& s, Precision p, std::vector<double>& values, float lo, float hi, float fp8Scale) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> host(static_cast<std::size_t>(s.numel()));
  Tensor t = backend.empty(s, p);
  if (isFp8(p)) backend.setFp8Scale(t, fp8Scale);
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (float& v : host) v = dist(rng);
    backend.upload(host.data(), t);
    backend.download(t, host.data());
    if (std::any_of(host.begin(), host.end(), [](float v) { return v != 0.0f; }) || host.empty()) break;
  }
  values.assign(host.begin(), host.end());
  return t;
}

Tensor Suite::output(const Shape& s, Precision p, float fp8Scale) {
  Tensor t = backend.empty(s, p);
  if (isFp8(p)) backend.setFp8Scale(t, fp8Scale);
  return t;
}

std::vector<float> Suite::read(const Tensor& t) {
  std::vector<float> host(static_cast<std::size_t>(t.numel()));
  backend.download(t, host.data());
  return host;
}

void Suite::check(const std::string& op, const std::string& shape, const Tensor& t, const std::vector<double>& exactWant,
                  const std::vector<double>* terms, const Tolerance& tol) {
  const float scale = backend.fp8Scale(t);
  const auto want = roundRef(t.precision(), exactWant, scale);
  const auto got = read(t);
  results.push_back(compare({op, shape, t.precision(), scale, &got, &want, terms}, tol));
}

void Suite::checkRounded(const std::string& op, const std::string& shape, const Tensor& t,
                         const std::vector<double>& want, const Tolerance& tol) {
  const float scale = backend.fp8Scale(t);
  const auto got = read(t);
  results.push_back(compare({op, shape, t.precision(), scale, &got, &want, nullptr}, tol));
}

void Suite::fail(const std::string& op, Precision p, const std::string& shape, const std::string& why) {
  ConformanceResult r;
  r.op = op;
  r.format = std::string(toString(p));
  r.shape = shape;
  r.maxError = INFINITY;
  r.tolerance = "-";
  r.detail = why;
  results.push_back(r);
}

Tolerance Suite::products(Precision p) const {
  // fp32 accumulation against a double reference: 1e-5 of the sum of |terms| is
  // far above the fp32 error of sums of a few hundred terms (~K * 2^-24 worst case,
  // sqrt(K) * 2^-24 typical) yet far below one ulp of the narrow formats. In a narrow
  // format only values next to a rounding boundary may round the other way: a few
  // percent at most, where a wrong rounding mode would change about half of them.
  return Tolerance::summed(1e-5, p == Precision::fp32 ? 1.0 : 0.05);
}

Tolerance Suite::elementwise() const { return isCpu ? Tolerance::exact() : Tolerance::inUlps(2); }
Tolerance Suite::fp32Math() const { return isCpu ? Tolerance::exact() : Tolerance::inUlps(2); }

std::string productShape(const Shape& a, bool ta, const Shape& b, bool tb) {
  return a.toString() + (ta ? "^T" : "") + " x " + b.toString() + (tb ? "^T" : "");
}

}  // namespace conformance

std::vector<ConformanceResult> runConformance(Backend& backend, const ConformanceOptions& options) {
  conformance::Suite suite(backend, options);
  conformance::runStepCases(suite);
  conformance::runLabelCases(suite);
  conformance::runProductCases(suite);
  conformance::runAccumulationCases(suite);
  conformance::runElementwiseCases(suite);
  conformance::runLayoutCases(suite);
  conformance::runShadowCases(suite);
  conformance::runBlockCases(suite);
  return std::move(suite.results);
}

}  // namespace plab
