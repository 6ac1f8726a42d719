#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cross_entropy.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

const CrossEntropyLaunch kLaunches[] = {{0, 0}, {32, 0}, {256, 3}, {1024, 0}};

TEST(CrossEntropyGpu, LossesAndGradientsMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  struct Shape {
    int64_t n, k;
  };
  for (Shape s : {Shape{1, 1}, Shape{7, 2}, Shape{33, 10}, Shape{257, 257}, Shape{512, 10}, Shape{64, 1000},
                  Shape{5, 2049}, Shape{3, 5000}, Shape{test::scaled_size(4096), 1000}}) {
    for (float eps : {0.0f, 0.1f}) {
      const auto z = test::random_floats(s.n * s.k, 3 + s.k, -10.0f, 10.0f);
      const auto u = test::random_floats(s.n, 4 + s.n, 0.0f, 1.0f);
      std::vector<int32_t> labels(s.n);
      for (int64_t i = 0; i < s.n; ++i) labels[i] = std::min<int32_t>(static_cast<int32_t>(u[i] * s.k), s.k - 1);
      CrossEntropyParams p;
      p.samples = s.n;
      p.classes = s.k;
      p.label_smoothing = eps;
      p.global_batch = s.n * 2;
      std::vector<float> want_l(s.n), want_g(s.n * s.k);
      cross_entropy_forward_cpu(z.data(), labels.data(), want_l.data(), p);
      cross_entropy_backward_cpu(z.data(), labels.data(), want_g.data(), p);
      const float want_loss = cross_entropy_batch_loss_cpu(want_l.data(), s.n, p.global_batch);
      for (const CrossEntropyLaunch& launch : kLaunches) {
        DeviceBuffer<float> dz(z), l(s.n), g(s.n * s.k), loss(1);
        DeviceBuffer<int32_t> dl(labels);
        cross_entropy_forward_cuda(dz.get(), dl.get(), l.get(), p, nullptr, launch);
        cross_entropy_backward_cuda(dz.get(), dl.get(), g.get(), p, nullptr, launch);
        DeviceBuffer<uint8_t> ws(cross_entropy_batch_loss_cuda_workspace_bytes(s.n));
        cross_entropy_batch_loss_cuda(l.get(), s.n, p.global_batch, loss.get(), ws.get(), nullptr);
        EXPECT_EQ(test::first_bit_difference(l.download().data(), want_l.data(), s.n), -1)
            << "N=" << s.n << " K=" << s.k << " eps=" << eps << " block=" << launch.block_size;
        EXPECT_EQ(test::first_bit_difference(g.download().data(), want_g.data(), s.n * s.k), -1)
            << "N=" << s.n << " K=" << s.k << " eps=" << eps << " block=" << launch.block_size;
        EXPECT_EQ(test::float_bits(loss.download()[0]), test::float_bits(want_loss)) << "N=" << s.n;
        EXPECT_TRUE(l.guards_intact() && g.guards_intact() && loss.guards_intact() && ws.guards_intact());
      }
    }
  }
}

// A bad label on the device reads nothing out of bounds and poisons only its own sample.
TEST(CrossEntropyGpu, BadLabelGivesNaNRow) {
  DETNN_REQUIRE_GPU();
  const int64_t N = 4, K = 5;
  const auto z = test::random_floats(N * K, 1);
  const std::vector<int32_t> labels = {0, 7, -1, 4};
  CrossEntropyParams p;
  p.samples = N;
  p.classes = K;
  p.global_batch = N;
  DeviceBuffer<float> dz(z), l(N), g(N * K);
  DeviceBuffer<int32_t> dl(labels);
  cross_entropy_forward_cuda(dz.get(), dl.get(), l.get(), p, nullptr);
  cross_entropy_backward_cuda(dz.get(), dl.get(), g.get(), p, nullptr);
  const auto losses = l.download(), grads = g.download();
  EXPECT_TRUE(std::isfinite(losses[0]) && std::isfinite(losses[3]));
  EXPECT_EQ(test::float_bits(losses[1]), 0x7fc00000u);
  EXPECT_EQ(test::float_bits(losses[2]), 0x7fc00000u);
  for (int64_t k = 0; k < K; ++k) {
    EXPECT_EQ(test::float_bits(grads[1 * K + k]), 0x7fc00000u);
    EXPECT_TRUE(std::isfinite(grads[0 * K + k]));
  }
}

}  // namespace
}  // namespace detnn::kernels
