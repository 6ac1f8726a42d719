// Shared by dmath_test.cpp and dmath_slow_test.cpp: ulp error against a long double
// reference, and sweeps of a float function over inputs on a few threads.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "runtime/dmath.h"

namespace detnn::dmath_test {

using FloatFn = float (*)(float);
using RefFn = long double (*)(long double);

inline uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Error of `got` in ulps of the exact value `ref`: the spacing of floats in ref's binade
// (2^-149 below the normal range, 2^104 at and beyond FLT_MAX). NaN must match NaN and an
// infinity must be the correctly rounded result; otherwise the error is infinite.
// sin(pi x) and cos(pi x) in long double with an exact reduction to |r| <= 1/4, so that
// exact zeros and ones come out exactly.
inline long double pi_reduce(long double x, int& q) {
  long double r = std::fmod(x, 2.0L);         // exact, |r| < 2
  long double j = std::nearbyint(2.0L * r);   // exact
  q = static_cast<int>(j) & 3;
  return r - 0.5L * j;                         // exact, |r| <= 1/4
}
inline long double ref_sinpi(long double x) {
  constexpr long double kPi = 3.141592653589793238462643383279502884L;
  int q;
  long double r = pi_reduce(x, q);
  long double v = (q & 1) ? std::cos(kPi * r) : std::sin(kPi * r);
  return (q & 2) ? -v : v;
}
inline long double ref_cospi(long double x) {
  constexpr long double kPi = 3.141592653589793238462643383279502884L;
  int q;
  long double r = pi_reduce(x, q);
  long double v = (q & 1) ? std::sin(kPi * r) : std::cos(kPi * r);
  return (q == 1 || q == 2) ? -v : v;
}

inline double ulp_error(float got, long double ref) {
  const double kInf = INFINITY;
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : kInf;
  if (std::isnan(got)) return kInf;
  // The float overflow threshold: values at or beyond round to infinity.
  const long double overflow = std::ldexp(2.0L - std::ldexp(1.0L, -24), 127);
  if (std::isinf(got)) {
    bool same_sign = (got > 0) == (ref > 0);
    return same_sign && std::fabs(ref) >= overflow ? 0.0 : kInf;
  }
  if (std::isinf(ref)) return kInf;  // got is finite here
  long double a = std::fabs(ref);
  int e = 0;
  if (a != 0.0L) std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int ulp_exp = a == 0.0L ? -149 : std::min(std::max(e - 1, -126), 127) - 23;
  long double diff = std::fabs(static_cast<long double>(got) - ref);
  return static_cast<double>(std::ldexp(diff, -ulp_exp));
}

struct Worst {
  double ulp = 0.0;
  float x = 0.0f, y = 0.0f, got = 0.0f;
  long double ref = 0.0L;
  size_t count = 0;      // inputs checked
  size_t nan_bits = 0;   // NaN results whose bits are not dmath::kNanBits

  void take(const Worst& o) {
    if (o.ulp > ulp || std::isnan(o.ulp)) {
      ulp = o.ulp; x = o.x; y = o.y; got = o.got; ref = o.ref;
    }
    count += o.count;
    nan_bits += o.nan_bits;
  }
  void check(float xv, float yv, float g, long double r) {
    ++count;
    if (std::isnan(g) && bits_of(g) != dmath::kNanBits) ++nan_bits;
    double u = ulp_error(g, r);
    if (u > ulp) {
      ulp = u; x = xv; y = yv; got = g; ref = r;
    }
  }
  std::string describe(const char* name) const {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: max %.3f ulp over %zu inputs at x=%a y=%a: got %a, exact %.12La",
                  name, ulp, count, x, y, got, ref);
    return buf;
  }
};

// Runs body(begin, end, worst) over [0, n) split across `threads` threads.
template <class Body>
Worst parallel_sweep(size_t n, Body body, unsigned threads = 2) {
  std::vector<Worst> parts(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    size_t b = n * t / threads, e = n * (t + 1) / threads;
    pool.emplace_back([&, t, b, e] { body(b, e, parts[t]); });
  }
  for (auto& th : pool) th.join();
  Worst all;
  for (auto& p : parts) all.take(p);
  return all;
}

inline Worst sweep(const std::vector<float>& xs, FloatFn f, RefFn ref) {
  return parallel_sweep(xs.size(), [&](size_t b, size_t e, Worst& w) {
    for (size_t i = b; i < e; ++i) w.check(xs[i], 0.0f, f(xs[i]), ref(xs[i]));
  });
}

}  // namespace detnn::dmath_test
