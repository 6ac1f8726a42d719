#include "runtime/alloc/caching_allocator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <string_view>

#include "runtime/error.h"

namespace detnn::alloc {

// One piece of a segment. Blocks of a segment form a doubly linked list in address order;
// the allocator owns them (created on segment allocation or split, deleted on coalescing or
// segment release). Addresses are integers: device pointers are never dereferenced here.
struct CachingAllocator::Block {
  enum class State { allocated, awaiting_events, free };

  std::uintptr_t address = 0;
  std::size_t size = 0;
  StreamId stream = 0;        // the stream the segment was allocated for
  PrivatePoolId owner = 0;    // the private pool of the segment; 0: the shared cache
  FreePool* pool = nullptr;   // the pool its free pieces go to; nullptr when not caching
  Block* prev = nullptr;      // neighbours in the same segment
  Block* next = nullptr;
  State state = State::allocated;
  std::vector<StreamId> stream_uses;  // other streams recorded while allocated
  std::size_t events_outstanding = 0;  // while awaiting_events
};

// Streams and owners first, so a lower_bound for (stream, owner, size) finds the best fit on
// that stream in that pool; the address breaks ties so equal-sized blocks can coexist in the set.
bool CachingAllocator::BlockOrder::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream) return a->stream < b->stream;
  if (a->owner != b->owner) return a->owner < b->owner;
  if (a->size != b->size) return a->size < b->size;
  return a->address < b->address;
}

namespace {

// Beyond this the rounding arithmetic could overflow; no device holds that much anyway.
constexpr std::size_t kMaxRequest = std::numeric_limits<std::size_t>::max() / 4;

std::size_t round_up(std::size_t bytes, std::size_t multiple) {
  return (bytes + multiple - 1) / multiple * multiple;
}

bool caching_disabled_by_environment() {
  const char* value = std::getenv("DETNN_NO_CACHING");
  return value != nullptr && *value != '\0' && std::string_view(value) != "0";
}

bool resolve_caching(CachingMode mode) {
  switch (mode) {
    case CachingMode::caching: return true;
    case CachingMode::no_caching: return false;
    case CachingMode::from_environment: return !caching_disabled_by_environment();
  }
  return true;
}

std::string format_pointer(const void* ptr) { return detail::concat(ptr); }

std::string format_stream(StreamId stream) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(stream));
  return text;
}

}  // namespace

std::string format_bytes(std::size_t bytes) {
  if (bytes < 1024) return detail::concat(bytes, " B");
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char text[48];
  std::snprintf(text, sizeof text, "%.2f %s", value, units[unit]);
  return text;
}

std::size_t CachingAllocator::round_size(std::size_t bytes) {
  if (bytes < kMinBlockSize) return kMinBlockSize;
  return round_up(bytes, kMinBlockSize);
}

CachingAllocator::CachingAllocator(RawDevice& device, CachingMode mode)
    : device_(device), caching_(resolve_caching(mode)) {}

CachingAllocator::~CachingAllocator() {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    release_free_segments();
  } catch (...) {
    // A destructor must not throw; what could not be returned stays with the device.
  }
  for (auto& [address, first] : segments_) {
    for (Block* block = first; block != nullptr;) {
      Block* next = block->next;
      delete block;
      block = next;
    }
  }
}

void* CachingAllocator::allocate(std::size_t bytes, StreamId stream) {
  if (bytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > kMaxRequest) throw_out_of_memory(bytes, bytes, stream);
  const std::size_t size = round_size(bytes);
  const auto route = private_routes_.find(stream);
  const PrivatePoolId owner = route == private_routes_.end() ? 0 : route->second;
  Block* block = nullptr;
  if (caching_) {
    block = allocate_cached(size, bytes, stream, owner);
  } else {
    block = allocate_segment(nullptr, size, stream, 0);
    if (block == nullptr) throw_out_of_memory(bytes, size, stream);
  }
  block->state = Block::State::allocated;
  allocated_.emplace(block->address, block);
  ++stats_.num_allocations;
  note_allocated(block->size);
  return reinterpret_cast<void*>(block->address);
}

