#include <gtest/gtest.h>

#include <vector>

#include "kernels/activation.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

const ReduceLaunch kLaunches[] = {{256, 0}, {32, 0}, {1024, 0}, {64, 1}, {96, 7}};
const Activation kAll[] = {Activation::relu, Activation::gelu_erf, Activation::gelu_tanh};

// Sizes incl. odd tails; offsets (in floats) shift the operands off 16-byte alignment, equally
// (vector body with a scalar head) or differently (all scalar).
struct Case {
  int64_t n;
  int off_x, off_y;
};
std::vector<Case> cases() {
  std::vector<Case> c;
  for (int64_t n0 : {1, 7, 33, 257, 65537, 1 << 22})
    for (auto [ox, oy] : {std::pair{0, 0}, {1, 1}, {3, 3}, {0, 2}, {1, 0}}) c.push_back({test::scaled_size(n0) + (n0 > 8 ? 3 : 0), ox, oy});
  return c;
}

TEST(ActivationGpu, ForwardAndBackwardMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  for (const Case& c : cases()) {
    const auto x = test::random_floats(c.n, 10 + c.n, -9.0f, 9.0f);
    const auto dy = test::random_floats(c.n, 20 + c.n);
    for (Activation a : kAll) {
      std::vector<float> want_y(c.n), want_dx(c.n);
      activation_forward_cpu(a, x.data(), want_y.data(), c.n);
      activation_backward_cpu(a, x.data(), dy.data(), want_dx.data(), c.n);
      for (const ReduceLaunch& launch : kLaunches) {
        if (c.n > 100000 && launch.max_blocks != 0 && launch.max_blocks < 7) continue;
        std::vector<float> hx(c.n + c.off_x), hdy(c.n + c.off_x);
        std::copy(x.begin(), x.end(), hx.begin() + c.off_x);
        std::copy(dy.begin(), dy.end(), hdy.begin() + c.off_x);
        DeviceBuffer<float> dx_in(hx), ddy(hdy), y(c.n + c.off_y), dx(c.n + c.off_y);
        activation_forward_cuda(a, dx_in.get() + c.off_x, y.get() + c.off_y, c.n, nullptr, launch);
        activation_backward_cuda(a, dx_in.get() + c.off_x, ddy.get() + c.off_x, dx.get() + c.off_y, c.n, nullptr, launch);
        const auto got_y = y.download(), got_dx = dx.download();
        EXPECT_EQ(test::first_bit_difference(got_y.data() + c.off_y, want_y.data(), c.n), -1)
            << activation_name(a) << " n=" << c.n << " off=" << c.off_x << "," << c.off_y << " block=" << launch.block_size;
        EXPECT_EQ(test::first_bit_difference(got_dx.data() + c.off_y, want_dx.data(), c.n), -1)
            << activation_name(a) << " n=" << c.n << " off=" << c.off_x << "," << c.off_y << " block=" << launch.block_size;
        EXPECT_TRUE(y.guards_intact() && dx.guards_intact());
      }
    }
  }
}

TEST(ActivationGpu, InPlaceAddAndScaleMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  for (int64_t n0 : {1, 7, 33, 257, 1000003}) {
    const int64_t n = test::scaled_size(n0);
    const auto a = test::random_floats(n, 30 + n), b = test::random_floats(n, 40 + n);
    std::vector<float> want_sum(n), want_scaled(n), want_gelu(n);
    add_cpu(a.data(), b.data(), want_sum.data(), n);
    scale_cpu(a.data(), -1.7f, want_scaled.data(), n);
    activation_forward_cpu(Activation::gelu_tanh, a.data(), want_gelu.data(), n);
    for (const ReduceLaunch& launch : kLaunches) {
      DeviceBuffer<float> da(a), db(b), s(a), g(a);
      add_cuda(da.get(), db.get(), db.get(), n, nullptr, launch);  // accumulate into b
      scale_cuda(s.get(), -1.7f, s.get(), n, nullptr, launch);
      activation_forward_cuda(Activation::gelu_tanh, g.get(), g.get(), n, nullptr, launch);
      EXPECT_EQ(test::first_bit_difference(db.download().data(), want_sum.data(), n), -1) << n;
      EXPECT_EQ(test::first_bit_difference(s.download().data(), want_scaled.data(), n), -1) << n;
      EXPECT_EQ(test::first_bit_difference(g.download().data(), want_gelu.data(), n), -1) << n;
      EXPECT_TRUE(db.guards_intact() && s.guards_intact() && g.guards_intact());
    }
  }
}

}  // namespace
}  // namespace detnn::kernels
