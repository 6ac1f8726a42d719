// The caching allocator's policy (DESIGN §5, docs/allocator.md) checked against the fake raw
// device: every expectation below follows from the policy, not from observed output.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/alloc/caching_allocator.h"
#include "runtime/alloc/fake_raw_device.h"
#include "runtime/error.h"
#include "support/test_util.h"

namespace detnn::alloc {
namespace {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;
constexpr StreamId kStream = 1;
constexpr StreamId kOtherStream = 2;

std::uintptr_t address(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr); }
void* offset(void* ptr, std::size_t bytes) {
  return reinterpret_cast<void*>(address(ptr) + bytes);
}
std::string pointer_text(const void* ptr) {
  std::ostringstream os;
  os << ptr;
  return os.str();
}

// Runs `call`, expects Error with `code`, returns its message.
template <typename Call>
std::string expect_error(ErrorCode code, Call call) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no detnn::Error thrown";
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(CachingAllocator, RoundsSizesToMultiplesOf512) {
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(511), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(1024), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(3 * MiB), 3 * MiB);

  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* p1 = allocator.allocate(1, kStream);
  EXPECT_EQ(allocator.stats().allocated_bytes, 512u);
  void* p513 = allocator.allocate(513, kStream);
  EXPECT_EQ(allocator.stats().allocated_bytes, 512u + 1024u);
  void* p1024 = allocator.allocate(1024, kStream);
  EXPECT_EQ(allocator.stats().allocated_bytes, 512u + 1024u + 1024u);
  // Consecutive blocks of one small segment: each takes exactly its rounded size.
  EXPECT_EQ(address(p513), address(p1) + 512);
  EXPECT_EQ(address(p1024), address(p513) + 1024);
  for (void* p : {p1, p513, p1024}) EXPECT_EQ(address(p) % 512, 0u);
  allocator.free(p1);
  allocator.free(p513);
  allocator.free(p1024);
}

TEST(CachingAllocator, ZeroBytesGiveNullptrAndCountNothing) {
  FakeRawDevice device(4 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  EXPECT_EQ(allocator.allocate(0, kStream), nullptr);
  allocator.free(nullptr);
  allocator.record_stream(nullptr, kOtherStream);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.num_allocations, 0u);
  EXPECT_EQ(stats.num_frees, 0u);
  EXPECT_EQ(device.malloc_count(), 0u);
}

TEST(CachingAllocator, SmallAndLargePoolsAreSeparate) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);

  // A large request does not take the free tail of a small segment, though it would fit.
  void* small = allocator.allocate(4 * KiB, kStream);
  EXPECT_EQ(device.malloc_count(), 1u);
  void* large = allocator.allocate(1 * MiB + 512, kStream);
  EXPECT_EQ(device.malloc_count(), 2u);
  const bool inside_small_segment =
      address(large) >= address(small) && address(large) < address(small) + 2 * MiB;
  EXPECT_FALSE(inside_small_segment);
  EXPECT_EQ(allocator.stats().reserved_bytes, 2 * MiB + 2 * MiB);

  // A small request does not take a free large block: it opens a new small segment only
  // when its own segment is full, and never lands in the large one.
  allocator.free(large);
  void* small2 = allocator.allocate(1 * MiB, kStream);
  EXPECT_EQ(address(small2), address(small) + 4 * KiB);  // the small segment's tail
  void* small3 = allocator.allocate(1 * MiB, kStream);   // the tail is now too short
  EXPECT_EQ(device.malloc_count(), 3u);
  EXPECT_NE(small3, large);
  allocator.free(small);
  allocator.free(small2);
  allocator.free(small3);
}

