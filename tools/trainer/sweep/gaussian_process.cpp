#include "gaussian_process.h"

#include <cmath>
#include <limits>

#include "detnn/detnn.h"

namespace trainer::sweep {

namespace {

using Matrix = std::vector<std::vector<double>>;

double kernel(const std::vector<double>& a, const std::vector<double>& b, double length) {
  double d2 = 0;
  for (size_t k = 0; k < a.size(); ++k) d2 += (a[k] - b[k]) * (a[k] - b[k]);
  return detnn_math_exp(static_cast<float>(-d2 / (2.0 * length * length)));
}

// Lower Cholesky factor of K + noise I; false if not positive definite.
bool cholesky(const Matrix& x, double length, Matrix& l) {
  const size_t n = x.size();
  l.assign(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j <= i; ++j) {
      double s = kernel(x[i], x[j], length) + (i == j ? kNoiseVariance : 0.0);
      for (size_t k = 0; k < j; ++k) s -= l[i][k] * l[j][k];
      if (i == j) {
        if (!(s > 0)) return false;
        l[i][i] = std::sqrt(s);
      } else {
        l[i][j] = s / l[j][j];
      }
    }
  return true;
}

std::vector<double> solve_lower(const Matrix& l, const std::vector<double>& b) {
  std::vector<double> out(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    double s = b[i];
    for (size_t k = 0; k < i; ++k) s -= l[i][k] * out[k];
    out[i] = s / l[i][i];
  }
  return out;
}

std::vector<double> solve_upper_transposed(const Matrix& l, const std::vector<double>& b) {
  const size_t n = b.size();
  std::vector<double> out(n);
  for (size_t ii = n; ii-- > 0;) {
    double s = b[ii];
    for (size_t k = ii + 1; k < n; ++k) s -= l[k][ii] * out[k];
    out[ii] = s / l[ii][ii];
  }
  return out;
}

}  // namespace

size_t choose_by_expected_improvement(const Matrix& x, const std::vector<double>& y_raw, const Matrix& candidates) {
  const size_t n = y_raw.size();
  double mean = 0;
  for (double v : y_raw) mean += v;
  mean /= static_cast<double>(n);
  double var = 0;
  for (double v : y_raw) var += (v - mean) * (v - mean);
  const double sd = var > 0 ? std::sqrt(var / static_cast<double>(n)) : 1.0;
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (y_raw[i] - mean) / sd;

  // The length scale of largest marginal likelihood: -y'a/2 - sum(log diag L).
  double best_fit = -std::numeric_limits<double>::infinity();
  Matrix l, best_l;
  std::vector<double> alpha;
  double length = kLengthScales[0];
  for (double candidate_length : kLengthScales) {
    if (!cholesky(x, candidate_length, l)) continue;
    const std::vector<double> a = solve_upper_transposed(l, solve_lower(l, y));
    double fit = 0;
    for (size_t i = 0; i < n; ++i) fit -= 0.5 * y[i] * a[i] + detnn_math_log(static_cast<float>(l[i][i]));
    if (fit > best_fit) {
      best_fit = fit;
      best_l = l;
      alpha = a;
      length = candidate_length;
    }
  }
  if (alpha.empty()) return 0;  // no length scale gave a positive definite matrix: the first candidate
  double best_y = y[0];
  for (double v : y) best_y = std::min(best_y, v);

  size_t chosen = 0;
  double chosen_ei = -1;
  for (size_t c = 0; c < candidates.size(); ++c) {
    std::vector<double> k(n);
    for (size_t i = 0; i < n; ++i) k[i] = kernel(candidates[c], x[i], length);
    double mu = 0;
    for (size_t i = 0; i < n; ++i) mu += k[i] * alpha[i];
    const std::vector<double> v = solve_lower(best_l, k);
    double s2 = 1.0 + kNoiseVariance;
    for (double e : v) s2 -= e * e;
    const double sigma = std::sqrt(std::max(s2, 1e-12));
    const double z = (best_y - mu) / sigma;
    const double cdf = 0.5 * (1.0 + detnn_math_erf(static_cast<float>(z * 0.70710678118654752440)));
    const double pdf = detnn_math_exp(static_cast<float>(-0.5 * z * z)) * 0.39894228040143267794;
    const double ei = (best_y - mu) * cdf + sigma * pdf;
    if (ei > chosen_ei) {
      chosen_ei = ei;
      chosen = c;
    }
  }
  return chosen;
}

}  // namespace trainer::sweep
