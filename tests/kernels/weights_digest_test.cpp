// The weights digest (kernels/weights_digest.h): the documented sum of mixed (index, bits) terms,
// the same for every thread count, and changed by any one bit of any element.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/weights_digest.h"
#include "runtime/thread_pool.h"
#include "support/test_util.h"

namespace detnn::kernels {
namespace {

// The definition written out: splitmix64's finalizer, as published, over (i << 32) | bits.
uint64_t definition(const std::vector<float>& x) {
  uint64_t sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    uint64_t z = (static_cast<uint64_t>(i) << 32) | bits;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    sum += z ^ (z >> 31);
  }
  return sum;
}

TEST(WeightsDigest, IsTheDocumentedSumForEveryThreadCount) {
  ThreadCountGuard guard;
  for (int64_t n : {0, 1, 7, 65536, 65537, 300000}) {
    const auto x = test::random_floats(n, uint32_t(n + 1));
    for (int threads : {1, 2, 7}) {
      set_num_threads(threads);
      EXPECT_EQ(weights_digest_cpu(x.data(), n), definition(x)) << "n=" << n << " threads=" << threads;
    }
  }
}

TEST(WeightsDigest, AnyOneBitOfAnyElementChangesIt) {
  auto x = test::random_floats(1000, 5);
  const uint64_t d = weights_digest_cpu(x.data(), 1000);
  for (int64_t i : {0, 1, 499, 999})
    for (int bit : {0, 22, 31}) {
      uint32_t bits;
      std::memcpy(&bits, &x[i], sizeof bits);
      bits ^= 1u << bit;
      auto y = x;
      std::memcpy(&y[i], &bits, sizeof bits);
      EXPECT_NE(weights_digest_cpu(y.data(), 1000), d) << "element " << i << " bit " << bit;
    }
  // Two elements swapped: the index is part of each term.
  auto swapped = x;
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(weights_digest_cpu(swapped.data(), 1000), d);
}

TEST(WeightsDigest, BadSizesAreNamedErrors) {
  test::expect_error([] { weights_digest_cpu(nullptr, 5); }, ErrorCode::invalid_argument, "weights_digest: x is null");
  test::expect_error([] { weights_digest_cpu(nullptr, -1); }, ErrorCode::invalid_argument,
                     "weights_digest: n must be in [0, 2^32), got -1");
}

}  // namespace
}  // namespace detnn::kernels