TEST(CachingAllocator, BestFitPicksTheSmallestFreeBlockThatFits) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  // Three free blocks of 16, 4 and 8 KiB, kept apart by allocated guards so none coalesce.
  void* a16 = allocator.allocate(16 * KiB, kStream);
  void* guard1 = allocator.allocate(512, kStream);
  void* b4 = allocator.allocate(4 * KiB, kStream);
  void* guard2 = allocator.allocate(512, kStream);
  void* c8 = allocator.allocate(8 * KiB, kStream);
  void* guard3 = allocator.allocate(512, kStream);
  allocator.free(a16);
  allocator.free(b4);
  allocator.free(c8);

  void* six = allocator.allocate(6 * KiB, kStream);
  EXPECT_EQ(six, c8);
  void* four = allocator.allocate(4 * KiB, kStream);
  EXPECT_EQ(four, b4);
  void* ten = allocator.allocate(10 * KiB, kStream);
  EXPECT_EQ(ten, a16);
  void* two = allocator.allocate(2 * KiB, kStream);  // the 2 KiB split off the 8 KiB block
  EXPECT_EQ(address(two), address(c8) + 6 * KiB);
  EXPECT_EQ(device.malloc_count(), 1u);

  for (void* p : {guard1, guard2, guard3, six, four, ten, two}) allocator.free(p);
}

TEST(CachingAllocator, BestFitInTheLargePool) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* l2 = allocator.allocate(2 * MiB, kStream);
  void* l6 = allocator.allocate(6 * MiB, kStream);
  void* l4 = allocator.allocate(4 * MiB, kStream);
  allocator.free(l2);
  allocator.free(l6);
  allocator.free(l4);
  void* three = allocator.allocate(3 * MiB, kStream);
  EXPECT_EQ(three, l4);
  void* five = allocator.allocate(5 * MiB, kStream);
  EXPECT_EQ(five, l6);
  EXPECT_EQ(device.malloc_count(), 3u);
  allocator.free(three);
  allocator.free(five);
}

TEST(CachingAllocator, LargePoolSplitsOnlyRemaindersOverOneMiB) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* six = allocator.allocate(6 * MiB, kStream);
  allocator.free(six);
  void* three = allocator.allocate(3 * MiB, kStream);  // remainder 3 MiB: split
  EXPECT_EQ(three, six);
  EXPECT_EQ(allocator.stats().allocated_bytes, 3 * MiB);
  void* two = allocator.allocate(2 * MiB, kStream);  // remainder exactly 1 MiB: kept
  EXPECT_EQ(address(two), address(six) + 3 * MiB);
  EXPECT_EQ(allocator.stats().allocated_bytes, 6 * MiB);  // the block carries its 1 MiB tail
  EXPECT_EQ(device.malloc_count(), 1u);
  allocator.free(three);
  allocator.free(two);
}

TEST(CachingAllocator, LargeSegmentsRoundUpToTwoMiB) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* p = allocator.allocate(12 * MiB + 1, kStream);  // 14 MiB segment, 1.5 MiB tail split
  EXPECT_EQ(allocator.stats().reserved_bytes, 14 * MiB);
  EXPECT_EQ(allocator.stats().allocated_bytes, 12 * MiB + 512);
  EXPECT_EQ(device.bytes_in_use(), 14 * MiB);
  allocator.free(p);
}

TEST(CachingAllocator, SplitBlocksCoalesceOnFree) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* a = allocator.allocate(64 * KiB, kStream);
  void* b = allocator.allocate(64 * KiB, kStream);
  void* c = allocator.allocate(64 * KiB, kStream);
  EXPECT_EQ(address(b), address(a) + 64 * KiB);
  EXPECT_EQ(address(c), address(b) + 64 * KiB);

  allocator.free(b);
  allocator.free(a);  // merges with its free successor b
  // Without coalescing no free block of exactly 128 KiB would exist and best fit would pick
  // the segment's tail after c.
  void* ab = allocator.allocate(128 * KiB, kStream);
  EXPECT_EQ(ab, a);
  EXPECT_EQ(device.malloc_count(), 1u);

  allocator.free(c);   // merges with the tail
  allocator.free(ab);  // merges with c + tail: the whole segment is one free block again
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().device_free_count, 1u);
  EXPECT_EQ(allocator.stats().reserved_bytes, 0u);
  EXPECT_EQ(device.bytes_in_use(), 0u);
}

