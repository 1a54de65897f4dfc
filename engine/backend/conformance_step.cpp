// Conformance cases: conversions and statistics (bit-exact everywhere), losses and
// evaluation (double references), loss-scale rule and fp8 scales (exact).
#include <cmath>
#include <limits>

#include "backend/conformance_suite.h"
#include "numerics/convert.h"

namespace plab::conformance {

void runOptimizerCases(Suite& s);

namespace {

// Values over the whole fp32 range that matter to the formats: every exponent from
// 2^-30 to 2^20, ties, zeros, and (when `specials`) inf and NaN.
std::vector<float> wideValues(Suite& s, std::size_t n, bool specials) {
  std::uniform_int_distribution<int> exponent(-30, 20);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float sign = (s.rng() & 1) ? -1.0f : 1.0f;
    v[i] = sign * std::ldexp(mantissa(s.rng), exponent(s.rng));
    if (i % 17 == 0) v[i] = sign * std::ldexp(1.0f + 1.0f / 2048.0f, exponent(s.rng));  // an fp16 tie
  }
  v[0] = 0.0f;
  v[1] = -0.0f;
  if (specials) {
    v[2] = std::numeric_limits<float>::infinity();
    v[3] = -std::numeric_limits<float>::infinity();
    v[4] = std::numeric_limits<float>::quiet_NaN();
  }
  return v;
}

std::vector<float> statsVector(const TensorStats& t) {
  std::vector<float> v{float(t.count), float(t.zeros), float(t.underflows), float(t.overflows), float(t.nonFinite),
                       t.maxAbs};
  for (auto h : t.log2Hist) v.push_back(float(h));
  return v;
}

// The naive statistics of before -> after (after empty: no rounding).
std::vector<double> referenceStats(const std::vector<float>& before, const std::vector<float>& after, double limit) {
  TensorStats r;
  r.count = static_cast<std::int64_t>(before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    const float b = before[i], a = after.empty() ? b : after[i];
    r.zeros += a == 0.0f;
    if (std::isnan(b) || std::isinf(b)) {
      ++r.nonFinite;
      continue;
    }
    r.maxAbs = std::max(r.maxAbs, std::fabs(b));
    if (b == 0.0f) continue;
    const int bin = std::clamp(static_cast<int>(std::floor(std::log2(std::fabs(double(b))))) - kLog2HistMin, 0,
                               kLog2HistBins - 1);
    ++r.log2Hist[bin];
    if (after.empty()) continue;
    r.underflows += a == 0.0f;
    r.overflows += std::isinf(a) || (limit > 0 && std::fabs(b) > limit);
  }
  const auto f = statsVector(r);
  return {f.begin(), f.end()};
}

void compareStats(Suite& s, const std::string& op, Precision p, const std::string& shape, const TensorStats& got,
                  const std::vector<double>& want) {
  const auto g = statsVector(got);
  auto r = compare({op, shape, Precision::fp32, 1.0f, &g, &want, nullptr}, Tolerance::exact());
  r.format = std::string(toString(p));
  if (!r.pass) r.detail = "fields [count, zeros, underflows, overflows, nonFinite, maxAbs, hist...]: " + r.detail;
  s.results.push_back(r);
}

void conversionCases(Suite& s, Precision p) {
  const std::size_t n = 4099;
  const std::string shape = "[" + std::to_string(n) + "]";
  s.run("convert fp32->format", p, shape, [&] {
    const auto values = wideValues(s, n, true);
    Tensor src = s.backend.empty({std::int64_t(n)}, Precision::fp32);
    s.backend.upload(values.data(), src);
    Tensor dst = s.output({std::int64_t(n)}, p);
    TensorStats stats;
    s.backend.convert(src, dst, &stats);
    const float scale = s.backend.fp8Scale(dst);
    std::vector<double> want(n);
    std::vector<float> before(n), after(n);
    for (std::size_t i = 0; i < n; ++i) {
      before[i] = values[i] * scale;
      after[i] = roundTo(p, before[i]);
      want[i] = static_cast<double>(after[i]) / scale;
    }
    s.checkRounded("convert fp32->format", shape, dst, want, Tolerance::exact());
    const double limit = isFp8(p) ? formatInfo(p).maxFinite : 0.0;
    compareStats(s, "convert stats", p, shape, stats, referenceStats(before, after, limit));
  });
  s.run("convert format->fp32", p, shape, [&] {
    const auto values = wideValues(s, n, true);
    Tensor src = s.output({std::int64_t(n)}, p);
    s.backend.upload(values.data(), src);
    const auto held = s.read(src);
    Tensor dst = s.backend.empty({std::int64_t(n)}, Precision::fp32);
    s.backend.convert(src, dst);
    s.checkRounded("convert format->fp32", shape, dst, std::vector<double>(held.begin(), held.end()),
                   Tolerance::exact());
    s.results.back().format = std::string(toString(p));  // the source's format
  });
  s.run("fill", p, "[257]", [&] {
    Tensor t = s.output({257}, p);
    const float value = -3.3f;
    s.backend.fill(t, value);
    const float scale = s.backend.fp8Scale(t);
    s.checkRounded("fill", "[257]", t, std::vector<double>(257, double(roundTo(p, value * scale)) / scale),
                   Tolerance::exact());
  });
  s.run("upload/download", p, shape, [&] {
    const auto values = wideValues(s, n, true);
    Tensor t = s.output({std::int64_t(n)}, p);
    s.backend.upload(values.data(), t);
    const float scale = s.backend.fp8Scale(t);
    std::vector<double> want(n);
    for (std::size_t i = 0; i < n; ++i) want[i] = static_cast<double>(roundTo(p, values[i] * scale)) / scale;
    s.checkRounded("upload/download", shape, t, want, Tolerance::exact());
    TensorStats stats;
    s.backend.stats(t, stats);
    std::vector<float> stored(n);
    for (std::size_t i = 0; i < n; ++i) stored[i] = static_cast<float>(want[i] * scale);
    compareStats(s, "stats", p, shape, stats, referenceStats(stored, {}, 0.0));
  });
}

void lossCases(Suite& s, Precision p) {
  LossScaleRule rule;
  rule.mode = LossScaleMode::fixed;
  rule.initScale = 1024.0f;
  const std::int64_t rows = 32, classes = 10;
  const std::string shape = Shape{rows, classes}.toString();
  s.run("softmax cross-entropy", p, shape, [&] {
    std::vector<double> x;
    Tensor logits = s.input({rows, classes}, p, x, -6.0f, 6.0f);
    std::vector<float> labels(rows);
    for (auto& l : labels) l = static_cast<float>(s.rng() % classes);
    Tensor tl = s.backend.empty({rows}, Precision::fp32);
    s.backend.upload(labels.data(), tl);
    Tensor d = s.output({rows, classes}, p);
    auto state = s.backend.createStepState(rule, 1);
    s.backend.softmaxCrossEntropy(logits, tl, *state, d);
    s.backend.updateLossScale(*state, 1);
    const auto records = s.backend.drainStepRecords(*state);
    std::vector<double> want(x.size()), terms(x.size());
    double loss = 0, lossTerms = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
      double mx = -INFINITY, sum = 0;
      for (std::int64_t j = 0; j < classes; ++j) mx = std::max(mx, x[i * classes + j]);
      for (std::int64_t j = 0; j < classes; ++j) sum += std::exp(x[i * classes + j] - mx);
      const auto label = static_cast<std::int64_t>(labels[i]);
      loss += std::log(sum) + mx - x[i * classes + label];
      lossTerms += std::log(sum) + std::fabs(mx) + std::fabs(x[i * classes + label]);
      for (std::int64_t j = 0; j < classes; ++j) {
        const double prob = std::exp(x[i * classes + j] - mx) / sum;
        want[i * classes + j] = 1024.0 * (prob - (j == label)) / rows;
        terms[i * classes + j] = 1024.0 * (prob + (j == label)) / rows;
      }
    }
    s.check("softmax cross-entropy dlogits", shape, d, want, &terms, s.products(p));
    const std::vector<float> gotLoss{records.empty() ? NAN : records[0].loss};
    const std::vector<double> wantLoss{static_cast<float>(loss / rows)}, lossT{lossTerms / rows};
    auto r = compare({"softmax cross-entropy loss", shape, Precision::fp32, 1.0f, &gotLoss, &wantLoss, &lossT},
                     s.products(Precision::fp32));
    r.format = std::string(toString(p));
    s.results.push_back(r);
  });
  s.run("mse", p, "[20, 3]", [&] {
    std::vector<double> x, t;
    Tensor pred = s.input({20, 3}, p, x, -2.0f, 2.0f), target = s.input({20, 3}, Precision::fp32, t, -2.0f, 2.0f);
    Tensor d = s.output({20, 3}, p);
    auto state = s.backend.createStepState(rule, 1);
    s.backend.meanSquaredError(pred, target, *state, d);
    s.backend.updateLossScale(*state, 1);
    const auto records = s.backend.drainStepRecords(*state);
    std::vector<double> want(x.size()), terms(x.size());
    double loss = 0, lossTerms = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      loss += (x[i] - t[i]) * (x[i] - t[i]) / 60.0;
      lossTerms += (std::fabs(x[i]) + std::fabs(t[i])) * std::fabs(x[i] - t[i]) / 60.0;
      want[i] = 1024.0 * 2.0 * (x[i] - t[i]) / 60.0;
      terms[i] = 1024.0 * 2.0 * (std::fabs(x[i]) + std::fabs(t[i])) / 60.0;
    }
    s.check("mse dprediction", "[20, 3]", d, want, &terms, s.products(p));
    const std::vector<float> gotLoss{records.empty() ? NAN : records[0].loss};
    const std::vector<double> wantLoss{static_cast<float>(loss)}, lossT{lossTerms};
    auto r = compare({"mse loss", "[20, 3]", Precision::fp32, 1.0f, &gotLoss, &wantLoss, &lossT},
                     s.products(Precision::fp32));
    r.format = std::string(toString(p));
    s.results.push_back(r);
  });
}

