#include <gtest/gtest.h>

#include <vector>

#include "kernels/dropout.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

const ReduceLaunch kLaunches[] = {{256, 0}, {32, 0}, {1024, 0}, {64, 1}, {96, 7}};

// Sample sizes that start calls on and off a Philox draw boundary, pointers on and off 16 bytes.
TEST(DropoutGpu, MatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  for (int64_t size : {1, 7, 33, 257, 3072}) {
    for (int64_t first : {0, 3, 64}) {
      for (int off : {0, 1}) {
        const int64_t samples = size > 1000 ? test::scaled_size(1024) : 61, n = size * samples;
        DropoutParams d;
        d.p = 0.3f;
        d.seed = 77;
        d.step = 123456;
        d.layer_hash = stable_name_hash("encoder.4.dropout");
        d.sample_size = size;
        d.first_sample = first;
        d.samples = samples;
        const auto x = test::random_floats(n, 5 + n);
        std::vector<float> want_y(n), want_dx(n);
        dropout_forward_cpu(x.data(), want_y.data(), d);
        dropout_backward_cpu(x.data(), want_dx.data(), d);
        for (const ReduceLaunch& launch : kLaunches) {
          std::vector<float> hx(n + off);
          std::copy(x.begin(), x.end(), hx.begin() + off);
          DeviceBuffer<float> dx_in(hx), y(n + off), dx(n + off);
          dropout_forward_cuda(dx_in.get() + off, y.get() + off, d, nullptr, launch);
          dropout_backward_cuda(dx_in.get() + off, dx.get() + off, d, nullptr, launch);
          EXPECT_EQ(test::first_bit_difference(y.download().data() + off, want_y.data(), n), -1)
              << "size=" << size << " first=" << first << " off=" << off << " block=" << launch.block_size;
          EXPECT_EQ(test::first_bit_difference(dx.download().data() + off, want_dx.data(), n), -1)
              << "size=" << size << " first=" << first << " off=" << off;
          EXPECT_TRUE(y.guards_intact() && dx.guards_intact());
        }
      }
    }
  }
}

// The step read from device memory (a step captured in a CUDA Graph) gives the mask of that
// step, not of the step in the parameters: the CPU's bits for the device's value.
TEST(DropoutGpu, StepOnTheDeviceOverridesTheParameter) {
  DETNN_REQUIRE_GPU();
  const int64_t size = 33, samples = 61, n = size * samples;
  DropoutParams d;
  d.p = 0.3f;
  d.seed = 77;
  d.layer_hash = stable_name_hash("encoder.4.dropout");
  d.sample_size = size;
  d.first_sample = 5;
  d.samples = samples;
  const auto x = test::random_floats(n, 9);
  DeviceBuffer<float> dx_in(x), y(n), dx(n);
  DeviceBuffer<int64_t> step(std::vector<int64_t>{0});
  for (int64_t s : {int64_t{0}, int64_t{1}, int64_t{4000000000}}) {
    d.step = static_cast<uint64_t>(s);
    std::vector<float> want_y(n), want_dx(n);
    dropout_forward_cpu(x.data(), want_y.data(), d);
    dropout_backward_cpu(x.data(), want_dx.data(), d);
    step.upload({s});
    DropoutParams on_device = d;
    on_device.step = 999;  // ignored
    on_device.step_on_device = step.get();
    dropout_forward_cuda(dx_in.get(), y.get(), on_device, nullptr, kLaunches[0]);
    dropout_backward_cuda(dx_in.get(), dx.get(), on_device, nullptr, kLaunches[0]);
    EXPECT_EQ(test::first_bit_difference(y.download().data(), want_y.data(), n), -1) << "step " << s;
    EXPECT_EQ(test::first_bit_difference(dx.download().data(), want_dx.data(), n), -1) << "step " << s;
  }
}

}  // namespace
}  // namespace detnn::kernels