// Cache first, then the device, then (after the device refused) the blocks held back by
// events, then the device again once every wholly free segment has been returned.
CachingAllocator::Block* CachingAllocator::allocate_cached(std::size_t size, std::size_t requested,
                                                           StreamId stream, PrivatePoolId owner) {
  poll_pending_events();
  const bool small_pool = size <= kSmallRequestMax;
  FreePool& pool = small_pool ? small_free_ : large_free_;
  const std::size_t segment_size =
      small_pool ? kSmallSegmentSize : round_up(size, kLargeSegmentGranularity);

  Block* block = find_free_block(pool, size, stream, owner);
  if (block == nullptr) block = allocate_segment(&pool, segment_size, stream, owner);
  if (block == nullptr) {
    synchronize_pending_events();
    block = find_free_block(pool, size, stream, owner);
  }
  if (block == nullptr) {
    ++stats_.oom_retries;
    release_free_segments();
    block = allocate_segment(&pool, segment_size, stream, owner);
  }
  if (block == nullptr) throw_out_of_memory(requested, segment_size, stream);
  if (should_split(*block, size, small_pool)) split_block(block, size);
  return block;
}

CachingAllocator::Block* CachingAllocator::find_free_block(FreePool& pool, std::size_t size,
                                                           StreamId stream, PrivatePoolId owner) {
  Block key;
  key.stream = stream;
  key.owner = owner;
  key.size = size;
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream || (*it)->owner != owner) return nullptr;
  Block* block = *it;
  pool.erase(it);
  return block;
}

// Returns nullptr when the device refuses.
CachingAllocator::Block* CachingAllocator::allocate_segment(FreePool* pool,
                                                            std::size_t segment_size,
                                                            StreamId stream, PrivatePoolId owner) {
  void* ptr = device_.malloc(segment_size);
  if (ptr == nullptr) return nullptr;
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  if (address % kMinBlockSize != 0) {
    device_.free(ptr);
    DETNN_THROW(internal, "raw device returned ", ptr, ", which is not aligned to ",
                kMinBlockSize, " bytes");
  }
  auto* block = new Block;
  block->address = address;
  block->size = segment_size;
  block->stream = stream;
  block->owner = owner;
  block->pool = pool;
  segments_.emplace(address, block);
  ++stats_.device_malloc_count;
  note_reserved(segment_size);
  if (owner != 0) stats_.private_reserved_bytes += segment_size;
  return block;
}

// A small-pool remainder is always worth keeping (every size is a multiple of 512 B); a
// large-pool remainder of 1 MiB or less would mostly fragment the pool, so the block keeps it.
bool CachingAllocator::should_split(const Block& block, std::size_t size, bool small_pool) {
  const std::size_t remainder = block.size - size;
  return small_pool ? remainder >= kMinBlockSize : remainder > kLargeSplitRemainderMin;
}

void CachingAllocator::split_block(Block* block, std::size_t size) {
  auto* rest = new Block;
  rest->address = block->address + size;
  rest->size = block->size - size;
  rest->stream = block->stream;
  rest->owner = block->owner;
  rest->pool = block->pool;
  rest->state = Block::State::free;
  rest->prev = block;
  rest->next = block->next;
  if (block->next != nullptr) block->next->prev = rest;
  block->next = rest;
  block->size = size;
  rest->pool->insert(rest);
}