void evaluateCase(Suite& s, Precision p) {
  s.run("evaluate", p, "[50, 7]", [&] {
    std::vector<double> x;
    Tensor out = s.input({50, 7}, p, x, -3.0f, 3.0f);
    std::vector<float> labels(50);
    for (auto& l : labels) l = static_cast<float>(s.rng() % 7);
    Tensor tl = s.backend.empty({50}, Precision::fp32);
    s.backend.upload(labels.data(), tl);
    const auto r = s.backend.evaluate(out, tl, true);
    double loss = 0, terms = 0, correct = 0;
    for (int i = 0; i < 50; ++i) {
      double mx = -INFINITY, sum = 0;
      int best = 0;
      for (int j = 0; j < 7; ++j) {
        mx = std::max(mx, x[i * 7 + j]);
        if (x[i * 7 + j] > x[i * 7 + best]) best = j;
      }
      for (int j = 0; j < 7; ++j) sum += std::exp(x[i * 7 + j] - mx);
      loss += std::log(sum) + mx - x[i * 7 + int(labels[i])];
      terms += std::log(sum) + std::fabs(mx) + std::fabs(x[i * 7 + int(labels[i])]);
      correct += best == int(labels[i]);
    }
    const std::vector<float> got{float(r.lossSum), float(r.correct), float(r.count)};
    const std::vector<double> want{float(loss), correct, 50.0}, t{terms, 0.0, 0.0};
    auto c = compare({"evaluate [lossSum, correct, count]", "[50, 7]", Precision::fp32, 1.0f, &got, &want, &t},
                     s.products(Precision::fp32));
    c.format = std::string(toString(p));
    s.results.push_back(c);
  });
}

