// The caching allocator (DESIGN §5, after PyTorch's CUDA caching allocator): device memory is
// taken from the raw device in segments and kept after free, so the steady state of a training
// loop does no cudaMalloc/cudaFree. Plain C++ over RawDevice; see docs/allocator.md.
//
// Policy in short:
//  - request sizes round up to 512 B; requests <= 1 MiB come from the small pool (2 MiB
//    segments split into blocks), larger ones from the large pool (segments of the size
//    rounded up to 2 MiB);
//  - a free block is reused only for a request on the stream it was allocated on, best fit
//    by size; a block bigger than needed is split (small pool: any remainder, large pool: a
//    remainder over 1 MiB); freed neighbours in one segment coalesce;
//  - a block used on other streams (record_stream) is reusable only after an event recorded
//    on each of them at free time has completed;
//  - when the device refuses: wait for those events, free every wholly free segment, retry
//    once, then throw Error(out_of_memory) that says requested, allocated, cached and
//    device-free bytes;
//  - private pools (for CUDA Graphs, docs/cuda-graphs.md): while a stream's allocations are
//    routed to a private pool, its blocks come from and go back to that pool only, and its
//    segments are never returned to the device, so the addresses a captured graph baked in stay
//    the graph's until the pool is released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/alloc/raw_device.h"

namespace detnn::alloc {

inline constexpr std::size_t kMinBlockSize = 512;               // every size is a multiple
inline constexpr std::size_t kSmallRequestMax = 1 << 20;        // <= 1 MiB: small pool
inline constexpr std::size_t kSmallSegmentSize = 2 << 20;       // small pool segments
inline constexpr std::size_t kLargeSegmentGranularity = 2 << 20;  // large segments round to it
inline constexpr std::size_t kLargeSplitRemainderMin = 1 << 20;  // large split needs > this

// 0 is the shared cache; private pools are numbered from 1.
using PrivatePoolId = std::uint64_t;

struct AllocatorStats {
  std::size_t allocated_bytes = 0;  // sizes of the blocks handed out and not yet freed
  std::size_t reserved_bytes = 0;   // sizes of the segments held from the raw device
  std::size_t peak_allocated_bytes = 0;
  std::size_t peak_reserved_bytes = 0;
  std::uint64_t device_malloc_count = 0;
  std::uint64_t device_free_count = 0;
  std::uint64_t oom_retries = 0;  // device refusals answered by freeing the cache and retrying
  std::uint64_t num_allocations = 0;
  std::uint64_t num_frees = 0;
  std::size_t private_reserved_bytes = 0;  // segments owned by live private pools
};

enum class CachingMode {
  from_environment,  // caching unless DETNN_NO_CACHING is set (to anything but "" or "0")
  caching,
  no_caching,        // every allocate/free goes to the raw device (for compute-sanitizer)
};

class CachingAllocator {
 public:
  // `device` must outlive the allocator.
  explicit CachingAllocator(RawDevice& device, CachingMode mode = CachingMode::from_environment);
  // Waits for pending events and returns every wholly free segment. Blocks still allocated
  // are left to the device (their memory may be in use by work already queued).
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A 512-aligned block of at least `bytes` for work on `stream`. allocate(0) returns nullptr
  // and counts nothing (free(nullptr) is a no-op). Throws Error(out_of_memory).
  void* allocate(std::size_t bytes, StreamId stream);
  // Throws Error(internal) for a pointer not handed out by allocate or already freed.
  void free(void* ptr);
  // Marks that work on `stream` uses the block, so after free it is not reused until that
  // work has completed. A no-op for the block's own stream.
  void record_stream(void* ptr, StreamId stream);

  // Waits for pending events, then returns every wholly free segment of the shared cache to
  // the device (private pools keep theirs).
  void empty_cache();

  // A new private pool (an id never handed out before).
  PrivatePoolId create_private_pool();
  // From now on, allocate(…, stream) takes blocks from `pool` and its own segments (new ones
  // from the device), and blocks of the pool freed later go back to it whoever frees them.
  // Throws Error(internal) when `stream` is already routed or `pool` was never created or is
  // released. Needs caching (a private pool is a cache).
  void begin_private_allocations(StreamId stream, PrivatePoolId pool);
  // Allocations on `stream` come from the shared cache again (a no-op if not routed).
  void end_private_allocations(StreamId stream);
  // The pool's user is gone and its work on the device done: its segments join the shared
  // cache (blocks still allocated keep their addresses and go there when freed).
  void release_private_pool(PrivatePoolId pool);

  AllocatorStats stats() const;
  // Sets the peaks to the current values.
  void reset_peak();
  bool caching_enabled() const { return caching_; }

  // The size a request is rounded to: a multiple of 512 B, at least 512 B.
  static std::size_t round_size(std::size_t bytes);

 private:
  struct Block;
  struct BlockOrder {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreePool = std::set<Block*, BlockOrder>;
  struct PendingEvent {
    EventId event;
    Block* block;
  };

  Block* find_free_block(FreePool& pool, std::size_t size, StreamId stream, PrivatePoolId owner);
  Block* allocate_segment(FreePool* pool, std::size_t segment_size, StreamId stream, PrivatePoolId owner);
  Block* allocate_cached(std::size_t size, std::size_t requested, StreamId stream, PrivatePoolId owner);
  static bool should_split(const Block& block, std::size_t size, bool small_pool);
  void split_block(Block* block, std::size_t size);
  std::vector<EventId> record_stream_use_events(const Block& block);
  void return_block_to_pool(Block* block);
  void finish_pending_event(const PendingEvent& pending);
  void poll_pending_events();
  void synchronize_pending_events();
  void release_free_segments();
  void release_segment(Block* block);
  void note_allocated(std::size_t size);
  void note_reserved(std::size_t size);
  [[noreturn]] void throw_out_of_memory(std::size_t requested, std::size_t device_request,
                                        StreamId stream);
  [[noreturn]] void throw_bad_free(void* ptr) const;

  RawDevice& device_;
  const bool caching_;
  mutable std::mutex mutex_;
  AllocatorStats stats_;
  FreePool small_free_;
  FreePool large_free_;
  std::unordered_map<std::uintptr_t, Block*> allocated_;  // blocks handed out, by address
  std::map<std::uintptr_t, Block*> segments_;             // first block of each segment
  std::vector<PendingEvent> pending_events_;
  std::unordered_map<StreamId, PrivatePoolId> private_routes_;  // streams routed to a private pool
  std::set<PrivatePoolId> live_private_pools_;
  PrivatePoolId next_private_pool_ = 1;
};

// "512 B", "1.50 KiB", "3.00 MiB", "2.00 GiB": the form the out-of-memory message uses.
std::string format_bytes(std::size_t bytes);

}  // namespace detnn::alloc
