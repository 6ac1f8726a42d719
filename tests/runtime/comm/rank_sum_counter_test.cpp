// The CUDA rank sum's per-element algorithm (runtime/comm/rank_sum_counter.h), run on the host: for
// every rank count from 1 to 1100 and for large ones up to 65535, by 1 and by 4 lanes, its bits
// equal the pairwise rule of runtime/comm/rank_sum.h — the kernel's arithmetic, checked without a
// GPU (tests/runtime/comm/rank_sum_gpu_test.cpp checks the kernel itself on a device).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "runtime/comm/rank_sum.h"
#include "runtime/comm/rank_sum_counter.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"

namespace detnn {
namespace {

using rank_counter::combine_ranks;
using rank_counter::Lanes;
using rank_counter::levels_for;

float input(uint64_t seed, int64_t index) { return test::order_sensitive_input(seed, static_cast<uint64_t>(index)); }

template <int V>
struct HostLoad {
  const float* rows;
  int64_t stride;
  Lanes<V> operator()(unsigned r) const {
    Lanes<V> x;
    for (int k = 0; k < V; ++k) x.v[k] = rows[static_cast<int64_t>(r) * stride + k];
    return x;
  }
};

// The counter as the kernel launches it: the level count chosen from the rank count.
template <int V>
Lanes<V> counter(const float* rows, int ranks, int64_t stride) {
  const HostLoad<V> load{rows, stride};
  const auto n = static_cast<unsigned>(ranks);
  switch (levels_for(n)) {
    case 4:
      return combine_ranks<4, V>(n, load);
    case 8:
      return combine_ranks<8, V>(n, load);
    case 12:
      return combine_ranks<12, V>(n, load);
    default:
      return combine_ranks<16, V>(n, load);
  }
}

TEST(RankSumCounter, LevelsCoverEveryRankCountUpTo65535) {
  EXPECT_EQ(levels_for(1), 4);
  EXPECT_EQ(levels_for(15), 4);
  EXPECT_EQ(levels_for(16), 8);
  EXPECT_EQ(levels_for(255), 8);
  EXPECT_EQ(levels_for(256), 12);
  EXPECT_EQ(levels_for(4096), 16);
  EXPECT_EQ(levels_for(65535), 16);
  EXPECT_EQ(levels_for(65536), 0);
}

TEST(RankSumCounter, EveryRankCountUpTo1100GivesThePairwiseRuleBits) {
  constexpr int64_t kElements = 8;  // two groups of four lanes
  for (int ranks = 1; ranks <= 1100; ++ranks) {
    std::vector<float> rows(static_cast<size_t>(ranks) * kElements);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = input(ranks, static_cast<int64_t>(i));
    std::vector<float> expected(kElements), column(ranks);
    for (int64_t i = 0; i < kElements; ++i) {
      for (int r = 0; r < ranks; ++r) column[r] = rows[r * kElements + i];
      expected[i] = test::contract_pairwise(column.data(), ranks);
      const float one = counter<1>(rows.data() + i, ranks, kElements).v[0];
      ASSERT_EQ(test::float_bits(one), test::float_bits(expected[i])) << ranks << " ranks, element " << i << ", 1 lane";
    }
    // LocalComm's own implementation of the rule agrees (it works in blocks of 2048 elements per
    // rank, so only some rank counts: it is slow for many ranks and few elements).
    if (ranks <= 128 || ranks % 97 == 0) {
      std::vector<const float*> inputs(ranks);
      for (int r = 0; r < ranks; ++r) inputs[r] = rows.data() + r * kElements;
      std::vector<float> local(kElements);
      pairwise_sum_over_ranks(inputs.data(), ranks, 0, kElements, local.data());
      ASSERT_EQ(test::first_bit_difference(local.data(), expected.data(), kElements), -1) << ranks << " ranks";
    }
    for (int64_t q = 0; q < kElements; q += 4) {
      const Lanes<4> four = counter<4>(rows.data() + q, ranks, kElements);
      for (int k = 0; k < 4; ++k)
        ASSERT_EQ(test::float_bits(four.v[k]), test::float_bits(expected[q + k]))
            << ranks << " ranks, element " << q + k << ", 4 lanes";
    }
  }
}

TEST(RankSumCounter, LargeRankCountsGiveThePairwiseRuleBits) {
  for (int ranks : {4095, 4096, 4097, 8191, 32768, 40000, 65535}) {
    std::vector<float> column(ranks);
    for (int r = 0; r < ranks; ++r) column[r] = input(ranks, r);
    const float got = counter<1>(column.data(), ranks, 1).v[0];
    EXPECT_EQ(test::float_bits(got), test::float_bits(test::contract_pairwise(column.data(), ranks))) << ranks << " ranks";
  }
}

TEST(RankSumCounter, TheInputsTellThePairwiseOrderFromTheSequentialOne) {
  int differ = 0;
  for (int ranks = 3; ranks <= 40; ++ranks) {
    std::vector<float> column(ranks);
    float sequential = 0.0f;
    for (int r = 0; r < ranks; ++r) {
      column[r] = input(ranks, r);
      sequential = r == 0 ? column[r] : sequential + column[r];
    }
    differ += test::float_bits(counter<1>(column.data(), ranks, 1).v[0]) != test::float_bits(sequential);
  }
  EXPECT_GT(differ, 20);
}

}  // namespace
}  // namespace detnn