// The loss-scale rule as the backend applies it, step by step, against nextCounters.
void lossScaleCase(Suite& s) {
  s.run("loss scale rule", Precision::fp32, "12 steps", [&] {
    LossScaleRule rule;
    rule.initScale = 1024.0f;
    rule.growthInterval = 3;
    rule.hysteresis = 2;
    rule.minScale = 256.0f;
    const bool overflowAt[12] = {false, false, false, true, false, true, true, true, true, true, false, false};
    auto state = s.backend.createStepState(rule, 2);
    Tensor clean = s.backend.zeros({4}, Precision::fp16), bad = s.backend.zeros({4}, Precision::fp16);
    s.backend.fill(bad, std::numeric_limits<float>::quiet_NaN());
    LossScaleCounters c = initialCounters(rule);
    std::vector<float> got;
    std::vector<double> want;
    for (int i = 0; i < 12; ++i) {
      const std::vector<Tensor> grads{clean, overflowAt[i] ? bad : clean};
      s.backend.checkGradients(grads, *state);
      s.backend.updateLossScale(*state, i + 1);
      want.push_back(c.scale);
      c = nextCounters(rule, c, overflowAt[i]);
      want.push_back(c.scale);
      want.push_back(overflowAt[i]);
      want.push_back(overflowAt[i]);  // gradOverflow[1]
    }
    for (const auto& r : s.backend.drainStepRecords(*state)) {
      got.push_back(r.lossScale);
      got.push_back(r.nextLossScale);
      got.push_back(r.overflow);
      got.push_back(r.gradOverflow.size() == 2 ? r.gradOverflow[1] : -1.0f);
    }
    auto r = compare({"loss scale rule [scale, next, overflow, flag] per step", "12 steps", Precision::fp32, 1.0f, &got,
                      &want, nullptr},
                     Tolerance::exact());
    s.results.push_back(r);
  });
}

