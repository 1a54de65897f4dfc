#include "backend/conformance_check.h"

#include <cmath>
#include <cstdio>

#include "numerics/convert.h"

namespace plab::conformance {

namespace {

std::string fmtNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string hexBits(Precision p, double v, float scale) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*x", formatInfo(p).totalBits / 4,
                encode(p, static_cast<float>(v) * scale));
  return buf;
}

bool sameValue(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Whether v is what some stored value of format p decodes to (stored / scale, in
// fp32 as download() computes it). With a scale that is not a power of two, v * scale
// need not be the stored value exactly, so the nearest stored value is decoded again.
bool representable(Precision p, float v, float scale) {
  if (std::isnan(v)) return true;
  const float stored = roundTo(p, v * scale);
  return stored / scale == v;
}

}  // namespace

std::string Tolerance::text() const {
  char buf[160];
  switch (kind) {
    case Kind::exact: return "bit-exact";
    case Kind::ulps:
      std::snprintf(buf, sizeof buf, "<= %g ulp%s", ulps,
                    maxMismatchShare < 1 ? (", mismatches <= " + fmtNumber(maxMismatchShare * 100) + "%").c_str() : "");
      return buf;
    case Kind::sum:
      std::snprintf(buf, sizeof buf, "<= 1 ulp + %g*sum|terms|, mismatches <= %g%%", relSum, maxMismatchShare * 100);
      return buf;
  }
  return "?";
}

double ulpAt(Precision p, double v, float scale) {
  const auto& f = formatInfo(p);
  const double a = std::fabs(v) * scale;
  if (!(a >= f.minNormal) || std::isinf(a)) return f.minSubnormal / scale;
  return std::ldexp(1.0, std::ilogb(a) - f.mantissaBits) / scale;
}

double roundRef(Precision p, double v, float scale) {
  // Decoded as download() does: stored / scale in fp32.
  return static_cast<double>(roundTo(p, static_cast<float>(v) * scale) / scale);
}

std::vector<double> roundRef(Precision p, const std::vector<double>& v, float scale) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = roundRef(p, v[i], scale);
  return out;
}

ConformanceResult compare(const Outcome& o, const Tolerance& tol) {
  ConformanceResult r;
  r.op = o.op;
  r.format = std::string(toString(o.format));
  r.shape = o.shape;
  r.tolerance = tol.text();
  r.limit = tol.kind == Tolerance::Kind::exact ? 0.0 : tol.kind == Tolerance::Kind::ulps ? tol.ulps : 1.0;
  const auto& got = *o.got;
  const auto& want = *o.want;
  if (got.size() != want.size()) {
    r.detail = "size " + std::to_string(got.size()) + " != reference " + std::to_string(want.size());
    return r;
  }
  std::size_t mismatches = 0, worst = 0, unrepresentable = 0, firstUnrepresentable = 0;
  double worstError = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (!representable(o.format, got[i], o.scale) && unrepresentable++ == 0) firstUnrepresentable = i;
    if (sameValue(g, w)) continue;
    ++mismatches;
    double e;
    if (std::isnan(g) || std::isnan(w) || std::isinf(g) || std::isinf(w)) {
      e = INFINITY;
    } else if (tol.kind == Tolerance::Kind::sum) {
      const double allowance = ulpAt(o.format, w, o.scale) + tol.relSum * (o.terms ? (*o.terms)[i] : 0.0);
      e = std::fabs(g - w) / allowance;
    } else {
      e = std::fabs(g - w) / ulpAt(o.format, w, o.scale);
    }
    if (e > worstError || mismatches == 1) {
      worstError = e;
      worst = i;
    }
  }
  r.maxError = worstError;
  const double share = got.empty() ? 0.0 : static_cast<double>(mismatches) / static_cast<double>(got.size());
  bool pass = worstError <= r.limit;
  // One differing element is always allowed (a handful of outputs, e.g. a bias
  // gradient, cannot show a share); beyond that the share applies.
  const bool fewMismatches = share <= tol.maxMismatchShare || mismatches <= 1;
  if (tol.kind != Tolerance::Kind::exact) pass = pass && fewMismatches && unrepresentable == 0;
  r.pass = pass && (tol.kind != Tolerance::Kind::exact || mismatches == 0);
  if (mismatches > 0) {
    r.detail = std::to_string(mismatches) + "/" + std::to_string(got.size()) + " differ; worst [" +
               std::to_string(worst) + "] got " + fmtNumber(got[worst]) + " (" + hexBits(o.format, got[worst], o.scale) +
               ") want " + fmtNumber(want[worst]) + " (" + hexBits(o.format, want[worst], o.scale) + ")";
  }
  if (unrepresentable > 0 && tol.kind != Tolerance::Kind::exact) {
    r.detail += (r.detail.empty() ? "" : "; ") + std::to_string(unrepresentable) + " values not representable in " +
                r.format + ", first [" + std::to_string(firstUnrepresentable) + "] = " +
                fmtNumber(got[firstUnrepresentable]);
  }
  return r;
}

}  // namespace plab::conformance