void CachingAllocator::free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocated_.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == allocated_.end()) throw_bad_free(ptr);
  Block* block = it->second;
  std::vector<EventId> events = record_stream_use_events(*block);
  allocated_.erase(it);
  ++stats_.num_frees;
  stats_.allocated_bytes -= block->size;
  block->stream_uses.clear();

  if (!caching_) {
    // The memory goes back to the device at once, so wait for the other streams' work first.
    for (EventId event : events) {
      device_.synchronize_event(event);
      device_.release_event(event);
    }
    segments_.erase(block->address);
    release_segment(block);
    return;
  }
  if (events.empty()) {
    return_block_to_pool(block);
    return;
  }
  block->state = Block::State::awaiting_events;
  block->events_outstanding = events.size();
  for (EventId event : events) pending_events_.push_back({event, block});
}

// One event per other stream that used the block; if recording fails midway, the events
// already recorded are released and the block stays allocated.
std::vector<EventId> CachingAllocator::record_stream_use_events(const Block& block) {
  std::vector<EventId> events;
  events.reserve(block.stream_uses.size());
  try {
    for (StreamId stream : block.stream_uses) events.push_back(device_.record_event(stream));
  } catch (...) {
    for (EventId event : events) device_.release_event(event);
    throw;
  }
  return events;
}

void CachingAllocator::record_stream(void* ptr, StreamId stream) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocated_.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == allocated_.end()) {
    DETNN_THROW(internal, "record_stream on ", format_pointer(ptr),
                ", which is not an allocated block of this allocator");
  }
  Block* block = it->second;
  if (stream == block->stream) return;
  auto& uses = block->stream_uses;
  if (std::find(uses.begin(), uses.end(), stream) == uses.end()) uses.push_back(stream);
}

// Coalesces with free neighbours of the same segment, then makes the block findable.
void CachingAllocator::return_block_to_pool(Block* block) {
  block->state = Block::State::free;
  FreePool& pool = *block->pool;
  if (Block* prev = block->prev; prev != nullptr && prev->state == Block::State::free) {
    pool.erase(prev);  // before its size changes: the set is ordered by size
    prev->size += block->size;
    prev->next = block->next;
    if (block->next != nullptr) block->next->prev = prev;
    delete block;
    block = prev;
  }
  if (Block* next = block->next; next != nullptr && next->state == Block::State::free) {
    pool.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (next->next != nullptr) next->next->prev = block;
    delete next;
  }
  pool.insert(block);
}

void CachingAllocator::finish_pending_event(const PendingEvent& pending) {
  device_.release_event(pending.event);
  if (--pending.block->events_outstanding == 0) return_block_to_pool(pending.block);
}

void CachingAllocator::poll_pending_events() {
  for (std::size_t i = 0; i < pending_events_.size();) {
    const PendingEvent pending = pending_events_[i];
    if (!device_.query_event(pending.event)) {
      ++i;
      continue;
    }
    pending_events_.erase(pending_events_.begin() + static_cast<std::ptrdiff_t>(i));
    finish_pending_event(pending);
  }
}

