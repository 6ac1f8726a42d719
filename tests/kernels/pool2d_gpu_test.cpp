#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/pool2d.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;
using test::first_bit_difference;

std::string describe(const PoolParams& p) {
  return std::to_string(p.batch) + "x" + std::to_string(p.channels) + "x" + std::to_string(p.height) + "x" +
         std::to_string(p.width) + " k" + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s" +
         std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) + " p" + std::to_string(p.pad_h) + "x" +
         std::to_string(p.pad_w);
}

// The cifar_convnet pooling (batch 64, 64 channels, 32x32, 2x2 stride 2: the vectorized path),
// overlapping and padded windows, odd sizes, asymmetric kernels, and widths that are not a
// multiple of 4 with the 2x2 kernel (the generic path).
std::vector<PoolParams> shapes() {
  std::vector<PoolParams> v = {PoolParams::square(64, 64, 32, 32, 2, 2, 0), PoolParams::square(64, 64, 32, 32, 3, 2, 1),
                               PoolParams::square(7, 3, 33, 17, 3, 1, 1),   PoolParams::square(1, 1, 1, 1, 1, 1, 0),
                               PoolParams::square(5, 7, 9, 12, 2, 2, 0),    PoolParams::square(3, 5, 7, 10, 2, 2, 0),
                               PoolParams::square(2, 3, 33, 33, 5, 3, 2),   PoolParams::square(4, 4, 17, 16, 2, 2, 0)};
  v.push_back(PoolParams{3, 2, 11, 10, 3, 2, 1, 2, 1, 0});
  return v;
}

// A device copy of host data at a float offset from a 256-byte aligned allocation: offset 1 breaks
// 16-byte alignment and sends the vectorized shapes down the scalar path.
template <typename T>
struct Placed {
  DeviceBuffer<T> buf;
  int offset;
  Placed(const std::vector<T>& host, int off) : buf(host.size() + off), offset(off) {
    std::vector<T> padded(off, T{});
    padded.insert(padded.end(), host.begin(), host.end());
    buf.upload(padded);
  }
  Placed(size_t n, int off) : buf(n + off), offset(off) {}
  T* get() { return buf.get() + offset; }
  std::vector<T> download() {
    auto all = buf.download();
    return std::vector<T>(all.begin() + offset, all.end());
  }
  bool guards_intact() { return buf.guards_intact(); }
};

TEST(Pool2dGpu, MaxPoolMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const PoolParams& p : shapes()) {
    for (int offset : {0, 1}) {
      const auto x = test::random_floats(p.input_size(), seed++);
      const auto dy = test::random_floats(p.output_size(), seed++);
      std::vector<float> y(p.output_size()), dx(p.input_size());
      std::vector<int32_t> arg(p.output_size());
      maxpool2d_forward_cpu(p, x.data(), y.data(), arg.data());
      maxpool2d_backward_cpu(p, dy.data(), arg.data(), dx.data());

      Placed<float> dxin(x, offset), dyd(dy, offset), dyout(p.output_size(), offset), ddx(p.input_size(), offset);
      Placed<int32_t> darg(p.output_size(), offset);
      maxpool2d_forward_cuda(p, dxin.get(), dyout.get(), darg.get(), nullptr);
      maxpool2d_backward_cuda(p, dyd.get(), darg.get(), ddx.get(), nullptr);
      const auto gy = dyout.download(), gdx = ddx.download();
      const auto garg = darg.download();
      EXPECT_EQ(first_bit_difference(gy.data(), y.data(), y.size()), -1) << describe(p) << " offset " << offset;
      EXPECT_EQ(garg, arg) << describe(p);
      EXPECT_EQ(first_bit_difference(gdx.data(), dx.data(), dx.size()), -1) << describe(p) << " offset " << offset;
      EXPECT_TRUE(dyout.guards_intact() && darg.guards_intact() && ddx.guards_intact()) << describe(p);
    }
  }
}

TEST(Pool2dGpu, MaxPoolTiesAndNaNMatchCpu) {
  DETNN_REQUIRE_GPU();
  // Constant planes (ties everywhere) and NaNs sprinkled in, on both the vector and generic paths.
  for (const PoolParams& p : {PoolParams::square(2, 3, 8, 8, 2, 2, 0), PoolParams::square(2, 3, 9, 7, 3, 2, 1)}) {
    std::vector<float> x(p.input_size(), 0.5f);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = NAN;
    for (size_t i = 3; i < x.size(); i += 11) x[i] = 2.0f;
    std::vector<float> y(p.output_size());
    std::vector<int32_t> arg(p.output_size());
    maxpool2d_forward_cpu(p, x.data(), y.data(), arg.data());
    DeviceBuffer<float> dxin(x), dy(p.output_size());
    DeviceBuffer<int32_t> darg(p.output_size());
    maxpool2d_forward_cuda(p, dxin.get(), dy.get(), darg.get(), nullptr);
    const auto gy = dy.download();
    EXPECT_EQ(first_bit_difference(gy.data(), y.data(), y.size()), -1) << describe(p);
    EXPECT_EQ(darg.download(), arg) << describe(p);
  }
}

