#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/canonical_sum.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"
#include "session/batch_split.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

using test::first_bit_difference;
using test::random_floats;

const int64_t kLengths[] = {0, 1, 2, 7, 33, 255, 256, 257, 511, 512, 513, 1000, 65536, 100003, 1000003};

TEST(CanonicalSum, MatchesTheContractDefinitionBitForBit) {
  for (int64_t n : kLengths) {
    auto x = random_floats(n, 1000 + n);
    const float got = canonical_sum_cpu(x.data(), n);
    const float want = test::contract_sum(x.data(), n);
    EXPECT_EQ(test::float_bits(got), test::float_bits(want)) << "n=" << n;
  }
}

TEST(CanonicalSum, CloseToFloat64Reference) {
  // Error bound of a sequential leaf plus a pairwise tree: (L + log2(leaves)) * eps * sum|x|.
  for (int64_t n : kLengths) {
    auto x = random_floats(n, 2000 + n);
    double exact = 0, abs_sum = 0;
    for (float v : x) exact += v, abs_sum += std::fabs(v);
    const float got = canonical_sum_cpu(x.data(), n);
    const double bound = (256 + 64) * std::ldexp(1.0, -24) * abs_sum;
    EXPECT_LE(std::fabs(got - exact), bound) << "n=" << n;
  }
}

TEST(CanonicalSum, SameBitsForEveryThreadCount) {
  ThreadCountGuard guard;
  for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{255}, int64_t{256}, int64_t{257}, int64_t{1000003}}) {
    auto x = random_floats(n, 3000 + n, -1e3f, 1e3f);
    set_num_threads(1);
    const float one = canonical_sum_cpu(x.data(), n);
    for (int threads : {2, 3, 7}) {
      set_num_threads(threads);
      EXPECT_EQ(test::float_bits(canonical_sum_cpu(x.data(), n)), test::float_bits(one))
          << "n=" << n << " threads=" << threads;
    }
  }
}

TEST(CanonicalSum, RowsAndChannelsFollowTheirDocumentedOrder) {
  ThreadCountGuard guard;
  const int64_t N = 5, C = 3, HW = 77;  // channel length 385: two leaves
  auto x = random_floats(N * C * HW, 7);
  std::vector<float> per_channel(C);
  for (int threads : {1, 2, 7}) {
    set_num_threads(threads);
    canonical_sum_cpu(x.data(), per_channel.data(), SumLayout::channels(N, C, HW));
    for (int64_t c = 0; c < C; ++c) {
      std::vector<float> gathered;  // (n, hw) order
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < HW; ++i) gathered.push_back(x[(n * C + c) * HW + i]);
      EXPECT_EQ(test::float_bits(per_channel[c]),
                test::float_bits(test::contract_sum(gathered.data(), gathered.size())))
          << "channel " << c << " threads " << threads;
    }
  }
  const int64_t R = 9, K = 700;
  auto m = random_floats(R * K, 8);
  std::vector<float> per_row(R);
  canonical_sum_cpu(m.data(), per_row.data(), SumLayout::rows(R, K));
  for (int64_t r = 0; r < R; ++r)
    EXPECT_EQ(test::float_bits(per_row[r]), test::float_bits(test::contract_sum(&m[r * K], K)));
}

TEST(CanonicalSum, RejectsBadLayouts) {
  float out;
  SumLayout bad = SumLayout::vector(4);
  bad.inner = 0;
  EXPECT_THROW(canonical_sum_cpu(nullptr, &out, bad), Error);
  bad = SumLayout::vector(4);
  bad.length = -1;
  try {
    canonical_sum_cpu(nullptr, &out, bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("length (-1)"), std::string::npos) << e.what();
  }
}

TEST(PairwiseStack, EqualsInPlacePairwiseForEveryCount) {
  for (int n = 0; n <= 300; ++n) {
    auto v = random_floats(n, 4000 + n, -1e4f, 1e4f);
    PairwiseStack s;
    for (float f : v) s.push(f);
    auto copy = v;
    EXPECT_EQ(test::float_bits(s.result()), test::float_bits(pairwise_combine_in_place(copy.data(), n)))
        << "n=" << n;
    EXPECT_EQ(test::float_bits(s.result()), test::float_bits(test::contract_pairwise(v.data(), n)));
  }
}

