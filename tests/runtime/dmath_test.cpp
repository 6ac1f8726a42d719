// dmath: accuracy against the 80-bit long double libm (max ulp must stay within the bounds
// documented in runtime/dmath.h), special values bit for bit, canonical NaNs, and the same
// bits whether a function is inlined into a loop or called through a pointer.
#include "runtime/dmath.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "support/dmath_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using namespace detnn::dmath_test;

void expect_bounds(const Worst& w, float bound, const char* name) {
  std::printf("[ measured ] %s\n", w.describe(name).c_str());
  EXPECT_LE(w.normal.ulp, bound) << Worst::describe(name, "normal", w.normal);
  EXPECT_LE(w.subnormal.ulp, dmath::kMaxUlpSubnormal)
      << Worst::describe(name, "subnormal", w.subnormal);
  EXPECT_EQ(w.nan_bits, 0u) << name << ": NaN results must be the canonical 0x7fc00000";
}

void expect_within(const std::vector<float>& xs, FloatFn f, RefFn ref, float bound,
                   const char* name) {
  expect_bounds(sweep(xs, f, ref), bound, name);
}

constexpr long double kLn2 = 0.693147180559945309417232121458176568L;

// ---- references and wrappers --------------------------------------------------------------

long double ref_exp(long double x) { return std::exp(x); }
long double ref_exp2(long double x) { return std::exp2(x); }
long double ref_expm1(long double x) { return std::expm1(x); }
long double ref_log(long double x) { return std::log(x); }
long double ref_log1p(long double x) { return std::log1p(x); }
long double ref_tanh(long double x) { return std::tanh(x); }
long double ref_erf(long double x) { return std::erf(x); }
long double ref_sin(long double x) { return std::sin(x); }
long double ref_cos(long double x) { return std::cos(x); }
long double ref_sqrt(long double x) { return std::sqrt(x); }

float f_exp(float x) { return dmath::exp(x); }
float f_exp2(float x) { return dmath::exp2(x); }
float f_expm1(float x) { return dmath::expm1(x); }
float f_log(float x) { return dmath::log(x); }
float f_log1p(float x) { return dmath::log1p(x); }
float f_tanh(float x) { return dmath::tanh(x); }
float f_erf(float x) { return dmath::erf(x); }
float f_sin(float x) { return dmath::sin(x); }
float f_cos(float x) { return dmath::cos(x); }
float f_sinpi(float x) { return dmath::sinpi(x); }
float f_cospi(float x) { return dmath::cospi(x); }
float f_sqrt(float x) { return dmath::sqrt(x); }

// ---- accuracy sweeps (about 1M inputs each) -----------------------------------------------

TEST(Dmath, ExpAccuracy) {
  expect_within(sweep_inputs("exp"), f_exp, ref_exp, dmath::kMaxUlp.exp, "exp");
}
TEST(Dmath, Exp2Accuracy) {
  expect_within(sweep_inputs("exp2"), f_exp2, ref_exp2, dmath::kMaxUlp.exp2, "exp2");
}
TEST(Dmath, Expm1Accuracy) {
  expect_within(sweep_inputs("expm1"), f_expm1, ref_expm1, dmath::kMaxUlp.expm1, "expm1");
}
TEST(Dmath, LogAccuracy) {
  expect_within(sweep_inputs("log"), f_log, ref_log, dmath::kMaxUlp.log, "log");
}
TEST(Dmath, Log1pAccuracy) {
  expect_within(sweep_inputs("log1p"), f_log1p, ref_log1p, dmath::kMaxUlp.log1p, "log1p");
}
TEST(Dmath, TanhAccuracy) {
  expect_within(sweep_inputs("tanh"), f_tanh, ref_tanh, dmath::kMaxUlp.tanh, "tanh");
}
TEST(Dmath, ErfAccuracy) {
  expect_within(sweep_inputs("erf"), f_erf, ref_erf, dmath::kMaxUlp.erf, "erf");
}
TEST(Dmath, SinCosAccuracy) {
  std::vector<float> in = sweep_inputs("sin");
  expect_within(in, f_sin, ref_sin, dmath::kMaxUlp.sin, "sin");
  expect_within(in, f_cos, ref_cos, dmath::kMaxUlp.cos, "cos");
}
TEST(Dmath, SinpiCospiAccuracy) {
  std::vector<float> in = sweep_inputs("sinpi");
  expect_within(in, f_sinpi, ref_sinpi, dmath::kMaxUlp.sinpi, "sinpi");
  expect_within(in, f_cospi, ref_cospi, dmath::kMaxUlp.cospi, "cospi");
}

