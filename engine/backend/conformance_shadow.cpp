// Conformance cases: Backend::measureShadow, the shadow pass's measure
// (backend/shadow_measure.h), against its host reference measureShadowReference, which
// rounds every value through the format. Shadow values reach every class in every
// format: zeros of both signs, inf, NaN, fp32 subnormals, each bound of the format and
// its neighbours, and random values over the format's whole range; the real tensor is
// the shadow perturbed and rounded into the format (fp8 with a scale that is not a
// power of two, so "as scaled" is exercised). Counts and histogram bins must be equal;
// the sums of squares within 1e-12 relatively (the reference sums in element order, a
// backend in its own order).
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <tuple>

#include "backend/conformance_suite.h"

namespace plab::conformance {

namespace {

constexpr float kFp8Scale = 3.5f;

void pushNeighbours(std::vector<float>& out, float v) {
  if (!std::isfinite(v)) return;
  for (float x : {std::nextafter(v, 0.0f), v, std::nextafter(v, std::numeric_limits<float>::infinity())}) {
    out.push_back(x);
    out.push_back(-x);
  }
}

std::vector<float> shadowValues(Suite& s, Precision p, float scale, std::size_t n, bool specials) {
  std::vector<float> v;
  if (specials) {
    const float inf = std::numeric_limits<float>::infinity();
    for (float x : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::denorm_min(), -std::ldexp(1.0f, -140)})
      v.push_back(x);
  }
  // Each bound as the format sees it (times the scale), in shadow terms.
  const ShadowBounds& b = shadowBounds(p);
  for (float bound : {b.underflowMax, b.overflowFrom, b.saturateAbove, b.precisionLossBelow,
                      float(formatInfo(p).minNormal), float(formatInfo(p).maxFinite)})
    pushNeighbours(v, bound / scale);
  const FormatInfo& f = formatInfo(p);
  const int lo = std::ilogb(f.minSubnormal) - 4, hi = std::min(std::ilogb(f.maxFinite) + 2, 126);
  std::uniform_int_distribution<int> exponent(lo, hi);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::bernoulli_distribution negative(0.5), zero(0.05);
  while (v.size() < n) {
    if (zero(s.rng)) {
      v.push_back(0.0f);
      continue;
    }
    const float x = std::ldexp(mantissa(s.rng), exponent(s.rng)) / scale;
    v.push_back(negative(s.rng) ? -x : x);
  }
  // Finite: nothing the real tensor (the shadow perturbed by up to 1%) would hold as
  // inf, so that the sums of squares are finite numbers to compare (fp8 saturates: its
  // overflows stay).
  const float finiteLimit = std::min(b.overflowFrom, std::numeric_limits<float>::max()) / 1.02f;
  if (!specials)
    std::erase_if(v, [&](float x) { return !std::isfinite(x) || !(std::fabs(x * scale) < finiteLimit); });
  while (v.size() < n) v.push_back(mantissa(s.rng) / scale);
  std::shuffle(v.begin(), v.end(), s.rng);
  return v;
}

std::string tallyText(const ShadowTally& t) {
  std::ostringstream o;
  o << "count " << t.count << ", zeros " << t.zeros << ", underflows " << t.underflows << ", overflows "
    << t.overflows << ", precision loss " << t.precisionLoss << ", squares " << t.diffSquares << " / "
    << t.shadowSquares;
  return o.str();
}

double relativeDistance(double a, double b) {
  if (a == b) return 0;  // also both inf
  if (!std::isfinite(a) || !std::isfinite(b)) return std::isnan(a) && std::isnan(b) ? 0 : INFINITY;
  return std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b));
}

