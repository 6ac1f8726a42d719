#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"
#include "support/test_util.h"
#include "support/torch_reference.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;
using test::TorchReference;

const Activation kAll[] = {Activation::relu, Activation::gelu_erf, Activation::gelu_tanh};

// float64 definitions (libm is fine in a reference).
double ref_forward(Activation a, double x) {
  switch (a) {
    case Activation::relu: return x > 0 ? x : 0;
    case Activation::gelu_erf: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::gelu_tanh: {
      const double k = std::sqrt(2 / M_PI);
      return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
  }
  return 0;
}
double ref_derivative(Activation a, double x) {
  switch (a) {
    case Activation::relu: return x > 0 ? 1 : 0;
    case Activation::gelu_erf:
      return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
    case Activation::gelu_tanh: {
      const double k = std::sqrt(2 / M_PI), t = std::tanh(k * (x + 0.044715 * x * x * x));
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    }
  }
  return 0;
}

// PyTorch float64 results on the file's float32 inputs. Bound 1e-6 of max|want|: each output is
// a few roundings (erf <= 1.05 ulp, tanh <= 1.22 ulp, exp 0.51 ulp, 3-4 products/fmas) from its
// float64 value, i.e. a few 2^-24 ~ 6e-8 relative to the output or, where 1 + erf / 1 + tanh
// cancels for negative x, to 0.5|x| <= max|y|; 1e-6 leaves a 4x margin over that.
TEST(ActivationTorch, ForwardAndBackwardMatchPyTorch) {
  const auto& ref = TorchReference::get();
  for (Activation a : kAll) {
    const std::string c = activation_name(a);
    const auto x = ref.floats(c, "x");
    const auto gy = ref.floats(c, "gy");
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<float> y(n), gx(n);
    activation_forward_cpu(a, x.data(), y.data(), n);
    activation_backward_cpu(a, x.data(), gy.data(), gx.data(), n);
    EXPECT_LE(test::max_relative_error(y, ref.values(c, "y")), 1e-6) << c;
    EXPECT_LE(test::max_relative_error(gx, ref.values(c, "gx")), 1e-6) << c;
  }
}

// Random inputs over [-12, 12] (both tails and the saturated region), per element against
// float64. Forward bound: 2^-21 (|x| + |y|) covers the few-ulp error of the output and the
// 0.5|x| * ulp(1) absolute error that 1 + erf(.) / 1 + tanh(.) has where it cancels. Backward
// bound: 2^-20 (|dx| + |dy|(1 + |x|)): cdf/left are within a few ulp of 1, the x*pdf and
// sech^2 terms carry |x| times a few ulp of their factors.
TEST(Activation, CloseToFloat64Reference) {
  const int64_t n = 100003;
  const auto x = random_floats(n, 11, -12.0f, 12.0f);
  const auto dy = random_floats(n, 12, -3.0f, 3.0f);
  for (Activation a : kAll) {
    std::vector<float> y(n), dx(n);
    activation_forward_cpu(a, x.data(), y.data(), n);
    activation_backward_cpu(a, x.data(), dy.data(), dx.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double want_y = ref_forward(a, x[i]);
      const double want_dx = dy[i] * ref_derivative(a, x[i]);
      ASSERT_LE(std::fabs(y[i] - want_y), std::ldexp(std::fabs(x[i]) + std::fabs(want_y), -21))
          << activation_name(a) << " x=" << x[i];
      ASSERT_LE(std::fabs(dx[i] - want_dx),
                std::ldexp(std::fabs(want_dx) + std::fabs(dy[i]) * (1 + std::fabs(x[i])), -20))
          << activation_name(a) << " x=" << x[i];
    }
  }
}

// The backward formulas against central differences of the float64 forward (h = 1e-5: the
// difference's truncation error ~h^2 |f'''| and rounding ~1e-16/h are both below 1e-9).
TEST(Activation, GeluGradientsMatchFiniteDifferences) {
  const int64_t n = 2001;
  std::vector<float> x(n), ones(n, 1.0f), dx(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -10.0f + 0.01f * static_cast<float>(i) + 0.003f;
  for (Activation a : {Activation::gelu_erf, Activation::gelu_tanh}) {
    activation_backward_cpu(a, x.data(), ones.data(), dx.data(), n);
    const double h = 1e-5;
    for (int64_t i = 0; i < n; ++i) {
      const double fd = (ref_forward(a, x[i] + h) - ref_forward(a, x[i] - h)) / (2 * h);
      EXPECT_NEAR(dx[i], fd, 2e-6 * (1 + std::fabs(x[i]))) << activation_name(a) << " x=" << x[i];
    }
  }
}

TEST(Activation, ReluEdgeCases) {
  const float nan = std::nanf("");
  std::vector<float> x = {-0.0f, 0.0f, 1e-45f, -1e-45f, 3.0f, -INFINITY, INFINITY, nan};
  std::vector<float> y(x.size()), dx(x.size()), dy(x.size(), 2.0f);
  activation_forward_cpu(Activation::relu, x.data(), y.data(), x.size());
  activation_backward_cpu(Activation::relu, x.data(), dy.data(), dx.data(), x.size());
  const std::vector<float> want_y = {0.0f, 0.0f, 1e-45f, 0.0f, 3.0f, 0.0f, INFINITY};
  for (size_t i = 0; i < want_y.size(); ++i) EXPECT_EQ(test::float_bits(y[i]), test::float_bits(want_y[i])) << i;
  EXPECT_TRUE(std::isnan(y[7]));
  const std::vector<float> want_dx = {0.0f, 0.0f, 2.0f, 0.0f, 2.0f, 0.0f, 2.0f, 0.0f};  // x == 0 -> 0
  for (size_t i = 0; i < want_dx.size(); ++i) EXPECT_EQ(dx[i], want_dx[i]) << i;
  // y passed for x gives the same gradient.
  std::vector<float> dx_from_y(x.size());
  activation_backward_cpu(Activation::relu, y.data(), dy.data(), dx_from_y.data(), 7);
  EXPECT_EQ(first_bit_difference(dx.data(), dx_from_y.data(), 7), -1);
}

TEST(Activation, GeluSaturatesWithoutNaN) {
  std::vector<float> x = {-1e30f, -1e20f, -50.0f, 50.0f, 1e20f, 1e30f, 3e38f};
  std::vector<float> ones(x.size(), 1.0f);
  for (Activation a : {Activation::gelu_erf, Activation::gelu_tanh}) {
    std::vector<float> y(x.size()), dx(x.size());
    activation_forward_cpu(a, x.data(), y.data(), x.size());
    activation_backward_cpu(a, x.data(), ones.data(), dx.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << activation_name(a) << " x=" << x[i];
      EXPECT_EQ(dx[i], x[i] > 0 ? 1.0f : 0.0f) << activation_name(a) << " x=" << x[i];
    }
  }
}

// Each element is its own output: every thread count and size gives the bits of the
// per-element function, in place too.
TEST(Activation, SameBitsForEveryThreadCountAndSize) {
  ThreadCountGuard guard;
  for (int64_t n : {1, 7, 33, 257, 100003}) {
    const auto x = random_floats(n, 100 + n, -6.0f, 6.0f);
    const auto dy = random_floats(n, 200 + n);
    for (Activation a : kAll) {
      std::vector<float> want_y(n), want_dx(n);
      for (int64_t i = 0; i < n; ++i) {
        want_y[i] = a == Activation::relu ? act::relu(x[i]) : a == Activation::gelu_erf ? act::gelu_erf(x[i]) : act::gelu_tanh(x[i]);
        want_dx[i] = a == Activation::relu       ? act::relu_backward(x[i], dy[i])
                     : a == Activation::gelu_erf ? act::gelu_erf_backward(x[i], dy[i])
                                                 : act::gelu_tanh_backward(x[i], dy[i]);
      }
      for (int threads : {1, 2, 7}) {
        set_num_threads(threads);
        std::vector<float> y(n), dx = dy;
        activation_forward_cpu(a, x.data(), y.data(), n);
        activation_backward_cpu(a, x.data(), dx.data(), dx.data(), n);  // in place over dy
        EXPECT_EQ(first_bit_difference(y.data(), want_y.data(), n), -1) << activation_name(a) << " n=" << n << " t=" << threads;
        EXPECT_EQ(first_bit_difference(dx.data(), want_dx.data(), n), -1) << activation_name(a) << " n=" << n << " t=" << threads;
        std::vector<float> inplace = x;
        activation_forward_cpu(a, inplace.data(), inplace.data(), n);
        EXPECT_EQ(first_bit_difference(inplace.data(), want_y.data(), n), -1);
      }
    }
  }
}

TEST(Activation, AddAndScale) {
  ThreadCountGuard guard;
  for (int64_t n : {1, 7, 33, 257, 65537}) {
    const auto a = random_floats(n, 300 + n), b = random_floats(n, 400 + n);
    for (int threads : {1, 2, 7}) {
      set_num_threads(threads);
      std::vector<float> sum(n), scaled(n), acc = b;
      add_cpu(a.data(), b.data(), sum.data(), n);
      add_cpu(a.data(), acc.data(), acc.data(), n);  // accumulate in place
      scale_cpu(a.data(), 0.37f, scaled.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(test::float_bits(sum[i]), test::float_bits(a[i] + b[i]));
        ASSERT_EQ(test::float_bits(acc[i]), test::float_bits(a[i] + b[i]));
        ASSERT_EQ(test::float_bits(scaled[i]), test::float_bits(0.37f * a[i]));
      }
    }
  }
}

TEST(Activation, BadSizesAreNamedErrors) {
  float v = 0;
  auto message = [&](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { activation_forward_cpu(Activation::gelu_tanh, &v, &v, -1); }).find("gelu_tanh: n must be >= 0, got -1"), std::string::npos);
  EXPECT_NE(message([&] { activation_backward_cpu(Activation::relu, &v, &v, &v, -3); }).find("relu: n must be >= 0, got -3"), std::string::npos);
  EXPECT_NE(message([&] { add_cpu(&v, &v, &v, -2); }).find("add: n must be >= 0"), std::string::npos);
  EXPECT_NE(message([&] { scale_cpu(&v, 1.0f, &v, -2); }).find("scale: n must be >= 0"), std::string::npos);
  activation_forward_cpu(Activation::relu, nullptr, nullptr, 0);  // empty is fine
}

}  // namespace
}  // namespace detnn::kernels
