// Shared by the dmath tests (dmath_test.cpp, dmath_slow_test.cpp, dmath_gpu_test.cpp): ulp
// error against a long double reference, sweeps over inputs on a few threads, and the input
// sets.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
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

// sin(pi x) and cos(pi x) with an exact reduction to |r| <= 1/4 (T = long double for the
// reference, double for a quick pre-check), so that exact zeros and ones come out exactly.
template <class T>
T pi_reduce(T x, int& q) {
  T r = std::fmod(x, T(2));        // exact, |r| < 2
  T j = std::nearbyint(T(2) * r);  // exact
  q = static_cast<int>(j) & 3;
  return r - T(0.5) * j;  // exact, |r| <= 1/4
}
template <class T>
T ref_sinpi(T x) {
  const T pi = static_cast<T>(3.141592653589793238462643383279502884L);
  int q;
  T r = pi_reduce(x, q);
  T v = (q & 1) ? std::cos(pi * r) : std::sin(pi * r);
  return (q & 2) ? -v : v;
}
template <class T>
T ref_cospi(T x) {
  const T pi = static_cast<T>(3.141592653589793238462643383279502884L);
  int q;
  T r = pi_reduce(x, q);
  T v = (q & 1) ? std::sin(pi * r) : std::cos(pi * r);
  return (q == 1 || q == 2) ? -v : v;
}
inline long double ref_sinpi(long double x) { return ref_sinpi<long double>(x); }
inline long double ref_cospi(long double x) { return ref_cospi<long double>(x); }

// The 20 floats >= 2^16 closest to multiples of pi/2 (|x mod pi/2| from 1.6e-9 to 1.9e-8),
// found by a scan of all floats with an independent 320-bit 2/pi.
inline constexpr uint32_t kHardTrigArgs[] = {
    0x6f79be45u, 0x50a3e87fu, 0x6ff9be45u, 0x5123e87fu, 0x7079be45u, 0x6a1976f1u, 0x53b146a6u,
    0x65898498u, 0x51a3e87fu, 0x77584625u, 0x4c2332e9u, 0x6c55da58u, 0x70f9be45u, 0x6a9976f1u,
    0x5c07bcd0u, 0x543146a6u, 0x66098498u, 0x5223e87fu, 0x723fa09au, 0x4a2562aeu,
};

// Error of `got` in ulps of the exact value `ref`: the spacing of floats in ref's binade
// (2^-149 below the normal range, 2^104 at and beyond FLT_MAX). NaN must match NaN and an
// infinity must be the correctly rounded result; otherwise the error is infinite.
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

// The largest errors seen, kept apart for normal results and for results below FLT_MIN
// (dmath documents a separate bound there: a second rounding when scaling down).
struct Worst {
  struct Case {
    double ulp = 0.0;
    float x = 0.0f, y = 0.0f, got = 0.0f;
    long double ref = 0.0L;
  };
  Case normal, subnormal;
  size_t count = 0;     // inputs checked
  size_t nan_bits = 0;  // NaN results whose bits are not dmath::kNanBits