TEST(CachingAllocator, DoesNotCoalesceAcrossSegments) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* first = allocator.allocate(2 * MiB, kStream);
  void* second = allocator.allocate(2 * MiB, kStream);
  ASSERT_EQ(address(second), address(first) + 2 * MiB);  // adjacent in the fake address space
  allocator.free(first);
  allocator.free(second);
  void* four = allocator.allocate(4 * MiB, kStream);
  EXPECT_NE(four, first);
  EXPECT_EQ(device.malloc_count(), 3u);
  allocator.free(four);
}

TEST(CachingAllocator, FreeBlocksAreNotReusedOnAnotherStream) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* p = allocator.allocate(2 * MiB, kStream);
  allocator.free(p);
  void* q = allocator.allocate(2 * MiB, kOtherStream);
  EXPECT_NE(q, p);
  EXPECT_EQ(device.malloc_count(), 2u);
  void* r = allocator.allocate(2 * MiB, kStream);
  EXPECT_EQ(r, p);
  EXPECT_EQ(device.malloc_count(), 2u);
  // The other direction too (the pool is ordered by stream first, so both sides matter).
  allocator.free(q);
  void* u = allocator.allocate(2 * MiB, kStream);
  EXPECT_NE(u, q);
  EXPECT_EQ(device.malloc_count(), 3u);

  // The free tail of a small segment belongs to its stream too.
  void* s = allocator.allocate(512, kOtherStream);
  void* t = allocator.allocate(512, kStream);
  EXPECT_EQ(device.malloc_count(), 5u);
  EXPECT_NE(address(t), address(s) + 512);
  for (void* x : {r, u, s, t}) allocator.free(x);
}

// A captured CUDA Graph keeps the addresses of the blocks allocated during capture: the private
// pool hands them only to allocations routed to it, and never returns its segments to the device.
TEST(CachingAllocator, PrivatePoolBlocksAreNotSharedWithTheCache) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* shared = allocator.allocate(4 * KiB, kStream);
  allocator.free(shared);  // a free block of the shared cache on kStream

  const PrivatePoolId pool = allocator.create_private_pool();
  EXPECT_NE(pool, 0u);
  EXPECT_NE(allocator.create_private_pool(), pool);
  allocator.begin_private_allocations(kStream, pool);
  void* a = allocator.allocate(4 * KiB, kStream);
  EXPECT_NE(a, shared);  // the shared cache's free block is not the pool's
  EXPECT_EQ(device.malloc_count(), 2u);
  void* b = allocator.allocate(8 * KiB, kOtherStream);  // another stream is not routed
  EXPECT_EQ(device.malloc_count(), 3u);
  EXPECT_EQ(allocator.stats().private_reserved_bytes, 2 * MiB);  // a's segment only
  allocator.free(a);
  void* c = allocator.allocate(4 * KiB, kStream);  // reuse inside the pool, as during capture
  EXPECT_EQ(c, a);
  allocator.free(c);
  allocator.end_private_allocations(kStream);

  // After capture: the pool's free blocks are not handed to ordinary allocations...
  void* d = allocator.allocate(4 * KiB, kStream);
  EXPECT_EQ(d, shared);
  void* e = allocator.allocate(4 * KiB, kStream);
  EXPECT_NE(e, a);
  // ... nor returned to the device by empty_cache (nor by an out-of-memory retry).
  allocator.free(d);
  allocator.free(e);
  allocator.free(b);
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().reserved_bytes, 2 * MiB);
  EXPECT_EQ(allocator.stats().private_reserved_bytes, 2 * MiB);
  EXPECT_EQ(device.bytes_in_use(), 2 * MiB);

  // Routed again (the next capture), the pool gives back its own blocks.
  allocator.begin_private_allocations(kStream, pool);
  EXPECT_EQ(allocator.allocate(4 * KiB, kStream), a);
  allocator.end_private_allocations(kStream);
  allocator.free(a);

  // Released, its segment is ordinary cache: reusable by anyone on its stream, and returnable.
  allocator.release_private_pool(pool);
  EXPECT_EQ(allocator.stats().private_reserved_bytes, 0u);
  void* f = allocator.allocate(4 * KiB, kStream);
  EXPECT_EQ(f, a);
  allocator.free(f);
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().reserved_bytes, 0u);
  EXPECT_EQ(device.bytes_in_use(), 0u);
}