TEST(Pool2dGpu, AvgPoolMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  uint32_t seed = 100;
  for (PoolParams p : shapes()) {
    for (bool include_pad : {true, false}) {
      p.count_include_pad = include_pad;
      const auto x = test::random_floats(p.input_size(), seed++);
      const auto dy = test::random_floats(p.output_size(), seed++);
      std::vector<float> y(p.output_size()), dx(p.input_size());
      avgpool2d_forward_cpu(p, x.data(), y.data());
      avgpool2d_backward_cpu(p, dy.data(), dx.data());
      DeviceBuffer<float> dxin(x), dyd(dy), dyout(p.output_size()), ddx(p.input_size());
      avgpool2d_forward_cuda(p, dxin.get(), dyout.get(), nullptr);
      avgpool2d_backward_cuda(p, dyd.get(), ddx.get(), nullptr);
      const auto gy = dyout.download(), gdx = ddx.download();
      EXPECT_EQ(first_bit_difference(gy.data(), y.data(), y.size()), -1) << describe(p) << " pad " << include_pad;
      EXPECT_EQ(first_bit_difference(gdx.data(), dx.data(), dx.size()), -1) << describe(p) << " pad " << include_pad;
      EXPECT_TRUE(dyout.guards_intact() && ddx.guards_intact());
    }
  }
}

TEST(Pool2dGpu, GlobalAvgPoolMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  // Planes of one leaf (one thread per plane) and of several (canonical_sum_cuda).
  const PoolParams cases[] = {{64, 64, 8, 8}, {3, 5, 1, 1}, {7, 3, 7, 7}, {2, 3, 17, 19}, {64, 64, 32, 32},
                              {2, 3, test::scaled_size(int64_t{1} << 20) / 1024, 1000}};
  uint32_t seed = 200;
  for (const PoolParams& p : cases) {
    const auto x = test::random_floats(p.input_size(), seed++);
    const auto dy = test::random_floats(p.planes(), seed++);
    std::vector<float> y(p.planes()), dx(p.input_size());
    global_avgpool2d_forward_cpu(p, x.data(), y.data());
    global_avgpool2d_backward_cpu(p, dy.data(), dx.data());
    DeviceBuffer<float> dxin(x), dyd(dy), dyout(p.planes()), ddx(p.input_size());
    global_avgpool2d_forward_cuda(p, dxin.get(), dyout.get(), nullptr);
    global_avgpool2d_backward_cuda(p, dyd.get(), ddx.get(), nullptr);
    const auto gy = dyout.download(), gdx = ddx.download();
    EXPECT_EQ(first_bit_difference(gy.data(), y.data(), y.size()), -1) << describe(p);
    EXPECT_EQ(first_bit_difference(gdx.data(), dx.data(), dx.size()), -1) << describe(p);
    EXPECT_TRUE(dyout.guards_intact() && ddx.guards_intact());
  }
}

TEST(Pool2dGpu, LargeBatchMatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  // A batch large enough for many grid-stride rounds per thread.
  const int64_t batch = test::scaled_size(int64_t{512} * 64 * 32 * 32) / (64 * 32 * 32);  // 512 (32 quick)
  const PoolParams p = PoolParams::square(batch, 64, 32, 32, 2, 2, 0);
  const auto x = test::random_floats(p.input_size(), 300);
  std::vector<float> y(p.output_size());
  std::vector<int32_t> arg(p.output_size());
  maxpool2d_forward_cpu(p, x.data(), y.data(), arg.data());
  DeviceBuffer<float> dxin(x), dy(p.output_size());
  DeviceBuffer<int32_t> darg(p.output_size());
  maxpool2d_forward_cuda(p, dxin.get(), dy.get(), darg.get(), nullptr);
  const auto gy = dy.download();
  EXPECT_EQ(first_bit_difference(gy.data(), y.data(), y.size()), -1);
  EXPECT_EQ(darg.download(), arg);
  const auto g = test::random_floats(p.output_size(), 301);
  std::vector<float> dx(p.input_size());
  maxpool2d_backward_cpu(p, g.data(), arg.data(), dx.data());
  DeviceBuffer<float> dg(g), ddx(p.input_size());
  maxpool2d_backward_cuda(p, dg.get(), darg.get(), ddx.get(), nullptr);
  const auto gdx = ddx.download();
  EXPECT_EQ(first_bit_difference(gdx.data(), dx.data(), dx.size()), -1);
  EXPECT_TRUE(dy.guards_intact() && darg.guards_intact() && ddx.guards_intact());
}

}  // namespace
}  // namespace detnn::kernels
