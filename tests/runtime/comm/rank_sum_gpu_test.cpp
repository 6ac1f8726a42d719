// The CUDA rank sum (runtime/comm/rank_sum_cuda.h) gives the bits of the CPU rule, pairwise_sum_over_ranks
// (runtime/comm/rank_sum.h), for ranks 1-9, 16 and 33 and sizes from 1 to 4 Mi + 3 elements —
// rows and output aligned or not, row strides that allow 16-byte loads or not, any launch shape —
// and writes nothing outside its output; add_left_right_cuda (a level of recursive halving) too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/comm/rank_sum.h"
#include "runtime/comm/rank_sum_cuda.h"
#include "runtime/error.h"
#include "support/canonical_sum_reference.h"
#include "support/device_buffer.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::DeviceBuffer;

// Order-sensitive values (tests/support/canonical_sum_reference.h).
std::vector<float> inputs(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = test::order_sensitive_input(seed, i);
  return v;
}

// Where the rows and the output sit: offsets in floats from a 256-byte-aligned allocation, and
// whether the row stride is a multiple of 4 floats (16-byte loads) or not.
struct Layout {
  int row_offset;
  bool vector_stride;
  int out_offset;
};
const Layout kLayouts[] = {{0, true, 0},   // float4 loads and stores throughout
                           {1, true, 1},   // a 3-element scalar head, then float4
                           {2, true, 0},   // float4 loads, scalar stores
                           {3, false, 3}};  // all scalar

int64_t stride_for(int64_t count, bool vector_stride) {
  const int64_t rounded = (count + 3) / 4 * 4;
  return vector_stride ? rounded + 4 : (count % 4 == 0 ? count + 1 : count);
}

constexpr uint32_t kSentinel = 0x7b7b7b7bu;  // DeviceBuffer's fill

// Runs one case on the rows in `pool` (host) and returns the wrong elements; -1 when the kernel
// wrote outside its output.
int64_t wrong_elements(const std::vector<float>& pool, int ranks, int64_t count, const Layout& l,
                       const RankSumLaunch& launch = {}) {
  const int64_t stride = stride_for(count, l.vector_stride);
  const size_t used = l.row_offset + static_cast<size_t>(ranks - 1) * stride + count;
  EXPECT_LE(used, pool.size());
  DeviceBuffer<float> rows(std::vector<float>(pool.begin(), pool.begin() + used));
  DeviceBuffer<float> out(static_cast<size_t>(count) + 4);
  rank_sum_cuda(rows.get() + l.row_offset, ranks, stride, count, out.get() + l.out_offset, nullptr, launch);
  const std::vector<float> got = out.download();
  if (!out.guards_intact() || !rows.guards_intact()) return -1;
  for (int64_t i = 0; i < static_cast<int64_t>(got.size()); ++i)
    if ((i < l.out_offset || i >= l.out_offset + count) && test::float_bits(got[i]) != kSentinel) return -1;

  std::vector<const float*> in(ranks);
  for (int r = 0; r < ranks; ++r) in[r] = pool.data() + l.row_offset + r * stride;
  std::vector<float> expected(count);
  pairwise_sum_over_ranks(in.data(), ranks, 0, count, expected.data());
  int64_t wrong = 0;
  for (int64_t i = 0; i < count; ++i) wrong += test::float_bits(got[l.out_offset + i]) != test::float_bits(expected[i]);
  return wrong;
}

TEST(RankSumCuda, EveryElementHasTheCpuRuleBits) {
  DETNN_REQUIRE_GPU();
  const int64_t largest = test::scaled_size((int64_t{1} << 22) + 3);
  const std::vector<float> pool = inputs(static_cast<size_t>(33) * (largest + 8) + 8, 11);
  for (int ranks : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33})
    for (int64_t count : std::vector<int64_t>{1, 2, 3, 4, 5, 1023, 4097, largest})
      for (const Layout& l : kLayouts) {
        if (count == largest && (l.row_offset == 1 || l.row_offset == 2)) continue;  // the long case: two layouts
        EXPECT_EQ(wrong_elements(pool, ranks, count, l), 0)
            << ranks << " ranks, " << count << " elements, rows at +" << l.row_offset << " ("
            << (l.vector_stride ? "vector" : "scalar") << " stride), out at +" << l.out_offset;
      }
}

TEST(RankSumCuda, TheBitsDoNotDependOnTheLaunchShape) {
  DETNN_REQUIRE_GPU();
  const std::vector<float> pool = inputs(static_cast<size_t>(13) * 100020, 12);
  const RankSumLaunch launches[] = {{32, 0}, {1024, 0}, {64, 1}, {96, 7}};
  for (const RankSumLaunch& launch : launches)
    for (const Layout& l : kLayouts)
      EXPECT_EQ(wrong_elements(pool, 13, 100003, l, launch), 0)
          << "block " << launch.block_size << ", grid <= " << launch.max_blocks << ", rows at +" << l.row_offset;
}

// A level of recursive halving adds what arrived to this rank's partial, left operand first, in
// place: the bits of the CPU's left + right, and nothing written outside. (A NaN stays a NaN; its
// payload is the GPU's canonical one, not the left operand's as on x86: no contract on payloads.)
TEST(RankSumCuda, AddLeftRightHasTheCpuBitsInPlaceEitherSide) {
  DETNN_REQUIRE_GPU();
  for (const int64_t count : {int64_t{1}, int64_t{7}, int64_t{4099}, int64_t{1} << 20}) {
    std::vector<float> left = inputs(static_cast<size_t>(count), 11 + count), right = inputs(static_cast<size_t>(count), 12 + count);
    uint32_t nan_a = 0x7fc00001u, nan_b = 0x7fc00002u;
    std::memcpy(&left[0], &nan_a, 4);
    std::memcpy(&right[0], &nan_b, 4);
    for (const bool into_left : {true, false}) {
      DeviceBuffer<float> l(left), r(right);
      float* out = into_left ? l.get() : r.get();
      add_left_right_cuda(l.get(), r.get(), out, count, nullptr);
      const std::vector<float> got = into_left ? l.download() : r.download();
      ASSERT_TRUE(l.guards_intact() && r.guards_intact()) << count;
      int64_t wrong = 0;
      wrong += !std::isnan(got[0]);
      for (int64_t i = 1; i < count; ++i) wrong += test::float_bits(got[i]) != test::float_bits(left[i] + right[i]);
      EXPECT_EQ(wrong, 0) << count << " elements, into " << (into_left ? "left" : "right");
    }
  }
}

TEST(RankSumCuda, ImpossibleArgumentsAreRefused) {
  // Checked before any device work: no GPU needed.
  float rows[16] = {}, out[4] = {};
  const auto refused = [](auto&& call, const char* expected) {
    try {
      call();
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused([&] { rank_sum_cuda(rows, 0, 4, 4, out, nullptr); }, "ranks must be in [1, 65535]");
  refused([&] { rank_sum_cuda(rows, 65536, 4, 4, out, nullptr); }, "ranks must be in [1, 65535]");
  refused([&] { rank_sum_cuda(rows, 2, 3, 4, out, nullptr); }, "row_stride (3) must be >= count (4)");
  refused([&] { rank_sum_cuda(rows, 2, 4, 4, rows + 6, nullptr); }, "out overlaps the rows");
  refused([&] { rank_sum_cuda(rows, 2, 4, 4, out, nullptr, RankSumLaunch{100, 0}); }, "block_size");
  rank_sum_cuda(rows, 2, 4, 0, out, nullptr);  // nothing to do: no launch, no device needed
}

}  // namespace
}  // namespace detnn::kernels
