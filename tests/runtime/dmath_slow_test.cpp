// Exhaustive dmath accuracy: every one of the 2^32 floats through each function, against
// the 80-bit long double libm; pow over ~1.2e8 pairs. These runs produce the table in
// runtime/dmath.h: about an hour on two cores (2-7 minutes per function), so the suite is
// named ExhaustiveUlp, not Dmath*, to stay out of `ctest -R Dmath`. DETNN_DMATH_STRIDE=n
// checks every n-th float for a quick look.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "runtime/dmath.h"
#include "support/dmath_test_util.h"

namespace detnn {
namespace {

using namespace detnn::dmath_test;

unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

uint64_t stride() {
  const char* s = std::getenv("DETNN_DMATH_STRIDE");
  long long v = s ? std::atoll(s) : 1;
  return v > 0 ? static_cast<uint64_t>(v) : 1;
}

// Every float (bit patterns 0 .. 2^32 - 1, every stride-th one). A double-precision
// reference (error below 2^-28 float ulps) screens the results first; every result it puts
// above 0.45 ulp -- so every one that can be the maximum -- is measured against long double.
template <class Fn, class Ref>
Worst all_floats(Fn f, Ref ref) {
  const uint64_t step = stride();
  const uint64_t n = ((1ull << 32) + step - 1) / step;
  return parallel_sweep(
      n,
      [&](size_t b, size_t e, Worst& w) {
        for (uint64_t i = b; i < e; ++i) {
          float x = float_of(static_cast<uint32_t>(i * step));
          float got = f(x);
          if (ulp_error(got, static_cast<long double>(ref(static_cast<double>(x)))) < 0.45) {
            ++w.count;
            continue;
          }
          w.check(x, 0.0f, got, ref(static_cast<long double>(x)));
        }
      },
      threads());
}

template <class Fn, class Ref>
void expect_exhaustive(Fn f, Ref ref, float bound, const char* name) {
  Worst w = all_floats(f, ref);
  std::printf("[ measured ] %s\n", w.describe(name).c_str());
  EXPECT_LE(w.normal.ulp, bound) << Worst::describe(name, "normal", w.normal);
  EXPECT_LE(w.subnormal.ulp, dmath::kMaxUlpSubnormal)
      << Worst::describe(name, "subnormal", w.subnormal);
  EXPECT_EQ(w.nan_bits, 0u) << name << ": NaN results must be the canonical 0x7fc00000";
}

// ref_expr is evaluated with x a double (screening) and a long double (measurement).
#define DETNN_DMATH_EXHAUSTIVE(Test, fn, ref_expr)                                    \
  TEST(ExhaustiveUlp, Test) {                                                             \
    expect_exhaustive([](float x) { return dmath::fn(x); },                           \
                      [](auto x) { return ref_expr; }, dmath::kMaxUlp.fn, #fn);       \
  }

DETNN_DMATH_EXHAUSTIVE(Exp, exp, std::exp(x))
DETNN_DMATH_EXHAUSTIVE(Exp2, exp2, std::exp2(x))
DETNN_DMATH_EXHAUSTIVE(Expm1, expm1, std::expm1(x))
DETNN_DMATH_EXHAUSTIVE(Log, log, std::log(x))
DETNN_DMATH_EXHAUSTIVE(Log1p, log1p, std::log1p(x))
DETNN_DMATH_EXHAUSTIVE(Tanh, tanh, std::tanh(x))
DETNN_DMATH_EXHAUSTIVE(Erf, erf, std::erf(x))
DETNN_DMATH_EXHAUSTIVE(Sin, sin, std::sin(x))
DETNN_DMATH_EXHAUSTIVE(Cos, cos, std::cos(x))
DETNN_DMATH_EXHAUSTIVE(Sinpi, sinpi, ref_sinpi(x))
DETNN_DMATH_EXHAUSTIVE(Cospi, cospi, ref_cospi(x))
DETNN_DMATH_EXHAUSTIVE(Sqrt, sqrt, std::sqrt(x))
#undef DETNN_DMATH_EXHAUSTIVE

// pow: 10^8 pairs: x uniform over the positive floats with y such that |y log x| <= 104,
// x within 2^20 ulps of 1 with large |y|, and Adam's beta^t for t up to 10^7.
TEST(ExhaustiveUlp, Pow) {
  const size_t per_kind = 40000000 / stride() + 1;
  Worst w = parallel_sweep(
      per_kind,
      [&](size_t b, size_t e, Worst& part) {
        std::mt19937_64 gen(1234567 + b);
        std::uniform_int_distribution<int64_t> pos(ordinal(FLT_MIN / 1024), ordinal(FLT_MAX));
        std::uniform_int_distribution<int64_t> near1(ordinal(1.0f) - (1 << 20), ordinal(1.0f) + (1 << 20));
        std::uniform_real_distribution<double> w_dist(-104.0, 89.0);
        auto check = [&](float x, float y) {
          part.check(x, y, dmath::pow(x, y),
                     std::pow(static_cast<long double>(x), static_cast<long double>(y)));
        };
        for (size_t i = b; i < e; ++i) {
          float x = from_ordinal(pos(gen));
          if (x != 1.0f) check(x, static_cast<float>(w_dist(gen) / std::log(static_cast<double>(x))));
          x = from_ordinal(near1(gen));
          if (x != 1.0f) check(x, static_cast<float>(w_dist(gen) / std::log(static_cast<double>(x))));
        }
      },
      threads());
  const float betas[] = {0.9f, 0.99f, 0.999f, 0.9999f};
  const size_t t_max = 10000000 / stride() + 1;
  Worst adam = parallel_sweep(
      t_max,
      [&](size_t b, size_t e, Worst& part) {
        for (size_t t = b + 1; t <= e; ++t)
          for (float beta : betas) {
            float y = static_cast<float>(t);
            part.check(beta, y, dmath::pow(beta, y),
                       std::pow(static_cast<long double>(beta), static_cast<long double>(y)));
          }
      },
      threads());
  w.take(adam);
  std::printf("[ measured ] %s\n", w.describe("pow").c_str());
  EXPECT_LE(w.normal.ulp, dmath::kMaxUlp.pow) << Worst::describe("pow", "normal", w.normal);
  EXPECT_LE(w.subnormal.ulp, dmath::kMaxUlpSubnormal)
      << Worst::describe("pow", "subnormal", w.subnormal);
  EXPECT_EQ(w.nan_bits, 0u);
}

}  // namespace
}  // namespace detnn
