// Conformance cases: batch norm forward (training and inference) and backward,
// against double references.
#include <cmath>

#include "backend/conformance_suite.h"

namespace plab::conformance {

namespace {

struct Layout {
  std::int64_t batch, channels, spatial;
  std::size_t at(std::int64_t n, std::int64_t c, std::int64_t i) const {
    return static_cast<std::size_t>((n * channels + c) * spatial + i);
  }
  std::int64_t count() const { return batch * spatial; }
};

struct Moments {
  std::vector<double> mean, var;
};

Moments moments(const Layout& l, const std::vector<double>& x) {
  Moments m{std::vector<double>(l.channels, 0.0), std::vector<double>(l.channels, 0.0)};
  for (std::int64_t c = 0; c < l.channels; ++c) {
    for (std::int64_t n = 0; n < l.batch; ++n)
      for (std::int64_t i = 0; i < l.spatial; ++i) m.mean[c] += x[l.at(n, c, i)];
    m.mean[c] /= static_cast<double>(l.count());
    for (std::int64_t n = 0; n < l.batch; ++n)
      for (std::int64_t i = 0; i < l.spatial; ++i) m.var[c] += std::pow(x[l.at(n, c, i)] - m.mean[c], 2);
    m.var[c] /= static_cast<double>(l.count());
  }
  return m;
}

Tensor fp32Tensor(Suite& s, std::int64_t n, std::vector<double>& values, float lo, float hi) {
  return s.input({n}, Precision::fp32, values, lo, hi);
}

}  // namespace

void runBatchNormCases(Suite& s, Precision p, const Shape& shape) {
  const Layout l{shape[0], shape[1], shape.rank() == 4 ? shape[2] * shape[3] : 1};
  const float momentum = 0.1f, eps = 1e-5f;
  const std::string text = shape.toString();
  s.run("batchnorm forward", p, text, [&] {
    std::vector<double> x, gamma, beta, rm0, rv0;
    Tensor tx = s.input(shape, p, x, -2.0f, 3.0f);
    Tensor tg = fp32Tensor(s, l.channels, gamma, 0.5f, 1.5f), tb = fp32Tensor(s, l.channels, beta, -0.5f, 0.5f);
    Tensor rm = fp32Tensor(s, l.channels, rm0, -0.2f, 0.2f), rv = fp32Tensor(s, l.channels, rv0, 0.8f, 1.2f);
    Tensor y = s.output(shape, p), mean = s.output({l.channels}, Precision::fp32);
    Tensor invStd = s.output({l.channels}, Precision::fp32), yEval = s.output(shape, p);
    s.backend.batchNormForward(tx, tg, tb, rm, rv, momentum, eps, true, y, mean, invStd);
    const Moments m = moments(l, x);
    std::vector<double> want(x.size()), terms(x.size()), wantInv(l.channels), wantRm(l.channels), wantRv(l.channels);
    std::vector<double> meanTerms(l.channels), rmTerms(l.channels);
    for (std::int64_t c = 0; c < l.channels; ++c) {
      wantInv[c] = 1.0 / std::sqrt(m.var[c] + eps);
      const double unbiased = m.var[c] * l.count() / (l.count() - 1);
      wantRm[c] = (1 - momentum) * rm0[c] + momentum * m.mean[c];
      wantRv[c] = (1 - momentum) * rv0[c] + momentum * unbiased;
      meanTerms[c] = 0;
      for (std::int64_t n = 0; n < l.batch; ++n)
        for (std::int64_t i = 0; i < l.spatial; ++i) {
          const std::size_t k = l.at(n, c, i);
          want[k] = (x[k] - m.mean[c]) * wantInv[c] * gamma[c] + beta[c];
          terms[k] = (std::fabs(x[k]) + std::fabs(m.mean[c])) * wantInv[c] * std::fabs(gamma[c]) + std::fabs(beta[c]);
          meanTerms[c] += std::fabs(x[k]) / static_cast<double>(l.count());
        }
      rmTerms[c] = std::fabs(rm0[c]) + std::fabs(m.mean[c]) + meanTerms[c];
    }
    s.check("batchnorm forward", text, y, want, &terms, s.products(p));
    s.check("batchnorm saved mean", text, mean, m.mean, &meanTerms, s.products(Precision::fp32));
    s.check("batchnorm saved inv std", text, invStd, wantInv, &wantInv, s.products(Precision::fp32));
    s.check("batchnorm running mean", text, rm, wantRm, &rmTerms, s.products(Precision::fp32));
    s.check("batchnorm running var", text, rv, wantRv, &wantRv, s.products(Precision::fp32));
    // Inference reads the running statistics just updated.
    const auto rmNow = s.read(rm), rvNow = s.read(rv);
    s.backend.batchNormForward(tx, tg, tb, rm, rv, momentum, eps, false, yEval, mean, invStd);
    for (std::int64_t c = 0; c < l.channels; ++c)
      for (std::int64_t n = 0; n < l.batch; ++n)
        for (std::int64_t i = 0; i < l.spatial; ++i) {
          const std::size_t k = l.at(n, c, i);
          const double inv = 1.0 / std::sqrt(static_cast<double>(rvNow[c]) + eps);
          want[k] = (x[k] - rmNow[c]) * inv * gamma[c] + beta[c];
          terms[k] = (std::fabs(x[k]) + std::fabs(rmNow[c])) * inv * std::fabs(gamma[c]) + std::fabs(beta[c]);
        }
    s.check("batchnorm forward (inference)", text, yEval, want, &terms, s.products(p));
  });
  s.run("batchnorm backward", p, text, [&] {
    std::vector<double> x, dy, gamma, beta, rm0, rv0;
    Tensor tx = s.input(shape, p, x, -2.0f, 3.0f), tdy = s.input(shape, p, dy);
    Tensor tg = fp32Tensor(s, l.channels, gamma, 0.5f, 1.5f), tb = fp32Tensor(s, l.channels, beta, -0.5f, 0.5f);
    Tensor rm = fp32Tensor(s, l.channels, rm0, -0.2f, 0.2f), rv = fp32Tensor(s, l.channels, rv0, 0.8f, 1.2f);
    Tensor y = s.output(shape, p), mean = s.output({l.channels}, Precision::fp32);
    Tensor invStd = s.output({l.channels}, Precision::fp32), dx = s.output(shape, p);
    // dgamma and dbeta are fp32 like gamma and beta (as the BatchNorm layer allocates them).
    Tensor dgamma = s.output({l.channels}, Precision::fp32), dbeta = s.output({l.channels}, Precision::fp32);
    s.backend.batchNormForward(tx, tg, tb, rm, rv, momentum, eps, true, y, mean, invStd);
    const auto savedMean = s.read(mean), savedInv = s.read(invStd);
    s.backend.batchNormBackward(tx, tdy, tg, mean, invStd, dx, dgamma, dbeta);
    // The reference uses the saved statistics as given, like the backward pass does.
    std::vector<double> wantDx(x.size()), dxTerms(x.size()), wantDg(l.channels, 0.0), wantDb(l.channels, 0.0);
    std::vector<double> dgTerms(l.channels, 0.0), dbTerms(l.channels, 0.0);
    const double count = static_cast<double>(l.count());
    for (std::int64_t c = 0; c < l.channels; ++c) {
      auto xhat = [&](std::size_t k) { return (x[k] - savedMean[c]) * savedInv[c]; };
      for (std::int64_t n = 0; n < l.batch; ++n)
        for (std::int64_t i = 0; i < l.spatial; ++i) {
          const std::size_t k = l.at(n, c, i);
          wantDb[c] += dy[k];
          wantDg[c] += dy[k] * xhat(k);
          dbTerms[c] += std::fabs(dy[k]);
          dgTerms[c] += std::fabs(dy[k] * xhat(k));
        }
      const double kc = gamma[c] * savedInv[c];
      for (std::int64_t n = 0; n < l.batch; ++n)
        for (std::int64_t i = 0; i < l.spatial; ++i) {
          const std::size_t k = l.at(n, c, i);
          wantDx[k] = kc * (dy[k] - wantDb[c] / count - xhat(k) * wantDg[c] / count);
          dxTerms[k] = std::fabs(kc) * (std::fabs(dy[k]) + dbTerms[c] / count + std::fabs(xhat(k)) * dgTerms[c] / count);
        }
    }
    s.check("batchnorm backward dx", text, dx, wantDx, &dxTerms, s.products(p));
    s.check("batchnorm backward dgamma", text, dgamma, wantDg, &dgTerms, s.products(Precision::fp32));
    s.check("batchnorm backward dbeta", text, dbeta, wantDb, &dbTerms, s.products(Precision::fp32));
  });
}

}  // namespace plab::conformance
