// The raw device under the caching allocator: device malloc/free, events on streams and the
// device's free memory. The allocator's policy is plain C++ over this interface, so it is
// unit-tested on the CPU against FakeRawDevice; CudaRawDevice is the real one (DESIGN §5).
#pragma once

#include <cstddef>
#include <cstdint>

namespace detnn::alloc {

// Streams and events are opaque to the allocator: a cudaStream_t / cudaEvent_t for CUDA,
// any number for the fake device. Stream 0 is the default stream.
using StreamId = std::uintptr_t;
using EventId = std::uintptr_t;

struct DeviceMemoryInfo {
  std::size_t free_bytes = 0;   // what the device could still hand out
  std::size_t total_bytes = 0;  // the device's capacity (the fake device's budget)
};

// Calls come from the allocator under its own lock: implementations need not be thread-safe
// unless they are also used directly from several threads.
class RawDevice {
 public:
  virtual ~RawDevice() = default;

  // `bytes` > 0. Returns nullptr when the device is out of memory, so the allocator can
  // free its cache and retry; throws detnn::Error for any other failure.
  virtual void* malloc(std::size_t bytes) = 0;
  virtual void free(void* ptr) = 0;

  // Records an event on `stream` after the work queued so far; the allocator releases every
  // event it records exactly once.
  virtual EventId record_event(StreamId stream) = 0;
  // True once the work before the event has completed; never blocks.
  virtual bool query_event(EventId event) = 0;
  // Blocks until the event has completed.
  virtual void synchronize_event(EventId event) = 0;
  virtual void release_event(EventId event) = 0;

  virtual DeviceMemoryInfo memory_info() = 0;
};

}  // namespace detnn::alloc
