// The host block cache (runtime/alloc/host_cache.h): large blocks come back to the next request
// of about their size, small ones never do, the cache never holds more than was once live, and
// with caching off (DETNN_NO_CACHING, ASan builds) nothing is kept.
#include "runtime/alloc/host_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "runtime/tensor.h"

namespace detnn::alloc {
namespace {

// Runs a test with caching on and an empty cache, restoring the process's setting after.
class HostCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    was_on_ = host_caching_enabled();
    set_host_caching(false);  // empties the cache
    set_host_caching(true);
  }
  void TearDown() override { set_host_caching(was_on_); }
  bool was_on_ = true;
};

constexpr std::size_t kMiB = std::size_t{1} << 20;

TEST_F(HostCacheTest, ALargeBlockIsReusedForAboutItsSize) {
  void* a = host_allocate(3 * kMiB);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % kHostAlignment, 0u);
  std::memset(a, 1, 3 * kMiB);  // the whole block is usable
  const HostCacheStats before = host_cache_stats();
  host_release(a);
  EXPECT_EQ(host_cache_stats().cached_bytes, before.cached_bytes + 3 * kMiB);
  void* b = host_allocate(3 * kMiB - 100);  // the same 64 KiB-rounded size
  EXPECT_EQ(b, a);
  EXPECT_EQ(host_cache_stats().reused, before.reused + 1);
  host_release(b);
  void* c = host_allocate(2 * kMiB);  // the 3 MiB block is more than 1/8 larger: not taken
  EXPECT_NE(c, a);
  host_release(c);
}

TEST_F(HostCacheTest, SmallBlocksAreNotKept) {
  const HostCacheStats before = host_cache_stats();
  void* a = host_allocate(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % kHostAlignment, 0u);
  host_release(a);
  EXPECT_EQ(host_cache_stats().cached_bytes, before.cached_bytes);
  EXPECT_EQ(host_cache_stats().fresh, before.fresh);  // not even counted: the C library's
}

TEST_F(HostCacheTest, TheCacheNeverHoldsMoreThanWasOnceLive) {
  void* blocks[4];
  for (void*& b : blocks) b = host_allocate(2 * kMiB);
  for (void* b : blocks) host_release(b);
  const HostCacheStats s = host_cache_stats();
  EXPECT_LE(s.cached_bytes, s.peak_live_bytes);
  EXPECT_GE(s.cached_bytes, 8 * kMiB);  // the four were live together
  host_cache_trim();
  EXPECT_EQ(host_cache_stats().cached_bytes, 0u);
}

TEST_F(HostCacheTest, OffKeepsNothing) {
  set_host_caching(false);
  void* a = host_allocate(2 * kMiB);
  host_release(a);
  EXPECT_EQ(host_cache_stats().cached_bytes, 0u);
}

TEST_F(HostCacheTest, CpuTensorsGoThroughIt) {
  const HostCacheStats before = host_cache_stats();
  const void* first = nullptr;
  {
    const Tensor t = Tensor::zeros(Shape{int64_t{1} << 20}, DType::f32, Device::cpu());  // 4 MiB
    first = t.raw_data();
  }
  const Tensor again = Tensor::empty(Shape{int64_t{1} << 20}, DType::f32, Device::cpu());
  EXPECT_EQ(again.raw_data(), first);  // the next step's activation reuses the last one's block
  EXPECT_GE(host_cache_stats().reused, before.reused + 1);
}

}  // namespace
}  // namespace detnn::alloc