TEST(Dmath, SqrtIsCorrectlyRounded) {
  std::vector<float> in = sweep_inputs("sqrt");
  expect_within(in, f_sqrt, ref_sqrt, dmath::kMaxUlp.sqrt, "sqrt");
  for (float x : in)
    if (x >= 0.0f) ASSERT_EQ(bits_of(dmath::sqrt(x)), bits_of(std::sqrt(x))) << x;
}

TEST(Dmath, PowAccuracy) {
  std::vector<float> xs, ys;
  pow_sweep_inputs(xs, ys);
  Worst w = parallel_sweep(xs.size(), [&](size_t b, size_t e, Worst& part) {
    for (size_t i = b; i < e; ++i)
      part.check(xs[i], ys[i], dmath::pow(xs[i], ys[i]),
                 std::pow(static_cast<long double>(xs[i]), static_cast<long double>(ys[i])));
  });
  expect_bounds(w, dmath::kMaxUlp.pow, "pow");
}

// ---- special values, bit for bit ----------------------------------------------------------

const float kInf = INFINITY;
const float kNan = NAN;
const float kDenormMin = 0x1p-149f;

void expect_bits(const char* name, float x, float got, float want) {
  uint32_t want_bits = std::isnan(want) ? dmath::kNanBits : bits_of(want);
  EXPECT_EQ(bits_of(got), want_bits) << name << "(" << x << ") = " << got << " (bits " << std::hex
                                     << bits_of(got) << "), want " << want << " (bits "
                                     << want_bits << ")";
}

TEST(Dmath, SpecialValuesExpFamily) {
  struct Case { float x, exp, exp2, expm1; };
  const Case cases[] = {
      {kNan, kNan, kNan, kNan},
      {-kNan, kNan, kNan, kNan},
      {kInf, kInf, kInf, kInf},
      {-kInf, 0.0f, 0.0f, -1.0f},
      {0.0f, 1.0f, 1.0f, 0.0f},
      {-0.0f, 1.0f, 1.0f, -0.0f},
      {kDenormMin, 1.0f, 1.0f, kDenormMin},
      {-kDenormMin, 1.0f, 1.0f, -kDenormMin},
      {FLT_MAX, kInf, kInf, kInf},
      {-FLT_MAX, 0.0f, 0.0f, -1.0f},
      {128.0f, kInf, kInf, kInf},
      {-150.0f, 0.0f, 0.0f, -1.0f},  // 2^-150 is a tie: rounds to even, 0
      {-200.0f, 0.0f, 0.0f, -1.0f},
  };
  for (const Case& c : cases) {
    expect_bits("exp", c.x, dmath::exp(c.x), c.exp);
    expect_bits("exp2", c.x, dmath::exp2(c.x), c.exp2);
    expect_bits("expm1", c.x, dmath::expm1(c.x), c.expm1);
  }
  // the overflow threshold: exp(0x42b17217) = 3.40279e38 is finite, the next float overflows
  EXPECT_TRUE(std::isfinite(dmath::exp(float_of(0x42b17217u))));
  expect_bits("exp", float_of(0x42b17218u), dmath::exp(float_of(0x42b17218u)), kInf);
  // 2^k is exact for every k, the subnormal ones included
  for (int k = -149; k <= 127; ++k) {
    float x = static_cast<float>(k);
    expect_bits("exp2", x, dmath::exp2(x), std::ldexp(1.0f, k));
  }
}