// Delayed scaling: scale = (fmt_max / max(amax history)) / 2^margin; amax restarts at 0.
void fp8ScaleCase(Suite& s, Precision p) {
  s.run("fp8 delayed scaling", p, "[64], 5 steps", [&] {
    Tensor t = s.backend.empty({64}, p);
    std::vector<float> host(64), got;
    std::vector<double> want, history;
    const double fmtMax = formatInfo(p).maxFinite;
    float scale = 1.0f;
    for (int step = 0; step < 5; ++step) {
      const float peak = std::ldexp(1.5f, step % 3 * 2 - 1) + step;  // the amax of this step's values
      for (int i = 0; i < 64; ++i) host[i] = peak * static_cast<float>(i - 32) / 32.0f;
      host[0] = -peak;
      s.backend.upload(host.data(), t);
      std::vector<Tensor> ts{t};
      s.backend.updateFp8Scales(ts, 3, 1.0f);
      history.push_back(peak);
      if (history.size() > 3) history.erase(history.begin());
      const float amax = static_cast<float>(*std::max_element(history.begin(), history.end()));
      scale = (static_cast<float>(fmtMax) / amax) / std::exp2(1.0f);
      got.push_back(s.backend.fp8Scale(t));
      got.push_back(s.backend.fp8Amax(t));
      want.push_back(scale);
      want.push_back(0.0);
    }
    s.results.push_back(compare({"fp8 delayed scaling [scale, amax after] per step", "[64], 5 steps", Precision::fp32,
                                 1.0f, &got, &want, nullptr},
                                Tolerance::exact()));
    s.results.back().format = std::string(toString(p));
  });
}

}  // namespace

void runStepCases(Suite& s) {
  for (Precision p : kScalarPrecisions) {
    conversionCases(s, p);
    lossCases(s, p);
    evaluateCase(s, p);
  }
  lossScaleCase(s);
  fp8ScaleCase(s, Precision::fp8_e4m3);
  fp8ScaleCase(s, Precision::fp8_e5m2);
  runOptimizerCases(s);
}

}  // namespace plab::conformance