void CachingAllocator::synchronize_pending_events() {
  while (!pending_events_.empty()) {
    const PendingEvent pending = pending_events_.back();
    device_.synchronize_event(pending.event);
    pending_events_.pop_back();
    finish_pending_event(pending);
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

void CachingAllocator::release_free_segments() {
  synchronize_pending_events();
  for (FreePool* pool : {&small_free_, &large_free_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* block = *it;
      // A private pool's segments stay: a captured graph may still use their addresses.
      if (block->prev != nullptr || block->next != nullptr || block->owner != 0) {
        ++it;
        continue;
      }
      it = pool->erase(it);
      segments_.erase(block->address);
      release_segment(block);
    }
  }
}

// `block` spans its whole segment and is in no pool, map or list any more.
void CachingAllocator::release_segment(Block* block) {
  const std::size_t size = block->size;
  void* ptr = reinterpret_cast<void*>(block->address);
  delete block;
  device_.free(ptr);
  stats_.reserved_bytes -= size;
  ++stats_.device_free_count;
}

void CachingAllocator::note_allocated(std::size_t size) {
  stats_.allocated_bytes += size;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
}

void CachingAllocator::note_reserved(std::size_t size) {
  stats_.reserved_bytes += size;
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
}

PrivatePoolId CachingAllocator::create_private_pool() {
  std::lock_guard<std::mutex> lock(mutex_);
  const PrivatePoolId pool = next_private_pool_++;
  live_private_pools_.insert(pool);
  return pool;
}

void CachingAllocator::begin_private_allocations(StreamId stream, PrivatePoolId pool) {
  std::lock_guard<std::mutex> lock(mutex_);
  DETNN_CHECK(caching_, internal, "private pool ", pool, ": caching is off (DETNN_NO_CACHING), and a private pool is a cache");
  DETNN_CHECK(live_private_pools_.count(pool) == 1, internal, "private pool ", pool, " was never created or is released");
  const auto [it, inserted] = private_routes_.emplace(stream, pool);
  DETNN_CHECK(inserted, internal, "stream ", format_stream(stream), " already allocates from private pool ", it->second);
}

void CachingAllocator::end_private_allocations(StreamId stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  private_routes_.erase(stream);
}

void CachingAllocator::release_private_pool(PrivatePoolId pool) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_private_pools_.erase(pool) == 0) return;
  for (auto it = private_routes_.begin(); it != private_routes_.end();)
    it = it->second == pool ? private_routes_.erase(it) : std::next(it);
  for (auto& [address, first] : segments_) {
    if (first->owner != pool) continue;
    std::size_t segment_size = 0;
    for (Block* block = first; block != nullptr; block = block->next) {
      segment_size += block->size;
      // The free pools are ordered by owner: a free block leaves its set before the change.
      const bool findable = block->state == Block::State::free;
      if (findable) block->pool->erase(block);
      block->owner = 0;
      if (findable) block->pool->insert(block);
    }
    stats_.private_reserved_bytes -= segment_size;
  }
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

void CachingAllocator::throw_out_of_memory(std::size_t requested, std::size_t device_request,
                                           StreamId stream) {
  const DeviceMemoryInfo info = device_.memory_info();
  const std::size_t cached = stats_.reserved_bytes - stats_.allocated_bytes;
  std::string message = detail::concat(
      "out of memory: tried to allocate ", format_bytes(requested), " on stream ",
      format_stream(stream));
  if (device_request != requested) {
    message += detail::concat(" (a ", format_bytes(device_request), " device allocation)");
  }
  message += detail::concat("; ", format_bytes(stats_.allocated_bytes), " allocated, ",
                            format_bytes(cached), " reserved but free, ",
                            format_bytes(info.free_bytes), " free on the device (of ",
                            format_bytes(info.total_bytes), " total)");
  if (!caching_) {
    message += "; caching is off (DETNN_NO_CACHING)";
  } else if (cached >= requested) {
    message += "; the reserved-but-free memory is split across segments or held by other streams";
  }
  DETNN_THROW(out_of_memory, message);
}

// Tells a double free (the address lies in memory of this allocator that is not allocated)
// from a pointer into an allocated block and from one never handed out. A freed block may
// have coalesced with a neighbour, so the search is by range; it runs only on this error path.
void CachingAllocator::throw_bad_free(void* ptr) const {
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  auto segment = segments_.upper_bound(address);
  if (segment != segments_.begin()) {
    for (const Block* block = std::prev(segment)->second; block != nullptr; block = block->next) {
      if (address < block->address || address >= block->address + block->size) continue;
      if (block->state != Block::State::allocated) {
        DETNN_THROW(internal, "double free of ", format_pointer(ptr),
                    ": that memory is not allocated (already freed)");
      }
      DETNN_THROW(internal, "free of ", format_pointer(ptr), ", which points inside the block at ",
                  format_pointer(reinterpret_cast<void*>(block->address)),
                  " instead of at its start");
    }
  }
  DETNN_THROW(internal, "free of unknown pointer ", format_pointer(ptr),
              ": not handed out by this allocator, or already freed and returned to the device");
}

}  // namespace detnn::alloc
