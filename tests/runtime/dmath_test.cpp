// dmath accuracy (max ulp vs the 80-bit long double libm, against the bounds documented in
// runtime/dmath.h), special values bit for bit, and independence from inlining.
#include "runtime/dmath.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "support/test_util.h"
#include "runtime/dmath_ulp_test_util.h"

namespace detnn {
namespace {

using namespace detnn::dmath_test;

constexpr long double kPiL = 3.141592653589793238462643383279502884L;

// ---- references -----------------------------------------------------------------------------

long double ref_exp(long double x) { return std::exp(x); }
long double ref_exp2(long double x) { return std::exp2(x); }
long double ref_expm1(long double x) { return std::expm1(x); }
long double ref_log(long double x) { return std::log(x); }
long double ref_log1p(long double x) { return std::log1p(x); }
long double ref_tanh(long double x) { return std::tanh(x); }
long double ref_erf(long double x) { return std::erf(x); }
long double ref_sin(long double x) { return std::sin(x); }
long double ref_cos(long double x) { return std::cos(x); }
// sin(pi x), cos(pi x): x mod 2 is exact, then one long double product.
long double ref_sinpi(long double x) { return std::sin(kPiL * std::fmod(x, 2.0L)); }
long double ref_cospi(long double x) { return std::cos(kPiL * std::fmod(std::fabs(x), 2.0L)); }
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

}  // namespace
}  // namespace detnn
