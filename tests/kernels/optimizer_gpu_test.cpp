#include <gtest/gtest.h>

#include <vector>

#include "kernels/optimizer.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

const ReduceLaunch kLaunches[] = {{256, 0}, {32, 0}, {1024, 0}, {64, 1}, {96, 7}};

// Three steps of each update on random data (momentum/exp_avg initialised by step 1), with a
// device clip factor in the last step; offset 1 moves every buffer off 16-byte alignment
// (vector body after a scalar head), offset -1 only the gradients (all scalar).
TEST(OptimizerGpu, UpdatesMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  const SgdParams sgds[] = {{0.1f}, {0.1f, 0.9f, 0.1f, 1e-2f, false}, {0.1f, 0.9f, 0.0f, 1e-2f, true}};
  const AdamParams adams[] = {{1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, false}, {1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, true}};
  for (int64_t n0 : {1, 7, 33, 257, 65537, 1 << 22}) {
    const int64_t n = test::scaled_size(n0) + (n0 > 8 ? 3 : 0);
    const auto p0 = test::random_floats(n, 1 + n);
    std::vector<std::vector<float>> grads;
    for (int t = 0; t < 3; ++t) grads.push_back(test::random_floats(n, 10 * t + n));
    for (int variant = 0; variant < 5; ++variant) {
      for (int off : {0, 1, -1}) {
        for (const ReduceLaunch& launch : kLaunches) {
          if (n > 100000 && (launch.block_size != 256 || off != 0) && launch.max_blocks != 7) continue;
          const int po = off > 0 ? off : 0, go = off != 0 ? 1 : 0;
          auto pad = [&](const std::vector<float>& v, int o) {
            std::vector<float> h(v.size() + o);
            std::copy(v.begin(), v.end(), h.begin() + o);
            return h;
          };
          std::vector<float> cp = p0, cm(n, 0.0f), cv(n, 0.0f);
          DeviceBuffer<float> dp(pad(p0, po)), dm(pad(cm, po)), dv(pad(cv, po)), dg(n + go), scale(1);
          scale.upload({0.5f});
          for (int t = 1; t <= 3; ++t) {
            dg.upload(pad(grads[t - 1], go));
            const float cpu_scale = t == 3 ? 0.5f : 1.0f;
            const float* gpu_scale = t == 3 ? scale.get() : nullptr;
            if (variant < 3) {
              const SgdStep s = sgd_step_scalars(sgds[variant], t);
              sgd_update_cpu(cp.data(), grads[t - 1].data(), cm.data(), n, s, cpu_scale);
              sgd_update_cuda(dp.get() + po, dg.get() + go, dm.get() + po, n, s, gpu_scale, nullptr, launch);
            } else {
              const AdamStep s = adam_step_scalars(adams[variant - 3], t);
              adam_update_cpu(cp.data(), grads[t - 1].data(), cm.data(), cv.data(), n, s, cpu_scale);
              adam_update_cuda(dp.get() + po, dg.get() + go, dm.get() + po, dv.get() + po, n, s, gpu_scale,
                               nullptr, launch);
            }
          }
          EXPECT_EQ(test::first_bit_difference(dp.download().data() + po, cp.data(), n), -1)
              << "variant " << variant << " n=" << n << " off=" << off << " block=" << launch.block_size;
          EXPECT_EQ(test::first_bit_difference(dm.download().data() + po, cm.data(), n), -1) << "variant " << variant;
          if (variant >= 3) EXPECT_EQ(test::first_bit_difference(dv.download().data() + po, cv.data(), n), -1);
          EXPECT_TRUE(dp.guards_intact() && dm.guards_intact() && dv.guards_intact());
        }
      }
    }
  }
}

TEST(GradNormGpu, NormAndClipFactorMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  for (int64_t n0 : {0, 1, 7, 257, 65537, 16777219}) {
    const int64_t n = test::scaled_size(n0);
    const auto g = test::random_floats(n, 3 + n, -2.0f, 2.0f);
    const float want = global_grad_norm_cpu(g.data(), n);
    DeviceBuffer<float> dg(n + 1), norm(1), factor(1);
    std::vector<float> h(n + 1);
    std::copy(g.begin(), g.end(), h.begin() + 1);  // off 16 bytes
    dg.upload(h);
    DeviceBuffer<uint8_t> ws(global_grad_norm_cuda_workspace_bytes(n));
    global_grad_norm_cuda(dg.get() + 1, n, norm.get(), ws.get(), nullptr);
    clip_factor_cuda(norm.get(), 1.0f, factor.get(), nullptr);
    EXPECT_EQ(test::float_bits(norm.download()[0]), test::float_bits(want)) << "n=" << n;
    EXPECT_EQ(test::float_bits(factor.download()[0]), test::float_bits(clip_factor_cpu(want, 1.0f))) << "n=" << n;
    EXPECT_TRUE(norm.guards_intact() && ws.guards_intact() && factor.guards_intact());
  }
}

}  // namespace
}  // namespace detnn::kernels
