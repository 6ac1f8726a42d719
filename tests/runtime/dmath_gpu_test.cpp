// dmath on the device gives the host's bits exactly, NaNs and signed zeros included, for
// the cpu accuracy sweep's inputs (about 1M per function) plus the special values.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "runtime/dmath.h"
#include "support/cuda/dmath_eval.h"
#include "support/dmath_test_util.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using dmath_test::bits_of;
using test::DmathFn;

float host_eval(DmathFn fn, float x, float y) {
  switch (fn) {
    case DmathFn::exp: return dmath::exp(x);
    case DmathFn::exp2: return dmath::exp2(x);
    case DmathFn::expm1: return dmath::expm1(x);
    case DmathFn::log: return dmath::log(x);
    case DmathFn::log1p: return dmath::log1p(x);
    case DmathFn::tanh: return dmath::tanh(x);
    case DmathFn::erf: return dmath::erf(x);
    case DmathFn::sin: return dmath::sin(x);
    case DmathFn::cos: return dmath::cos(x);
    case DmathFn::sinpi: return dmath::sinpi(x);
    case DmathFn::cospi: return dmath::cospi(x);
    case DmathFn::sqrt: return dmath::sqrt(x);
    case DmathFn::pow: return dmath::pow(x, y);
  }
  return 0.0f;
}

// Every input of x (and y for pow) on the device and on the host, compared bit for bit.
void expect_device_bits_equal_host(const char* name, DmathFn fn, const std::vector<float>& x,
                                   const std::vector<float>& y = {}) {
  const size_t n = x.size();
  std::vector<float> device(n), host(n);
  test::dmath_eval_cuda(fn, x.data(), y.empty() ? nullptr : y.data(), device.data(), n);
  for (size_t i = 0; i < n; ++i) host[i] = host_eval(fn, x[i], y.empty() ? 0.0f : y[i]);
  size_t mismatches = 0;
  for (size_t i = 0; i < n; ++i) {
    if (bits_of(device[i]) == bits_of(host[i])) continue;
    if (++mismatches <= 5)
      ADD_FAILURE() << name << "(" << std::hexfloat << x[i] << (y.empty() ? "" : ", ")
                    << (y.empty() ? 0.0f : y[i]) << "): device " << device[i] << " (bits 0x" << std::hex
                    << bits_of(device[i]) << "), host " << std::hexfloat << host[i] << " (bits 0x" << std::hex
                    << bits_of(host[i]) << ")";
  }
  EXPECT_EQ(mismatches, 0u) << name << ": " << mismatches << " of " << n << " results differ";
}

std::vector<float> inputs_with_specials(const char* sweep) {
  std::vector<float> v = dmath_test::sweep_inputs(sweep);
  for (float s : dmath_test::special_inputs()) v.push_back(s);
  return v;
}

TEST(DmathGpu, ExpFamilyMatchesHostBits) {
  DETNN_REQUIRE_GPU();
  expect_device_bits_equal_host("exp", DmathFn::exp, inputs_with_specials("exp"));
  expect_device_bits_equal_host("exp2", DmathFn::exp2, inputs_with_specials("exp2"));
  expect_device_bits_equal_host("expm1", DmathFn::expm1, inputs_with_specials("expm1"));
}

TEST(DmathGpu, LogFamilyMatchesHostBits) {
  DETNN_REQUIRE_GPU();
  expect_device_bits_equal_host("log", DmathFn::log, inputs_with_specials("log"));
  expect_device_bits_equal_host("log1p", DmathFn::log1p, inputs_with_specials("log1p"));
  expect_device_bits_equal_host("sqrt", DmathFn::sqrt, inputs_with_specials("sqrt"));
}

TEST(DmathGpu, TanhErfMatchHostBits) {
  DETNN_REQUIRE_GPU();
  expect_device_bits_equal_host("tanh", DmathFn::tanh, inputs_with_specials("tanh"));
  expect_device_bits_equal_host("erf", DmathFn::erf, inputs_with_specials("erf"));
}

TEST(DmathGpu, TrigMatchesHostBits) {
  DETNN_REQUIRE_GPU();
  const std::vector<float> trig = inputs_with_specials("sin");
  expect_device_bits_equal_host("sin", DmathFn::sin, trig);
  expect_device_bits_equal_host("cos", DmathFn::cos, trig);
  const std::vector<float> pi = inputs_with_specials("sinpi");
  expect_device_bits_equal_host("sinpi", DmathFn::sinpi, pi);
  expect_device_bits_equal_host("cospi", DmathFn::cospi, pi);
}

TEST(DmathGpu, PowMatchesHostBits) {
  DETNN_REQUIRE_GPU();
  std::vector<float> x, y;
  dmath_test::pow_sweep_inputs(x, y);
  const std::vector<float> specials = dmath_test::special_inputs();
  for (float a : specials)
    for (float b : specials) {
      x.push_back(a);
      y.push_back(b);
    }
  for (float a : {-8.0f, -2.0f, -1.0f, 2.0f, 3.0f})  // negative bases with odd/even/non-integer y
    for (float b : {-3.0f, -2.0f, 0.5f, 2.0f, 3.0f, 16777215.0f, 1e30f}) {
      x.push_back(a);
      y.push_back(b);
    }
  expect_device_bits_equal_host("pow", DmathFn::pow, x, y);
}

}  // namespace
}  // namespace detnn