void measureCase(Suite& s, Precision p, const Shape& shape, bool specials, bool channelsLast) {
  const std::size_t n = std::size_t(shape.numel());
  const float scale = isFp8(p) ? kFp8Scale : 1.0f;
  const std::vector<float> shadowHost = shadowValues(s, p, scale, n, specials);
  Tensor shadow = s.backend.empty(shape, Precision::fp32);
  s.backend.upload(shadowHost.data(), shadow);

  // The run's tensor: the shadow a little off, rounded into the format.
  std::uniform_real_distribution<float> noise(-0.01f, 0.01f);
  std::vector<float> realHost(n);
  for (std::size_t i = 0; i < n; ++i) realHost[i] = shadowHost[i] * (1.0f + noise(s.rng));
  Tensor real = s.output(shape, p, scale);
  s.backend.upload(realHost.data(), real);
  const std::vector<float> realLogical = s.read(real);
  const float realScale = s.backend.fp8Scale(real);
  Tensor measured = real;
  if (channelsLast) {
    measured = s.backend.empty(shape, p);
    if (isFp8(p)) measured = measured.withFp8ScaleOf(real);
    s.backend.toLayout(real, measured, MemoryLayout::nhwc);
  }

  ShadowTally want, got, alone, wantAlone;
  measureShadowReference(shadowHost, realLogical, p, realScale, want);
  measureShadowReference(shadowHost, {}, p, 1.0f, wantAlone);
  s.backend.measureShadow(shadow, &measured, p, got);
  s.backend.measureShadow(shadow, nullptr, p, alone);
  s.backend.synchronize();  // both tallies are complete after it

  ConformanceResult r;
  r.op = "measureShadow";
  r.format = std::string(toString(p));
  r.shape = shape.toString() + (specials ? " with zeros, inf, NaN, subnormals" : " finite") +
            (channelsLast ? ", real channels-last" : "");
  r.limit = 1e-12;
  r.tolerance = "counts and bins equal to the round-trip reference; sums of squares within 1e-12 relatively";
  std::string why;
  const auto same = [&](const char* what, std::int64_t a, std::int64_t b) {
    if (a != b && why.empty()) why = std::string(what) + " " + std::to_string(a) + ", want " + std::to_string(b);
  };
  for (const auto& [g, w, label] : {std::tuple{&got, &want, ""}, std::tuple{&alone, &wantAlone, " (no real)"}}) {
    same((std::string("count") + label).c_str(), g->count, w->count);
    same((std::string("zeros") + label).c_str(), g->zeros, w->zeros);
    same((std::string("underflows") + label).c_str(), g->underflows, w->underflows);
    same((std::string("overflows") + label).c_str(), g->overflows, w->overflows);
    same((std::string("precision loss") + label).c_str(), g->precisionLoss, w->precisionLoss);
    for (int i = 0; i < kLog2HistBins; ++i)
      same(("bin " + std::to_string(i) + label).c_str(), g->log2Hist[std::size_t(i)], w->log2Hist[std::size_t(i)]);
    if (g->compared != w->compared && why.empty()) why = std::string("compared differs") + label;
  }
  r.maxError = std::max(relativeDistance(got.diffSquares, want.diffSquares),
                        relativeDistance(got.shadowSquares, want.shadowSquares));
  if (!(finishShadow(got).relError == finishShadow(want).relError) &&
      relativeDistance(finishShadow(got).relError, finishShadow(want).relError) > 1e-12 && why.empty())
    why = "relative error differs";
  // Every class must occur, or the case proves little.
  // (fp32 itself: nothing finite underflows or overflows; the finite values stop
  // below where a format rounds to inf, so only fp8, which saturates, overflows there.)
  const bool fp32 = p == Precision::fp32;
  const bool overflowExpected = specials || isFp8(p);
  if (why.empty() && ((want.underflows == 0 && !fp32) || (want.overflows == 0 && overflowExpected) ||
                      want.zeros == 0 || want.precisionLoss == 0 ||
                      (!specials && !(std::isfinite(want.diffSquares) && std::isfinite(want.shadowSquares)))))
    why = "the values reach too few classes: " + tallyText(want);
  r.pass = why.empty() && r.maxError <= r.limit;
  r.detail = why.empty() ? tallyText(got) : why + " (got " + tallyText(got) + "; want " + tallyText(want) + ")";
  s.results.push_back(r);
}

}  // namespace

void runShadowCases(Suite& s) {
  for (Precision p : kScalarPrecisions) {  // the layer formats; block-scaled ones are refused
    s.run("measureShadow", p, "[4099] finite", [&] { measureCase(s, p, Shape{4099}, false, false); });
    s.run("measureShadow", p, "[3, 5, 7, 11] with specials",
          [&] { measureCase(s, p, Shape{3, 5, 7, 11}, true, false); });
    // Channels-last exists on the CUDA backend only (the CPU holds nchw).
    if (!s.isCpu)
      s.run("measureShadow", p, "[3, 5, 7, 11] real channels-last",
            [&] { measureCase(s, p, Shape{3, 5, 7, 11}, true, true); });
  }
}

}  // namespace plab::conformance
