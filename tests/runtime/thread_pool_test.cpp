#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace detnn {
namespace {

TEST(ThreadPool, RangesAreDisjointContiguousAndCoverEverything) {
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 5, 7, 100, 1001}) {
      std::vector<int> hits(n, 0);
      std::mutex m;
      std::vector<std::pair<int64_t, int64_t>> ranges;
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[i];
        std::lock_guard<std::mutex> lock(m);
        ranges.push_back({b, e});
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "threads " << threads << " n " << n;
      EXPECT_LE(static_cast<int>(ranges.size()), threads);
    }
  }
}

TEST(ThreadPool, GrainLimitsTheNumberOfRanges) {
  ThreadPool pool(7);
  std::atomic<int> calls{0};
  pool.parallel_for(100, [&](int64_t b, int64_t e) { ++calls; EXPECT_GE(e - b, 50); }, 50);
  EXPECT_EQ(calls.load(), 2);
}

TEST(ThreadPool, ExceptionsReachTheCallerAndThePoolStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(90, [](int64_t b, int64_t) {
                 if (b > 0) throw std::runtime_error("boom");
               }),
               std::runtime_error);
  std::atomic<int64_t> total{0};
  pool.parallel_for(90, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 90);
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pool.parallel_for(10, [&](int64_t bb, int64_t ee) { total += ee - bb; });
  });
  EXPECT_EQ(total.load(), 40);
}

TEST(ThreadPool, GlobalPoolSizeCanBeSet) {
  const int saved = num_threads();
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  EXPECT_THROW(set_num_threads(0), Error);
  set_num_threads(saved);
}

}  // namespace
}  // namespace detnn
