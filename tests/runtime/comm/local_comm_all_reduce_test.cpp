// The deterministic all-reduce on LocalComm, in the style of nccl-tests: seeded per-rank inputs,
// the expected buffer computed independently (a recursive form of the pairwise rule), and the
// count of wrong elements on every rank, which must be 0 — for 1 element to 64 Mi elements and
// P = 1, 2, 3, 4, 8 ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "runtime/comm/local_comm.h"
#include "support/canonical_sum_reference.h"
#include "support/test_util.h"

namespace detnn {
namespace {

// A sanitizer build runs this 5-20x slower: the largest size shrinks there (and under
// DETNN_TEST_QUICK), the small and odd sizes stay.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Runs the all-reduce of `count` elements on `ranks` threads; returns the wrong elements summed
// over the ranks.
int64_t wrong_elements(int ranks, int64_t count, uint64_t seed) {
  LocalCommGroup group(ranks, 120.0);
  std::vector<std::vector<float>> buffers(ranks);
  std::vector<std::exception_ptr> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        std::vector<float>& b = buffers[r];
        b.resize(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) b[i] = test::rank_input(seed, r, i);
        group.comm(r).all_reduce_pairwise(b.data(), count);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return test::wrong_all_reduce_elements(buffers, seed, count);
}

TEST(LocalCommAllReduce, EveryElementHasThePairwiseRankOrderBits) {
  const std::vector<int64_t> sizes = {1, 2, 3, 7, 255, 256, 257, 1000, 2047, 2048, 2049, 4099, 65537, (1 << 20) + 3};
  for (int ranks : {1, 2, 3, 4, 8})
    for (int64_t n : sizes) {
      const auto start = std::chrono::steady_clock::now();
      const int64_t wrong = wrong_elements(ranks, n, 1000 + n);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      EXPECT_EQ(wrong, 0) << ranks << " ranks, " << n << " elements";
      if (n == sizes.back()) std::printf("[ INFO ] P=%d n=%lld wrong=%lld (%.0f ms)\n", ranks, (long long)n, (long long)wrong, ms);
    }
}

TEST(LocalCommAllReduce, SixtyFourMiElements) {
  const bool small = kSanitized || test::quick_mode();
  const int64_t n = small ? (int64_t{1} << 22) + 1 : int64_t{1} << 26;
  for (int ranks : {2, 3}) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t wrong = wrong_elements(ranks, n, 77);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(wrong, 0) << ranks << " ranks, " << n << " elements";
    std::printf("[ INFO ] P=%d n=%lld wrong=%lld (%.2f s with input generation and checking)\n", ranks, (long long)n,
                (long long)wrong, s);
  }
}

TEST(LocalCommAllReduce, TheOrderIsPairwiseNotSequential) {
  // The test's inputs can tell the orders apart: for 4 ranks, (v0 + v1) + (v2 + v3) differs from
  // ((v0 + v1) + v2) + v3 for a good share of the elements.
  int64_t differ = 0;
  for (int64_t i = 0; i < 10000; ++i) {
    float v[4];
    for (int r = 0; r < 4; ++r) v[r] = test::rank_input(5, r, i);
    differ += test::float_bits(test::contract_pairwise(v, 4)) != test::float_bits(((v[0] + v[1]) + v[2]) + v[3]);
  }
  EXPECT_GT(differ, 1000);
}

}  // namespace
}  // namespace detnn
