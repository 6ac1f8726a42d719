// The CUDA raw device under the caching allocator, and the process-wide allocator of each
// CUDA device. The header names no CUDA type, so CPU-only code may include it; the
// definitions exist only in CUDA builds (gpu_raw_device_cuda.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/alloc/caching_allocator.h"
#include "runtime/alloc/raw_device.h"

namespace detnn::alloc {

// cudaMalloc/cudaFree, events on cudaStream_t (a StreamId is the cudaStream_t's value, 0 the
// legacy default stream), cudaMemGetInfo. Each call makes `device` current for its duration
// and restores the caller's device. Not thread-safe by itself: the allocator serializes calls.
class CudaRawDevice final : public RawDevice {
 public:
  explicit CudaRawDevice(int device);
  ~CudaRawDevice() override;  // destroys the pooled events
  CudaRawDevice(const CudaRawDevice&) = delete;
  CudaRawDevice& operator=(const CudaRawDevice&) = delete;

  // nullptr on cudaErrorMemoryAllocation (cleared, so it does not surface at a later check);
  // other CUDA errors throw Error(cuda).
  void* malloc(std::size_t bytes) override;
  void free(void* ptr) override;
  // Events come from a pool of disable-timing events: creating one per free would cost more
  // than the free itself.
  EventId record_event(StreamId stream) override;
  bool query_event(EventId event) override;
  void synchronize_event(EventId event) override;
  void release_event(EventId event) override;
  DeviceMemoryInfo memory_info() override;

  int device() const { return device_; }

 private:
  int device_;
  std::vector<EventId> idle_events_;
};

// The caching allocator of CUDA device `device`, created on first use and shared by the whole
// process; safe to call from any thread. Throws Error(invalid_argument) for a device index out
// of range. The allocators are never destroyed, on purpose: memory freed by static destructors
// at exit must still find its allocator, and cudaFree after the CUDA runtime has shut down fails.
CachingAllocator& cuda_allocator(int device);

}  // namespace detnn::alloc