TEST(Dmath, SpecialValuesLogFamily) {
  struct Case { float x, log, log1p; };
  const Case cases[] = {
      {kNan, kNan, kNan},
      {kInf, kInf, kInf},
      {-kInf, kNan, kNan},
      {0.0f, -kInf, 0.0f},
      {-0.0f, -kInf, -0.0f},
      {1.0f, 0.0f, static_cast<float>(kLn2)},
      {-1.0f, kNan, -kInf},
      {-2.0f, kNan, kNan},
      {-kDenormMin, kNan, -kDenormMin},
      {kDenormMin, -0x1.9d1da0p+6f, kDenormMin},  // log(2^-149) = -103.2789
      {-FLT_MAX, kNan, kNan},
  };
  for (const Case& c : cases) {
    expect_bits("log", c.x, dmath::log(c.x), c.log);
    expect_bits("log1p", c.x, dmath::log1p(c.x), c.log1p);
  }
}

TEST(Dmath, SpecialValuesTanhErf) {
  struct Case { float x, tanh, erf; };
  const Case cases[] = {
      {kNan, kNan, kNan},     {kInf, 1.0f, 1.0f},   {-kInf, -1.0f, -1.0f}, {0.0f, 0.0f, 0.0f},
      {-0.0f, -0.0f, -0.0f},  {20.0f, 1.0f, 1.0f},  {-20.0f, -1.0f, -1.0f}, {FLT_MAX, 1.0f, 1.0f},
      {-FLT_MAX, -1.0f, -1.0f},
  };
  for (const Case& c : cases) {
    expect_bits("tanh", c.x, dmath::tanh(c.x), c.tanh);
    expect_bits("erf", c.x, dmath::erf(c.x), c.erf);
  }
  expect_bits("tanh", kDenormMin, dmath::tanh(kDenormMin), kDenormMin);
  expect_bits("tanh", -kDenormMin, dmath::tanh(-kDenormMin), -kDenormMin);
}

TEST(Dmath, SpecialValuesTrig) {
  struct Case { float x, sin, cos; };
  const Case cases[] = {
      {kNan, kNan, kNan}, {kInf, kNan, kNan}, {-kInf, kNan, kNan}, {0.0f, 0.0f, 1.0f},
      {-0.0f, -0.0f, 1.0f}, {kDenormMin, kDenormMin, 1.0f}, {-kDenormMin, -kDenormMin, 1.0f},
  };
  for (const Case& c : cases) {
    expect_bits("sin", c.x, dmath::sin(c.x), c.sin);
    expect_bits("cos", c.x, dmath::cos(c.x), c.cos);
  }
  // IEEE 754 sinPi/cosPi: sinpi(+-n) = +-0, cospi(n + 1/2) = +0, exact +-1
  struct PiCase { float x, sinpi, cospi; };
  const PiCase pi_cases[] = {
      {kNan, kNan, kNan},        {kInf, kNan, kNan},       {-kInf, kNan, kNan},
      {0.0f, 0.0f, 1.0f},        {-0.0f, -0.0f, 1.0f},     {0.5f, 1.0f, 0.0f},
      {-0.5f, -1.0f, 0.0f},      {1.0f, 0.0f, -1.0f},      {-1.0f, -0.0f, -1.0f},
      {1.5f, -1.0f, 0.0f},       {-1.5f, 1.0f, 0.0f},      {2.0f, 0.0f, 1.0f},
      {-2.0f, -0.0f, 1.0f},      {8388609.0f, 0.0f, -1.0f}, {-8388609.0f, -0.0f, -1.0f},
      {4194304.5f, 1.0f, 0.0f},  {16777216.0f, 0.0f, 1.0f}, {-1e30f, -0.0f, 1.0f},
      {FLT_MAX, 0.0f, 1.0f},
  };
  for (const PiCase& c : pi_cases) {
    expect_bits("sinpi", c.x, dmath::sinpi(c.x), c.sinpi);
    expect_bits("cospi", c.x, dmath::cospi(c.x), c.cospi);
  }
}

