// Host (CPU) tensor memory with a cache of large blocks. A CPU training step allocates the same
// activation and gradient sizes every step; taken fresh from the C library, a block of a few
// MiB comes from mmap and goes back with munmap, and the next step pays a page fault per 4 KiB
// touched (measured on mnist_cnn: about 6,500 faults per step, 10% of the step). Blocks of
// 1 MiB and more are therefore kept when their tensor dies and handed to the next request of
// about their size (at most 1/8 larger); smaller ones go to the C library, which reuses them
// well. The cache holds at most as many bytes as were ever live at once (so it never holds more
// than the program once needed), and nothing while caching is off: DETNN_NO_CACHING set (as for
// CUDA, docs/allocator.md), or an AddressSanitizer build (a cache would hide use-after-free).
#pragma once

#include <cstddef>
#include <cstdint>

namespace detnn::alloc {

inline constexpr std::size_t kHostAlignment = 64;                    // a cache line: vector loads never split
inline constexpr std::size_t kHostCachedMin = std::size_t{1} << 20;  // smaller blocks: the C library's

// `bytes` > 0: a 64-byte-aligned block of at least `bytes`; throws Error(out_of_memory).
void* host_allocate(std::size_t bytes);
// A block from host_allocate (nullptr: nothing happens).
void host_release(void* ptr);

struct HostCacheStats {
  std::size_t live_bytes = 0;  // in blocks handed out and not yet released
  std::size_t peak_live_bytes = 0;
  std::size_t cached_bytes = 0;  // kept for reuse
  int64_t reused = 0;            // requests served from the cache
  int64_t fresh = 0;             // large requests that went to the C library
};
HostCacheStats host_cache_stats();
// Returns every cached block to the C library.
void host_cache_trim();
// Whether released large blocks are kept (see above); tests may switch it (trimming when off).
bool host_caching_enabled();
void set_host_caching(bool on);

}  // namespace detnn::alloc
