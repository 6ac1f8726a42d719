#include "runtime/alloc/host_cache.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "runtime/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define DETNN_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DETNN_ASAN_BUILD 1
#endif
#endif

namespace detnn::alloc {

namespace {

constexpr std::size_t kLargeGranule = std::size_t{64} << 10;  // large sizes round up to 64 KiB

std::size_t round_up(std::size_t bytes, std::size_t multiple) { return (bytes + multiple - 1) / multiple * multiple; }

bool enabled_by_default() {
#ifdef DETNN_ASAN_BUILD
  return false;
#else
  const char* value = std::getenv("DETNN_NO_CACHING");
  return value == nullptr || *value == '\0' || std::string_view(value) == "0";
#endif
}

struct HostCache {
  std::mutex mutex;
  std::unordered_map<void*, std::size_t> live;  // large blocks handed out, by address: their size
  std::multimap<std::size_t, void*> cached;     // kept large blocks by size
  HostCacheStats stats;
  bool enabled = enabled_by_default();

  // Under the lock: frees every cached block.
  void trim_locked() {
    for (const auto& [size, ptr] : cached) std::free(ptr);
    cached.clear();
    stats.cached_bytes = 0;
  }
  void hand_out_locked(void* ptr, std::size_t size) {
    live.emplace(ptr, size);
    stats.live_bytes += size;
    if (stats.live_bytes > stats.peak_live_bytes) stats.peak_live_bytes = stats.live_bytes;
  }
};

// Never destroyed: tensors held by static objects may be released during static destruction.
HostCache& cache() {
  static HostCache* const c = new HostCache;
  return *c;
}

void* allocate_or_throw(std::size_t rounded, std::size_t bytes) {
  void* p = std::aligned_alloc(kHostAlignment, rounded);
  DETNN_CHECK(p != nullptr, out_of_memory, "out of host memory: tried to allocate ", bytes, " bytes");
  return p;
}

}  // namespace

void* host_allocate(std::size_t bytes) {
  DETNN_CHECK(bytes > 0, internal, "host_allocate: 0 bytes");
  if (bytes < kHostCachedMin) return allocate_or_throw(round_up(bytes, kHostAlignment), bytes);
  const std::size_t size = round_up(bytes, kLargeGranule);
  HostCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    // The smallest kept block that fits, if it is at most 1/8 larger than asked.
    const auto it = c.cached.lower_bound(size);
    if (it != c.cached.end() && it->first <= size + size / 8) {
      const auto [block_size, ptr] = *it;
      c.cached.erase(it);
      c.stats.cached_bytes -= block_size;
      c.hand_out_locked(ptr, block_size);
      ++c.stats.reused;
      return ptr;
    }
  }
  void* p = std::aligned_alloc(kHostAlignment, size);
  if (p == nullptr) {  // what the cache keeps may be what is missing
    host_cache_trim();
    p = allocate_or_throw(size, bytes);
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  c.hand_out_locked(p, size);
  ++c.stats.fresh;
  return p;
}

void host_release(void* ptr) {
  if (ptr == nullptr) return;
  HostCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    const auto it = c.live.find(ptr);
    if (it != c.live.end()) {
      const std::size_t size = it->second;
      c.live.erase(it);
      c.stats.live_bytes -= size;
      if (c.enabled && c.stats.cached_bytes + size <= c.stats.peak_live_bytes) {
        c.cached.emplace(size, ptr);
        c.stats.cached_bytes += size;
        return;
      }
    }
  }
  std::free(ptr);
}

HostCacheStats host_cache_stats() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void host_cache_trim() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.trim_locked();
}

bool host_caching_enabled() {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.enabled;
}

void set_host_caching(bool on) {
  HostCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.enabled = on;
  if (!on) c.trim_locked();
}

}  // namespace detnn::alloc