TEST(CachingAllocator, PrivatePoolBlockFreedAfterReleaseGoesToTheSharedCache) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  const PrivatePoolId pool = allocator.create_private_pool();
  allocator.begin_private_allocations(kStream, pool);
  void* held = allocator.allocate(3 * MiB, kStream);  // large pool; held past the release
  void* small = allocator.allocate(1 * KiB, kStream);
  allocator.free(small);
  allocator.release_private_pool(pool);  // also ends the routing
  void* g = allocator.allocate(1 * KiB, kStream);
  EXPECT_EQ(g, small);  // the released pool's free block serves the shared cache
  allocator.free(g);
  allocator.free(held);
  void* h = allocator.allocate(3 * MiB, kStream);
  EXPECT_EQ(h, held);
  allocator.free(h);
  allocator.empty_cache();
  EXPECT_EQ(device.bytes_in_use(), 0u);
}

TEST(CachingAllocator, PrivatePoolMisuseIsAnInternalError) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  const PrivatePoolId pool = allocator.create_private_pool();
  EXPECT_TRUE(contains(expect_error(ErrorCode::internal, [&] { allocator.begin_private_allocations(kStream, 99); }),
                       "never created"));
  allocator.begin_private_allocations(kStream, pool);
  EXPECT_TRUE(contains(expect_error(ErrorCode::internal, [&] { allocator.begin_private_allocations(kStream, pool); }),
                       "already allocates from private pool"));
  allocator.end_private_allocations(kStream);
  allocator.release_private_pool(pool);
  allocator.release_private_pool(pool);  // twice: nothing left to do
  EXPECT_TRUE(contains(expect_error(ErrorCode::internal, [&] { allocator.begin_private_allocations(kStream, pool); }),
                       "is released"));

  CachingAllocator uncached(device, CachingMode::no_caching);
  const PrivatePoolId p2 = uncached.create_private_pool();
  EXPECT_TRUE(contains(expect_error(ErrorCode::internal, [&] { uncached.begin_private_allocations(kStream, p2); }),
                       "DETNN_NO_CACHING"));
}

TEST(CachingAllocator, RecordedStreamDelaysReuseUntilItsEventCompletes) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* p = allocator.allocate(2 * MiB, kStream);
  allocator.record_stream(p, kOtherStream);
  allocator.record_stream(p, kOtherStream);  // recorded once
  allocator.record_stream(p, kStream);       // its own stream: nothing to wait for
  EXPECT_EQ(device.events_recorded(), 0u);   // events are recorded at free time
  allocator.free(p);
  EXPECT_EQ(device.live_event_count(), 1u);
  EXPECT_EQ(device.live_events_on(kOtherStream), 1u);
  EXPECT_EQ(allocator.stats().allocated_bytes, 0u);  // freed for the caller, just not reusable

  void* q = allocator.allocate(2 * MiB, kStream);
  EXPECT_NE(q, p);
  EXPECT_EQ(device.malloc_count(), 2u);

  device.complete_all_events();
  void* r = allocator.allocate(2 * MiB, kStream);  // the poll returns p to the pool
  EXPECT_EQ(r, p);
  EXPECT_EQ(device.malloc_count(), 2u);
  EXPECT_EQ(device.live_event_count(), 0u);  // the allocator released its event
  allocator.free(q);
  allocator.free(r);
}