// The one-output form of contract 2's dot product (the direct CUDA convolutions use it) against
// the tests' definition, at the leaf boundaries and at weight-gradient lengths.
TEST(DotLeafChain, EqualsTheContractDotAtEveryLeafBoundary) {
  for (int64_t k : {1, 1023, 1024, 1025, 2048, 4097, 25088, 32768}) {
    const auto a = random_floats(k, uint32_t(6000 + k)), b = random_floats(k, uint32_t(7000 + k));
    DotLeafChain chain;
    test::ContractDot dot;
    for (int64_t i = 0; i < k; ++i) {
      chain.add(a[i], b[i]);
      dot.add(i, a[i], b[i]);
    }
    EXPECT_EQ(test::float_bits(chain.result()), test::float_bits(dot.result(k))) << "k=" << k;
  }
}

TEST(ChunkCombine, EqualsPairwisePerColumnForEveryThreadCount) {
  ThreadCountGuard guard;
  for (int64_t chunks : {1, 2, 3, 5, 8, 13, 64}) {
    const int64_t size = 1031;
    auto p = random_floats(chunks * size, 5000 + chunks, -10.f, 10.f);
    std::vector<float> want(size);
    for (int64_t j = 0; j < size; ++j) {
      std::vector<float> col;
      for (int64_t c = 0; c < chunks; ++c) col.push_back(p[c * size + j]);
      want[j] = test::contract_pairwise(col.data(), chunks);
    }
    for (int threads : {1, 2, 7}) {
      set_num_threads(threads);
      std::vector<float> got(size);
      combine_chunk_partials_cpu(p.data(), chunks, size, got.data());
      EXPECT_EQ(first_bit_difference(got.data(), want.data(), size), -1)
          << "chunks=" << chunks << " threads=" << threads;
    }
  }
}

// DESIGN §3: per-sample gradients summed per chunk, chunk partials combined pairwise; P ranks
// each combining their k chunks, then the P rank partials combined pairwise in rank order,
// give the one-rank bits whenever k is a power of two.
TEST(ChunkCombine, SimulatedRanksGiveOneRankBits) {
  const int64_t chunk = 32, size = 97;
  for (int64_t batch : {256, 384}) {  // 8 and 12 chunks
    const int64_t chunks = batch / chunk;
    auto grads = random_floats(batch * size, 6000 + batch);  // [sample, element]
    std::vector<float> chunk_partials(chunks * size);
    for (int64_t c = 0; c < chunks; ++c)
      canonical_sum_cpu(&grads[c * chunk * size], &chunk_partials[c * size],
                        SumLayout{size, chunk, 1, size, 1});
    std::vector<float> one_rank(size);
    combine_chunk_partials_cpu(chunk_partials.data(), chunks, size, one_rank.data());
    for (int64_t ranks : {1, 2, 3, 4, 8}) {
      if (chunks % ranks != 0 || ((chunks / ranks) & (chunks / ranks - 1)) != 0) continue;
      const ChunkSplit split = plan_chunk_split(batch, chunk, ranks);
      std::vector<float> rank_partials(ranks * size);
      for (int64_t r = 0; r < ranks; ++r)
        combine_chunk_partials_cpu(&chunk_partials[r * split.chunks_per_rank * size],
                                   split.chunks_per_rank, size, &rank_partials[r * size]);
      std::vector<float> all_reduced(size);
      combine_chunk_partials_cpu(rank_partials.data(), ranks, size, all_reduced.data());
      EXPECT_EQ(first_bit_difference(all_reduced.data(), one_rank.data(), size), -1)
          << "B=" << batch << " P=" << ranks;
    }
  }
}

TEST(ChunkSplit, IncompatibleSplitsAreClearErrors) {
  EXPECT_EQ(plan_chunk_split(256, 32, 4).chunks_per_rank, 2);
  EXPECT_EQ(plan_chunk_split(96, 32, 1).chunks_per_rank, 3);  // one rank takes any count
  auto message = [](int64_t b, int64_t c, int64_t p) {
    try {
      plan_chunk_split(b, c, p);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(100, 32, 1).find("B=100"), std::string::npos);
  EXPECT_NE(message(96, 32, 2).find("P=2"), std::string::npos);         // 3 chunks on 2 ranks
  const std::string k3 = message(192, 32, 2);                           // k = 3
  EXPECT_NE(k3.find("k=B/(C*P)=3"), std::string::npos) << k3;
  EXPECT_NE(k3.find("power of two"), std::string::npos) << k3;
  EXPECT_NE(message(0, 32, 1).find("positive"), std::string::npos);
}

}  // namespace
}  // namespace detnn::kernels