TEST(Dmath, SpecialValuesSqrt) {
  const float xs[] = {kNan, kInf, -kInf, 0.0f, -0.0f, -1.0f, 4.0f, kDenormMin, -kDenormMin};
  const float want[] = {kNan, kInf, kNan, 0.0f, -0.0f, kNan, 2.0f, std::sqrt(kDenormMin), kNan};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; ++i)
    expect_bits("sqrt", xs[i], dmath::sqrt(xs[i]), want[i]);
}

TEST(Dmath, SpecialValuesPow) {
  struct Case { float x, y, want; };
  const Case cases[] = {
      // y = +-0 or x = 1: 1 even with NaN
      {kNan, 0.0f, 1.0f}, {kNan, -0.0f, 1.0f}, {1.0f, kNan, 1.0f}, {1.0f, kInf, 1.0f},
      {-1.0f, kInf, 1.0f}, {-1.0f, -kInf, 1.0f}, {kNan, 1.0f, kNan}, {2.0f, kNan, kNan},
      // zero base
      {0.0f, -3.0f, kInf}, {-0.0f, -3.0f, -kInf}, {0.0f, -2.0f, kInf}, {-0.0f, -2.0f, kInf},
      {-0.0f, -0.5f, kInf}, {0.0f, 3.0f, 0.0f}, {-0.0f, 3.0f, -0.0f}, {-0.0f, 2.0f, 0.0f},
      {-0.0f, 0.5f, 0.0f}, {0.0f, -kInf, kInf}, {0.0f, kInf, 0.0f},
      // infinite y
      {0.5f, kInf, 0.0f}, {2.0f, kInf, kInf}, {0.5f, -kInf, kInf}, {2.0f, -kInf, 0.0f},
      {-0.5f, kInf, 0.0f}, {-2.0f, kInf, kInf},
      // infinite x
      {-kInf, -3.0f, -0.0f}, {-kInf, -2.0f, 0.0f}, {-kInf, 3.0f, -kInf}, {-kInf, 2.0f, kInf},
      {-kInf, 0.5f, kInf}, {kInf, -1.0f, 0.0f}, {kInf, 2.0f, kInf},
      // negative x: integer y only
      {-2.0f, 0.5f, kNan}, {-8.0f, 1.0f / 3.0f, kNan}, {-2.0f, 3.0f, -8.0f}, {-2.0f, 2.0f, 4.0f},
      {-2.0f, -1.0f, -0.5f}, {-3.0f, 16777216.0f, kInf}, {-1.0f, 33554432.0f, 1.0f},
      {-1.0f, 16777215.0f, -1.0f}, {-1.0f, -16777215.0f, -1.0f}, {-0.5f, 3.0f, -0.125f},
      // exact results, overflow and underflow
      {2.0f, 3.0f, 8.0f}, {2.0f, -149.0f, kDenormMin}, {2.0f, -150.0f, 0.0f}, {2.0f, 128.0f, kInf},
      {10.0f, 39.0f, kInf}, {0.5f, 1e6f, 0.0f}, {4.0f, 0.5f, 2.0f}, {9.0f, -0.5f, 1.0f / 3.0f},
  };
  for (const Case& c : cases) {
    float got = dmath::pow(c.x, c.y);
    uint32_t want_bits = std::isnan(c.want) ? dmath::kNanBits : bits_of(c.want);
    EXPECT_EQ(bits_of(got), want_bits)
        << "pow(" << c.x << ", " << c.y << ") = " << got << ", want " << c.want;
  }
  // exact powers stay exact
  for (int k = -149; k <= 127; ++k)
    ASSERT_EQ(dmath::pow(2.0f, static_cast<float>(k)), std::ldexp(1.0f, k)) << k;
  float p3 = 1.0f;
  for (int k = 0; k <= 15; ++k, p3 *= 3.0f)
    ASSERT_EQ(dmath::pow(3.0f, static_cast<float>(k)), p3) << k;
  Inputs in;
  in.floats_in(FLT_MIN, FLT_MAX, 20000, 27);
  for (float x : in.v) ASSERT_EQ(dmath::pow(x, 1.0f), x) << x;
}

