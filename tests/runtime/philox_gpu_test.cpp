#include <gtest/gtest.h>

#include <vector>

#include "support/cuda/philox_eval.h"
#include "support/test_util.h"

namespace detnn {
namespace {

TEST(PhiloxGpu, KnownAnswersOnTheDevice) {
  DETNN_REQUIRE_GPU();
  const PhiloxBlock counters[] = {{{0, 0, 0, 0}},
                                  {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
                                  {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}};
  const PhiloxKey keys[] = {{0, 0}, {0xffffffff, 0xffffffff}, {0xa4093822, 0x299f31d0}};
  const uint32_t expected[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                   {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                   {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
  PhiloxBlock out[3];
  test::philox_blocks_cuda(counters, keys, out, 3);
  for (int k = 0; k < 3; ++k)
    for (int w = 0; w < 4; ++w) EXPECT_EQ(out[k].w[w], expected[k][w]) << k << "," << w;
}

TEST(PhiloxGpu, UniformAndNormalMatchHostBitsForEveryLaunchShape) {
  DETNN_REQUIRE_GPU();
  const PhiloxKey key = philox_stream_key(20261127, RandomPurpose::dropout);
  const int64_t n = test::scaled_size(1 << 20);
  const uint64_t first = (1ull << 33) + 5;  // indices past 2^32 use the counter's high word
  std::vector<float> host_u(n), host_z(n);
  for (int64_t i = 0; i < n; ++i) {
    host_u[i] = random_uniform(key, first + i, 3, 77);
    host_z[i] = random_normal(key, first + i, 3, 77);
  }
  const int shapes[][2] = {{128, 1}, {256, 64}, {1024, 4096}, {96, 13}};
  for (auto& s : shapes) {
    std::vector<float> u(n), z(n);
    test::random_uniform_cuda(key, first, n, 3, 77, u.data(), s[0], s[1]);
    test::random_normal_cuda(key, first, n, 3, 77, z.data(), s[0], s[1]);
    EXPECT_EQ(test::first_bit_difference(u.data(), host_u.data(), n), -1) << s[0] << "x" << s[1];
    EXPECT_EQ(test::first_bit_difference(z.data(), host_z.data(), n), -1) << s[0] << "x" << s[1];
  }
}

}  // namespace
}  // namespace detnn