  static void keep(Case& into, const Case& c) {
    if (c.ulp > into.ulp || std::isnan(c.ulp)) into = c;
  }
  void take(const Worst& o) {
    keep(normal, o.normal);
    keep(subnormal, o.subnormal);
    count += o.count;
    nan_bits += o.nan_bits;
  }
  void check(float x, float y, float got, long double ref) {
    ++count;
    if (std::isnan(got) && bits_of(got) != dmath::kNanBits) ++nan_bits;
    double u = ulp_error(got, ref);
    bool sub = std::fabs(ref) < static_cast<long double>(FLT_MIN);
    Case& into = sub ? subnormal : normal;
    if (u > into.ulp || std::isnan(u)) into = Case{u, x, y, got, ref};
  }
  static std::string describe(const char* name, const char* kind, const Case& c) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s: max %.3f ulp (%s results) at x=%a y=%a: got %a, exact %.12La",
                  name, c.ulp, kind, c.x, c.y, c.got, c.ref);
    return buf;
  }
  std::string describe(const char* name) const {
    return describe(name, "normal", normal) + "; " + describe(name, "subnormal", subnormal) +
           "; " + std::to_string(count) + " inputs";
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

// ---- input sets (shared by the cpu accuracy sweeps and the gpu bit-equality tests) --------

// Floats in increasing order as consecutive integers (+0 and -0 share 0).
inline int64_t ordinal(float x) {
  uint32_t b = bits_of(x);
  return (b >> 31) ? -static_cast<int64_t>(b & 0x7fffffffu) : static_cast<int64_t>(b);
}
inline float from_ordinal(int64_t o) {
  return o >= 0 ? float_of(static_cast<uint32_t>(o)) : float_of(0x80000000u | static_cast<uint32_t>(-o));
}

struct Inputs {
  std::vector<float> v;

  // `count` floats drawn uniformly from the representable floats in [lo, hi] (every binade
  // in proportion to its number of floats).
  Inputs& floats_in(float lo, float hi, size_t count, uint32_t seed) {
    std::mt19937_64 gen(seed);
    std::uniform_int_distribution<int64_t> d(ordinal(lo), ordinal(hi));
    for (size_t i = 0; i < count; ++i) v.push_back(from_ordinal(d(gen)));
    return *this;
  }
  // `count` reals drawn uniformly from [lo, hi).
  Inputs& uniform(float lo, float hi, size_t count, uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (size_t i = 0; i < count; ++i) v.push_back(d(gen));
    return *this;
  }
  // c and the `n` floats on each side of it: every float of a narrow range.
  Inputs& around(float c, int n) {
    int64_t o = ordinal(c);
    for (int64_t i = -n; i <= n; ++i) v.push_back(from_ordinal(o + i));
    return *this;
  }
  // Around every multiple k*step, k in [k_lo, k_hi] (the multiple rounded to float).
  Inputs& around_multiples(long double step, int k_lo, int k_hi, int n) {
    for (int k = k_lo; k <= k_hi; ++k) around(static_cast<float>(k * step), n);
    return *this;
  }
};

// Zeros, infinities, NaNs, subnormals and the largest floats.
inline std::vector<float> special_inputs() {
  return {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, float_of(0x7fc00001u), float_of(0xff800001u),
          0x1p-149f, -0x1p-149f, 0x1.fffffcp-127f, -0x1.fffffcp-127f, FLT_MIN, -FLT_MIN,
          FLT_MAX, -FLT_MAX, 1.0f, -1.0f, 0.5f, -0.5f};
}

// About 1M inputs per function: the main domain by floats and by reals, every float near
// zero, near the reduction and branch boundaries and near the overflow/underflow
// thresholds. "sin" serves sin and cos, "sinpi" serves sinpi and cospi.
inline std::vector<float> sweep_inputs(std::string_view fn) {
  constexpr long double kLn2 = 0.693147180559945309417232121458176568L;
  constexpr long double kPio2 = 1.570796326794896619231321691639751442L;
  Inputs in;
  if (fn == "exp") {
    in.floats_in(-105.0f, 90.0f, 500000, 1).uniform(-88.0f, 88.0f, 200000, 2).around(0.0f, 50000);
    in.around_multiples(kLn2, -150, 128, 400);  // reduction boundaries
    in.around(88.72283f, 20000).around(-87.33655f, 20000).around(-103.97208f, 20000);
  } else if (fn == "exp2") {
    in.floats_in(-152.0f, 129.0f, 500000, 3).uniform(-126.0f, 127.0f, 200000, 4).around(0.0f, 50000);
    in.around_multiples(0.5L, -302, 256, 300);
  } else if (fn == "expm1") {
    in.floats_in(-20.0f, 90.0f, 500000, 5).uniform(-2.0f, 2.0f, 200000, 6).around(0.0f, 100000);
    in.around(0.34657359f, 20000).around(-0.34657359f, 20000);  // branch boundary ln2/2
    in.around_multiples(kLn2, -26, 128, 300);
    in.around(88.72283f, 10000).around(-17.32868f, 10000);
  } else if (fn == "log") {
    in.floats_in(0.0f, FLT_MAX, 500000, 7).uniform(0.5f, 2.0f, 200000, 8).around(1.0f, 150000);
    for (int k = -149; k <= 127; ++k) in.around(std::ldexp(0.70710678f, k), 300);  // m boundary
    in.around(FLT_MIN, 5000);
  } else if (fn == "log1p") {
    in.floats_in(-1.0f, FLT_MAX, 500000, 9).uniform(-0.5f, 1.0f, 200000, 10).around(0.0f, 100000);
    in.floats_in(-1.0f, -0.99f, 20000, 11);
    in.around(-0.29289322f, 20000).around(0.41421356f, 20000);  // branch boundaries
    in.floats_in(1.0f, 1e9f, 50000, 12);
  } else if (fn == "tanh") {
    in.floats_in(-12.0f, 12.0f, 500000, 13).uniform(-4.0f, 4.0f, 300000, 14).around(0.0f, 50000);
    in.around(0.55f, 20000).around(-0.55f, 20000).around(9.01f, 5000);
  } else if (fn == "erf") {
    in.floats_in(-5.0f, 5.0f, 500000, 15).uniform(-4.0f, 4.0f, 300000, 16).around(0.0f, 50000);
    for (float c : {1.0f, 2.0f, 3.92f}) in.around(c, 15000).around(-c, 15000);
  } else if (fn == "sin") {
    in.floats_in(-65536.0f, 65536.0f, 400000, 17).uniform(-7.0f, 7.0f, 200000, 18).around(0.0f, 20000);
    in.around_multiples(kPio2, -41721, 41721, 2);  // near multiples of pi/2: tiny results
    in.floats_in(65536.0f, FLT_MAX, 100000, 19).floats_in(-FLT_MAX, -65536.0f, 50000, 20);
    in.around(65536.0f, 2000).around(-65536.0f, 2000);  // Cody-Waite / Payne-Hanek switch
    for (uint32_t b : kHardTrigArgs) in.around(float_of(b), 200);
  } else if (fn == "sinpi") {
    in.floats_in(-16777216.0f, 16777216.0f, 400000, 21).uniform(-2.0f, 2.0f, 300000, 22).around(0.0f, 50000);
    in.around_multiples(0.25L, -2000, 2000, 30);
    in.floats_in(-FLT_MAX, FLT_MAX, 50000, 23);
  } else if (fn == "sqrt") {
    in.floats_in(0.0f, FLT_MAX, 500000, 24).around(1.0f, 10000).around(0.0f, 10000);
  }
  return in.v;
}

// Pairs for pow: x over all binades with y chosen so that x^y stays in range, x near 1 with
// large |y|, Adam's bias corrections beta^t, general pairs, negative x with integer y.
inline void pow_sweep_inputs(std::vector<float>& xs, std::vector<float>& ys) {
  auto add = [&](float x, float y) { xs.push_back(x); ys.push_back(y); };
  std::mt19937 gen(25);
  std::uniform_real_distribution<float> w_dist(-104.0f, 89.0f);
  Inputs xa;
  xa.floats_in(0.0f, FLT_MAX, 400000, 26).around(1.0f, 50000);
  for (float x : xa.v)
    if (x != 1.0f && x != 0.0f) add(x, static_cast<float>(w_dist(gen) / std::log(static_cast<double>(x))));
  for (float beta : {0.5f, 0.9f, 0.95f, 0.99f, 0.995f, 0.999f, 0.9995f, 0.9999f, 0.99999f})
    for (int t = 1; t <= 40000; ++t) add(beta, static_cast<float>(t));
  std::uniform_real_distribution<float> xd(0.0f, 4.0f), yd(-30.0f, 30.0f), nd(-10.0f, -0.1f);
  std::uniform_int_distribution<int> id(-40, 40);
  for (int i = 0; i < 100000; ++i) add(xd(gen), yd(gen));
  for (int i = 0; i < 50000; ++i) add(nd(gen), static_cast<float>(id(gen)));
}

}  // namespace detnn::dmath_test
