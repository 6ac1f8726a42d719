#include <gtest/gtest.h>

#include <vector>

#include "kernels/canonical_sum.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

std::vector<float> sum_on_gpu(const std::vector<float>& x, const SumLayout& l, const ReduceLaunch& launch,
                              bool* guards_ok) {
  DeviceBuffer<float> dx(x), out(l.outputs);
  DeviceBuffer<uint8_t> ws(canonical_sum_cuda_workspace_bytes(l, launch));
  canonical_sum_cuda(dx.get(), out.get(), l, ws.get(), nullptr, launch);
  *guards_ok = out.guards_intact() && ws.guards_intact();
  return out.download();
}

const ReduceLaunch kLaunches[] = {{32, 0}, {256, 0}, {1024, 0}, {64, 1}, {128, 7}};

TEST(CanonicalSumGpu, VectorsMatchCpuBitsForEveryLaunchShape) {
  DETNN_REQUIRE_GPU();
  for (int64_t n0 : {1, 2, 255, 256, 257, 65537, 1000003, 33554467}) {
    const int64_t n = test::scaled_size(n0);
    auto x = test::random_floats(n, 100 + n);
    float want = canonical_sum_cpu(x.data(), n);
    for (const ReduceLaunch& launch : kLaunches) {
      if (n > 2000000 && launch.max_blocks != 0) continue;  // keep the long case quick
      bool guards = false;
      auto got = sum_on_gpu(x, SumLayout::vector(n), launch, &guards);
      EXPECT_EQ(test::float_bits(got[0]), test::float_bits(want))
          << "n=" << n << " block=" << launch.block_size << " grid<=" << launch.max_blocks;
      EXPECT_TRUE(guards);
    }
  }
}

TEST(CanonicalSumGpu, RowsAndChannelsMatchCpuBits) {
  DETNN_REQUIRE_GPU();
  const SumLayout layouts[] = {SumLayout::rows(33, 1000), SumLayout::channels(64, 7, 33 * 33),
                               SumLayout::channels(3, 128, 1), SumLayout::rows(70000, 3)};
  for (const SumLayout& l : layouts) {
    const int64_t span = l.outputs == 0 ? 0 : (l.outputs - 1) * l.output_stride +
                                                   ((l.length - 1) / l.inner) * l.outer_stride +
                                                   (l.length - 1) % l.inner + 1;
    auto x = test::random_floats(span, 300 + span);
    std::vector<float> want(l.outputs);
    canonical_sum_cpu(x.data(), want.data(), l);
    for (const ReduceLaunch& launch : kLaunches) {
      bool guards = false;
      auto got = sum_on_gpu(x, l, launch, &guards);
      EXPECT_EQ(test::first_bit_difference(got.data(), want.data(), l.outputs), -1)
          << "outputs=" << l.outputs << " length=" << l.length << " block=" << launch.block_size;
      EXPECT_TRUE(guards);
    }
  }
}

TEST(ChunkCombineGpu, MatchesCpuBits) {
  DETNN_REQUIRE_GPU();
  for (int64_t chunks : {1, 3, 8, 13, 64}) {
    const int64_t size = test::scaled_size(100003);
    auto p = test::random_floats(chunks * size, 500 + chunks, -5.f, 5.f);
    std::vector<float> want(size);
    combine_chunk_partials_cpu(p.data(), chunks, size, want.data());
    for (const ReduceLaunch& launch : kLaunches) {
      DeviceBuffer<float> dp(p), out(size);
      combine_chunk_partials_cuda(dp.get(), chunks, size, out.get(), nullptr, launch);
      auto got = out.download();
      EXPECT_EQ(test::first_bit_difference(got.data(), want.data(), size), -1)
          << "chunks=" << chunks << " block=" << launch.block_size;
      EXPECT_TRUE(out.guards_intact());
    }
  }
}

}  // namespace
}  // namespace detnn::kernels