TEST(CachingAllocator, OutOfMemoryWaitsForPendingEventsBeforeGivingUp) {
  FakeRawDevice device(4 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* p = allocator.allocate(4 * MiB, kStream);
  allocator.record_stream(p, kOtherStream);
  allocator.free(p);
  // No free block, the device is full: the allocator waits for p's event and reuses p.
  void* q = allocator.allocate(4 * MiB, kStream);
  EXPECT_EQ(q, p);
  EXPECT_EQ(device.synchronize_count(), 1u);
  EXPECT_EQ(device.live_event_count(), 0u);
  EXPECT_EQ(allocator.stats().oom_retries, 0u);
  EXPECT_EQ(allocator.stats().device_free_count, 0u);
  allocator.free(q);
}

TEST(CachingAllocator, OutOfMemoryFreesTheCacheAndRetries) {
  FakeRawDevice device(4 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* big = allocator.allocate(3 * MiB, kStream);  // a 4 MiB segment: the whole budget
  allocator.free(big);
  void* small = allocator.allocate(4 * KiB, kStream);  // needs a 2 MiB small segment
  EXPECT_NE(small, nullptr);
  const AllocatorStats stats = allocator.stats();
  EXPECT_EQ(stats.oom_retries, 1u);
  EXPECT_EQ(stats.device_free_count, 1u);
  EXPECT_EQ(stats.device_malloc_count, 2u);
  EXPECT_EQ(stats.reserved_bytes, 2 * MiB);
  EXPECT_EQ(device.refused_count(), 1u);
  allocator.free(small);
}

TEST(CachingAllocator, OutOfMemoryErrorSaysRequestedAllocatedCachedAndDeviceFree) {
  FakeRawDevice device(2 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* x = allocator.allocate(1 * MiB, kStream);
  void* y = allocator.allocate(512 * KiB, kStream);  // same 2 MiB segment: 512 KiB stay free
  const std::string message = expect_error(
      ErrorCode::out_of_memory, [&] { allocator.allocate(3 * MiB, kStream); });
  EXPECT_TRUE(contains(message, "tried to allocate 3.00 MiB")) << message;
  EXPECT_TRUE(contains(message, "1.50 MiB allocated")) << message;
  EXPECT_TRUE(contains(message, "512.00 KiB reserved but free")) << message;
  EXPECT_TRUE(contains(message, "0 B free on the device")) << message;
  EXPECT_TRUE(contains(message, "2.00 MiB total")) << message;
  EXPECT_EQ(allocator.stats().oom_retries, 1u);
  EXPECT_EQ(allocator.stats().allocated_bytes, 1 * MiB + 512 * KiB);

  allocator.free(x);  // still usable after the error
  void* again = allocator.allocate(1 * MiB, kStream);
  EXPECT_EQ(again, x);
  allocator.free(again);
  allocator.free(y);
}

TEST(CachingAllocator, FormatsByteCountsForMessages) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.00 KiB");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(3 * MiB), "3.00 MiB");
  EXPECT_EQ(format_bytes(std::size_t{2} << 30), "2.00 GiB");
}

TEST(CachingAllocator, StatsAreExactAfterAScriptedSequence) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  const std::size_t b_size = 2 * MiB + 512 * KiB;

  void* a = allocator.allocate(1000, kStream);    // 1024 B of a new 2 MiB small segment
  void* b = allocator.allocate(b_size, kStream);  // new 4 MiB large segment; 1.5 MiB tail split
  void* c = allocator.allocate(1 * MiB + 1, kStream);  // the 1.5 MiB tail, too little left to split
  EXPECT_EQ(address(c), address(b) + b_size);
  AllocatorStats s = allocator.stats();
  EXPECT_EQ(s.allocated_bytes, 1024 + b_size + 1536 * KiB);
  EXPECT_EQ(s.reserved_bytes, 6 * MiB);
  EXPECT_EQ(s.peak_allocated_bytes, 1024 + b_size + 1536 * KiB);
  EXPECT_EQ(s.peak_reserved_bytes, 6 * MiB);
  EXPECT_EQ(s.device_malloc_count, 2u);
  EXPECT_EQ(s.num_allocations, 3u);

  allocator.free(b);
  allocator.reset_peak();
  s = allocator.stats();
  EXPECT_EQ(s.allocated_bytes, 1024 + 1536 * KiB);
  EXPECT_EQ(s.peak_allocated_bytes, 1024 + 1536 * KiB);
  EXPECT_EQ(s.peak_reserved_bytes, 6 * MiB);

  void* d = allocator.allocate(512, kStream);  // from the small segment's tail
  EXPECT_EQ(address(d), address(a) + 1024);
  allocator.free(a);
  allocator.free(c);  // b + c: the large segment is whole again
  allocator.free(d);  // a + d + tail: the small segment is whole again
  allocator.empty_cache();

  s = allocator.stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(s.peak_allocated_bytes, 1536 + 1536 * KiB);
  EXPECT_EQ(s.peak_reserved_bytes, 6 * MiB);
  EXPECT_EQ(s.device_malloc_count, 2u);
  EXPECT_EQ(s.device_free_count, 2u);
  EXPECT_EQ(s.oom_retries, 0u);
  EXPECT_EQ(s.num_allocations, 4u);
  EXPECT_EQ(s.num_frees, 4u);
  EXPECT_EQ(device.bytes_in_use(), 0u);
  EXPECT_EQ(device.free_count(), 2u);
}

TEST(CachingAllocator, EmptyCacheKeepsSegmentsInUse) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* small = allocator.allocate(4 * KiB, kStream);
  void* large = allocator.allocate(4 * MiB, kStream);
  allocator.free(large);
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().device_free_count, 1u);
  EXPECT_EQ(allocator.stats().reserved_bytes, 2 * MiB);
  EXPECT_EQ(device.bytes_in_use(), 2 * MiB);
  allocator.free(small);
}