// ---- no dependence on inlining or on the call site ----------------------------------------

// Out-of-line copies, reached through volatile pointers the optimizer cannot see through.
__attribute__((noinline)) float call_exp(float x) { return dmath::exp(x); }
__attribute__((noinline)) float call_exp2(float x) { return dmath::exp2(x); }
__attribute__((noinline)) float call_expm1(float x) { return dmath::expm1(x); }
__attribute__((noinline)) float call_log(float x) { return dmath::log(x); }
__attribute__((noinline)) float call_log1p(float x) { return dmath::log1p(x); }
__attribute__((noinline)) float call_tanh(float x) { return dmath::tanh(x); }
__attribute__((noinline)) float call_erf(float x) { return dmath::erf(x); }
__attribute__((noinline)) float call_sin(float x) { return dmath::sin(x); }
__attribute__((noinline)) float call_cos(float x) { return dmath::cos(x); }
__attribute__((noinline)) float call_sinpi(float x) { return dmath::sinpi(x); }
__attribute__((noinline)) float call_cospi(float x) { return dmath::cospi(x); }
__attribute__((noinline)) float call_pow(float x, float y) { return dmath::pow(x, y); }

TEST(Dmath, InlinedAndOutOfLineCallsAgree) {
  Inputs in;
  in.floats_in(-FLT_MAX, FLT_MAX, 100000, 28).uniform(-10.0f, 10.0f, 100000, 29);
  in.around(0.0f, 1000);
  const size_t n = in.v.size();
  const std::vector<float>& x = in.v;
  std::vector<float> y(n), a(n), b(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[(i * 7919) % n] * 0.01f;

  // Each function: a loop the compiler may inline, unroll and vectorize vs. opaque calls.
  auto check = [&](const char* name, float (*fn_in)(float), auto&& inline_loop) {
    float (*volatile fn)(float) = fn_in;
    inline_loop();
    for (size_t i = 0; i < n; ++i) b[i] = fn(x[i]);
    long long d = test::first_bit_difference(a.data(), b.data(), n);
    EXPECT_EQ(d, -1) << name << "(" << (d >= 0 ? x[d] : 0.0f) << "): inlined "
                     << (d >= 0 ? a[d] : 0.0f) << " vs out of line " << (d >= 0 ? b[d] : 0.0f);
  };
#define DETNN_DMATH_CHECK(fn) \
  check(#fn, call_##fn, [&] { for (size_t i = 0; i < n; ++i) a[i] = dmath::fn(x[i]); })
  DETNN_DMATH_CHECK(exp);
  DETNN_DMATH_CHECK(exp2);
  DETNN_DMATH_CHECK(expm1);
  DETNN_DMATH_CHECK(log);
  DETNN_DMATH_CHECK(log1p);
  DETNN_DMATH_CHECK(tanh);
  DETNN_DMATH_CHECK(erf);
  DETNN_DMATH_CHECK(sin);
  DETNN_DMATH_CHECK(cos);
  DETNN_DMATH_CHECK(sinpi);
  DETNN_DMATH_CHECK(cospi);
#undef DETNN_DMATH_CHECK
  float (*volatile pow_fn)(float, float) = call_pow;
  for (size_t i = 0; i < n; ++i) a[i] = dmath::pow(std::fabs(x[i]), y[i]);
  for (size_t i = 0; i < n; ++i) b[i] = pow_fn(std::fabs(x[i]), y[i]);
  EXPECT_EQ(test::first_bit_difference(a.data(), b.data(), n), -1) << "pow";
}

}  // namespace
}  // namespace detnn
