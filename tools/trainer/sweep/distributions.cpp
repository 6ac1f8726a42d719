#include "distributions.h"

#include <charconv>
#include <cmath>

#include "detnn/detnn.h"

namespace trainer::sweep {

using nlohmann::json;

namespace {

// Transcendentals through detnn's deterministic float32 functions: a sampled hyper-parameter
// needs no more than float precision, and must not depend on the machine's libm.
double det_exp(double x) { return detnn_math_exp(static_cast<float>(x)); }
double det_log(double x) { return detnn_math_log(static_cast<float>(x)); }
double det_cospi(double x) { return detnn_math_cospi(static_cast<float>(x)); }
double normal_cdf(double x) { return 0.5 * (1.0 + detnn_math_erf(static_cast<float>(x * 0.70710678118654752440))); }

// Round half to even, as numpy's round (W&B's q_* distributions use it).
double quantize(double x, double q) { return std::nearbyint(x / q) * q; }

// A real value is rounded to float32 — what the model holds — and written in its shortest form
// (0.0123, not 0.012299999594688416).
json number(double x, bool integer) {
  if (integer && std::fabs(x) < 9.0e15) return static_cast<int64_t>(std::llround(x));
  char text[48];
  const auto written = std::to_chars(text, text + sizeof text, static_cast<float>(x));
  double shortest = 0;
  std::from_chars(text, written.ptr, shortest);
  return shortest;
}

double standard_normal(DrawStream& s) {
  const double u1 = 1.0 - s.uniform();  // (0, 1]: a finite logarithm
  const double u2 = s.uniform();
  return std::sqrt(-2.0 * det_log(u1)) * det_cospi(2.0 * u2);
}

// Marsaglia and Tsang's method; shape < 1 through gamma(shape + 1) * u^(1/shape).
double gamma_variate(double shape, DrawStream& s) {
  if (shape < 1.0) {
    const double g = gamma_variate(shape + 1.0, s);
    const double u = 1.0 - s.uniform();
    return g * det_exp(det_log(u) / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (int attempt = 0; attempt < 10000; ++attempt) {
    const double x = standard_normal(s);
    const double t = 1.0 + c * x;
    if (t <= 0) continue;
    const double v = t * t * t;
    const double u = 1.0 - s.uniform();
    if (det_log(u) < 0.5 * x * x + d - d * v + d * det_log(v)) return d * v;
  }
  return d;  // not reached for any shape W&B users give (acceptance is above 95%)
}

// The bounded distributions as a function of u in [0, 1].
double bounded_value(const Distribution& d, double u) {
  const double lo = d.min, hi = d.max;
  const std::string& k = d.kind;
  if (k == "uniform" || k == "q_uniform") return lo + u * (hi - lo);
  if (k == "log_uniform" || k == "q_log_uniform") return det_exp(lo + u * (hi - lo));
  if (k == "log_uniform_values" || k == "q_log_uniform_values") {
    const double a = det_log(lo), b = det_log(hi);
    return det_exp(a + u * (b - a));
  }
  if (k == "inv_log_uniform") return 1.0 / det_exp(lo + u * (hi - lo));  // log(1/X) uniform in [min, max]
  if (k == "inv_log_uniform_values") {                                   // log(1/X) uniform in [log(1/max), log(1/min)]
    const double a = det_log(1.0 / hi), b = det_log(1.0 / lo);
    return 1.0 / det_exp(a + u * (b - a));
  }
  return lo;
}

bool quantized(const Distribution& d) { return d.kind.rfind("q_", 0) == 0; }

}  // namespace

uint64_t DrawStream::bits() { return detnn_sweep_random_bits(seed_, trial_, stream_, index_++); }

double DrawStream::uniform() { return static_cast<double>(bits() >> 11) * 0x1p-53; }

Draw draw(const Distribution& d, DrawStream& s) {
  const std::string& k = d.kind;
  if (k == "constant") return {d.value, 0.5};
  if (k == "categorical") {
    const size_t n = d.values.size();
    size_t i = 0;
    if (d.probabilities.empty()) {
      i = static_cast<size_t>((static_cast<unsigned __int128>(s.bits()) * n) >> 64);
    } else {
      const double u = s.uniform();
      double cumulative = 0;
      i = n - 1;
      for (size_t j = 0; j < n; ++j) {
        cumulative += d.probabilities[j];
        if (u < cumulative) {
          i = j;
          break;
        }
      }
    }
    return {d.values[i], (static_cast<double>(i) + 0.5) / static_cast<double>(n)};
  }
  if (k == "int_uniform") {
    const int64_t lo = static_cast<int64_t>(d.min), hi = static_cast<int64_t>(d.max);
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    const uint64_t offset = span == 0 ? s.bits() : static_cast<uint64_t>((static_cast<unsigned __int128>(s.bits()) * span) >> 64);
    const int64_t v = lo + static_cast<int64_t>(offset);
    return {v, (static_cast<double>(offset) + 0.5) / static_cast<double>(span)};
  }
  if (k.find("normal") != std::string::npos) {
    const double n = standard_normal(s);
    double x = d.mu + d.sigma * n;
    if (k == "log_normal" || k == "q_log_normal") x = det_exp(x);
    if (quantized(d)) x = quantize(x, d.q);
    return {number(x, quantized(d) && d.q == std::floor(d.q)), normal_cdf(n)};
  }
  if (k == "beta" || k == "q_beta") {
    const double g1 = gamma_variate(d.a, s), g2 = gamma_variate(d.b, s);
    double x = g1 / (g1 + g2);
    const double z = x;
    if (quantized(d)) x = quantize(x, d.q);
    return {number(x, false), z};
  }
  const double u = s.uniform();
  double x = bounded_value(d, u);
  if (quantized(d)) x = quantize(x, d.q);
  return {number(x, quantized(d) && d.integer_bounds), u};
}

std::vector<json> grid_values(const Parameter& p, const std::string& source) {
  const Distribution& d = p.distribution;
  const auto too_many = [&](double n) {
    if (n > 100000)
      throw SweepError(source + ":" + std::to_string(p.line) + ": " + p.key_path + ": a grid of " +
                       std::to_string(static_cast<long long>(n)) + " values; at most 100000");
  };
  if (d.kind == "constant") return {d.value};
  if (d.kind == "categorical") return d.values;
  std::vector<json> out;
  if (d.kind == "int_uniform") {
    too_many(d.max - d.min + 1);
    for (int64_t v = static_cast<int64_t>(d.min); v <= static_cast<int64_t>(d.max); ++v) out.push_back(v);
    return out;
  }
  if (d.kind == "q_uniform") {
    const double steps = std::floor((d.max - d.min) / d.q + 1e-9);
    too_many(steps + 1);
    for (int64_t i = 0; i <= static_cast<int64_t>(steps); ++i)
      out.push_back(number(d.min + static_cast<double>(i) * d.q, d.integer_bounds));
    return out;
  }
  throw SweepError(source + ":" + std::to_string(p.line) + ": " + p.key_path + ": grid search walks value, values, " +
                   "int_uniform or q_uniform; distribution " + d.kind + " is continuous (use method random or bayes)");
}

std::vector<json> representative_values(const Distribution& d) {
  if (d.kind == "constant") return {d.value};
  if (d.kind == "categorical") return d.values;
  if (d.kind == "int_uniform") return {static_cast<int64_t>(d.min), static_cast<int64_t>(d.max)};
  const bool integer = quantized(d) && d.q == std::floor(d.q);
  if (d.kind.find("normal") != std::string::npos) {
    double x = d.mu;
    if (d.kind == "log_normal" || d.kind == "q_log_normal") x = det_exp(x);
    if (quantized(d)) x = quantize(x, d.q);
    return {number(x, integer)};
  }
  if (d.kind == "beta" || d.kind == "q_beta") {
    double x = d.a / (d.a + d.b);
    if (quantized(d)) x = quantize(x, d.q);
    return {x};
  }
  std::vector<json> out;
  for (double u : {0.0, 1.0}) {
    double x = bounded_value(d, u);
    if (quantized(d)) x = quantize(x, d.q);
    out.push_back(number(x, quantized(d) && d.integer_bounds));
  }
  return out;
}

}  // namespace trainer::sweep