TEST(CachingAllocator, DestructorReturnsCachedSegmentsAndEvents) {
  FakeRawDevice device(64 * MiB);
  {
    CachingAllocator allocator(device, CachingMode::caching);
    void* p = allocator.allocate(4 * KiB, kStream);
    void* q = allocator.allocate(8 * MiB, kStream);
    allocator.record_stream(q, kOtherStream);
    allocator.free(p);
    allocator.free(q);
  }
  EXPECT_EQ(device.bytes_in_use(), 0u);
  EXPECT_EQ(device.live_event_count(), 0u);
}

TEST(CachingAllocator, NoCachingPassesEveryCallToTheDevice) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::no_caching);
  EXPECT_FALSE(allocator.caching_enabled());
  void* p = allocator.allocate(1000, kStream);
  void* q = allocator.allocate(3 * MiB, kStream);
  EXPECT_EQ(device.malloc_count(), 2u);
  EXPECT_EQ(device.bytes_in_use(), 1024 + 3 * MiB);  // rounded to 512 B, no segments
  allocator.free(p);
  EXPECT_EQ(device.free_count(), 1u);
  void* r = allocator.allocate(1000, kStream);  // nothing is cached to reuse
  EXPECT_EQ(device.malloc_count(), 3u);
  allocator.record_stream(r, kOtherStream);
  allocator.free(r);  // waits for the other stream before the memory goes back
  EXPECT_EQ(device.synchronize_count(), 1u);
  EXPECT_EQ(device.live_event_count(), 0u);
  allocator.free(q);

  const AllocatorStats s = allocator.stats();
  EXPECT_EQ(device.free_count(), 3u);
  EXPECT_EQ(s.device_malloc_count, 3u);
  EXPECT_EQ(s.device_free_count, 3u);
  EXPECT_EQ(s.num_frees, 3u);
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(s.peak_reserved_bytes, 1024 + 3 * MiB);  // p and r were never live together
  EXPECT_EQ(device.bytes_in_use(), 0u);

  device.set_budget(1 * MiB);
  const std::string message = expect_error(
      ErrorCode::out_of_memory, [&] { allocator.allocate(2 * MiB, kStream); });
  EXPECT_TRUE(contains(message, "caching is off")) << message;
  EXPECT_EQ(allocator.stats().oom_retries, 0u);
}


TEST(CachingAllocator, ReadsDetnnNoCachingFromTheEnvironment) {
  FakeRawDevice device(4 * MiB);
  {
    test::ScopedEnvironment env("DETNN_NO_CACHING", "1");
    EXPECT_FALSE(CachingAllocator(device).caching_enabled());
    EXPECT_TRUE(CachingAllocator(device, CachingMode::caching).caching_enabled());
  }
  {
    test::ScopedEnvironment env("DETNN_NO_CACHING", "0");
    EXPECT_TRUE(CachingAllocator(device).caching_enabled());
  }
  {
    test::ScopedEnvironment env("DETNN_NO_CACHING", nullptr);
    EXPECT_TRUE(CachingAllocator(device).caching_enabled());
    EXPECT_FALSE(CachingAllocator(device, CachingMode::no_caching).caching_enabled());
  }
}

TEST(CachingAllocator, DoubleFreeAndUnknownPointersAreInternalErrors) {
  FakeRawDevice device(64 * MiB);
  CachingAllocator allocator(device, CachingMode::caching);
  void* a = allocator.allocate(4 * KiB, kStream);
  void* b = allocator.allocate(4 * KiB, kStream);
  allocator.free(a);
  std::string message = expect_error(ErrorCode::internal, [&] { allocator.free(a); });
  EXPECT_TRUE(contains(message, "double free")) << message;
  EXPECT_TRUE(contains(message, pointer_text(a))) << message;

  allocator.free(b);  // coalesces into a's block: still a double free, not an unknown pointer
  message = expect_error(ErrorCode::internal, [&] { allocator.free(b); });
  EXPECT_TRUE(contains(message, "double free")) << message;

  void* c = allocator.allocate(4 * KiB, kStream);
  message = expect_error(ErrorCode::internal, [&] { allocator.free(offset(c, 512)); });
  EXPECT_TRUE(contains(message, "inside")) << message;

  void* stranger = reinterpret_cast<void*>(std::uintptr_t{0x1234});
  message = expect_error(ErrorCode::internal, [&] { allocator.free(stranger); });
  EXPECT_TRUE(contains(message, "unknown pointer")) << message;
  EXPECT_TRUE(contains(message, pointer_text(stranger))) << message;
  expect_error(ErrorCode::internal, [&] { allocator.record_stream(stranger, kOtherStream); });
  EXPECT_EQ(allocator.stats().num_frees, 2u);  // failed frees change nothing
  allocator.free(c);

  CachingAllocator uncached(device, CachingMode::no_caching);
  void* u = uncached.allocate(512, kStream);
  uncached.free(u);
  message = expect_error(ErrorCode::internal, [&] { uncached.free(u); });
  EXPECT_TRUE(contains(message, pointer_text(u))) << message;
}

TEST(CachingAllocator, ThreadsAllocatingAndFreeingKeepStatsConsistent) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  FakeRawDevice device(std::size_t{1} << 30);
  CachingAllocator allocator(device, CachingMode::caching);

  // Every live allocation of every thread, to catch two threads given overlapping blocks.
  std::mutex live_mutex;
  std::map<std::uintptr_t, std::size_t> live;
  std::atomic<int> overlaps{0};
  std::atomic<std::uint64_t> total_allocations{0};

  std::latch start(kThreads);  // all threads run together, not one after another
  auto worker = [&](int index) {
    start.arrive_and_wait();
    std::mt19937 gen(static_cast<std::uint32_t>(index + 1));
    const StreamId stream = static_cast<StreamId>(index + 1);
    std::vector<std::pair<void*, std::size_t>> mine;
    auto release_one = [&](std::size_t i) {
      {
        std::lock_guard<std::mutex> lock(live_mutex);
        live.erase(address(mine[i].first));
      }
      if (gen() % 8 == 0) allocator.record_stream(mine[i].first, 100 + stream);
      allocator.free(mine[i].first);
      mine[i] = mine.back();
      mine.pop_back();
    };
    for (int it = 0; it < kIterations; ++it) {
      if (mine.size() < 8 && gen() % 3 != 0) {
        const std::size_t bytes =
            gen() % 10 < 7 ? 1 + gen() % MiB : MiB + 1 + gen() % (5 * MiB);
        void* p = allocator.allocate(bytes, stream);
        total_allocations.fetch_add(1);
        {
          std::lock_guard<std::mutex> lock(live_mutex);
          auto next = live.lower_bound(address(p));
          if (next != live.end() && next->first < address(p) + bytes) overlaps.fetch_add(1);
          if (next != live.begin() && std::prev(next)->first + std::prev(next)->second > address(p))
            overlaps.fetch_add(1);
          live.emplace(address(p), bytes);
        }
        mine.emplace_back(p, bytes);
      } else if (!mine.empty()) {
        release_one(gen() % mine.size());
      }
      if (it % 64 == 0) device.complete_all_events();
    }
    while (!mine.empty()) release_one(mine.size() - 1);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();

  EXPECT_EQ(overlaps.load(), 0);
  AllocatorStats s = allocator.stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.num_allocations, total_allocations.load());
  EXPECT_EQ(s.num_frees, total_allocations.load());
  EXPECT_EQ(s.reserved_bytes, device.bytes_in_use());
  EXPECT_LE(s.peak_allocated_bytes, s.peak_reserved_bytes);

  allocator.empty_cache();
  s = allocator.stats();
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(s.device_malloc_count, s.device_free_count);
  EXPECT_EQ(device.bytes_in_use(), 0u);
  EXPECT_EQ(device.live_allocation_count(), 0u);
  EXPECT_EQ(device.live_event_count(), 0u);
}

TEST(CachingAllocator, FakeDeviceHonoursBudgetAlignmentAndEvents) {
  FakeRawDevice device(4 * KiB);
  void* a = device.malloc(1000);
  void* b = device.malloc(1000);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(address(a) % 512, 0u);
  EXPECT_EQ(address(b) % 512, 0u);
  EXPECT_GE(address(b), address(a) + 1000);
  EXPECT_EQ(device.malloc(3 * KiB), nullptr);  // 2000 + 3072 > 4096
  EXPECT_EQ(device.refused_count(), 1u);
  EXPECT_EQ(device.memory_info().free_bytes, 4 * KiB - 2000);
  EXPECT_EQ(device.memory_info().total_bytes, 4 * KiB);
  device.free(a);
  expect_error(ErrorCode::internal, [&] { device.free(a); });
  device.free(b);

  const EventId e1 = device.record_event(kStream);
  const EventId e2 = device.record_event(kOtherStream);
  EXPECT_FALSE(device.query_event(e1));
  device.complete_event(e1);
  EXPECT_TRUE(device.query_event(e1));
  EXPECT_FALSE(device.query_event(e2));
  device.synchronize_event(e2);
  EXPECT_TRUE(device.query_event(e2));
  device.release_event(e1);
  device.release_event(e2);
  EXPECT_EQ(device.live_event_count(), 0u);
  expect_error(ErrorCode::internal, [&] { device.query_event(e1); });
}

}  // namespace
}  // namespace detnn::alloc
