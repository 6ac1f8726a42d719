#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "runtime/alloc/gpu_raw_device.h"
#include "runtime/cuda_check.h"

namespace detnn::alloc {

namespace {

// Makes `device` current for one call and restores the caller's device: the allocator may be
// called from a thread working on another device.
class CurrentDeviceGuard {
 public:
  explicit CurrentDeviceGuard(int device) {
    DETNN_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) {
      DETNN_CUDA_CHECK(cudaSetDevice(device));
      switched_ = true;
    }
  }
  ~CurrentDeviceGuard() {
    if (switched_) cudaSetDevice(previous_);  // a destructor cannot throw; nothing to undo
  }
  CurrentDeviceGuard(const CurrentDeviceGuard&) = delete;
  CurrentDeviceGuard& operator=(const CurrentDeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

// cudaMalloc is not a stream operation, so stream capture (other than relaxed) refuses it as
// "potentially unsafe". A segment allocated while a CUDA Graph is captured is safe here: the
// caching allocator gives it to the graph's private pool, whose memory outlives the graph
// (docs/cuda-graphs.md). So the thread's capture mode is relaxed for the cudaMalloc only.
class RelaxedCaptureModeGuard {
 public:
  RelaxedCaptureModeGuard() { DETNN_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode_)); }
  ~RelaxedCaptureModeGuard() { cudaThreadExchangeStreamCaptureMode(&mode_); }  // restores the caller's
  RelaxedCaptureModeGuard(const RelaxedCaptureModeGuard&) = delete;
  RelaxedCaptureModeGuard& operator=(const RelaxedCaptureModeGuard&) = delete;

 private:
  cudaStreamCaptureMode mode_ = cudaStreamCaptureModeRelaxed;
};

cudaEvent_t as_cuda_event(EventId event) { return reinterpret_cast<cudaEvent_t>(event); }
cudaStream_t as_cuda_stream(StreamId stream) { return reinterpret_cast<cudaStream_t>(stream); }

}  // namespace

CudaRawDevice::CudaRawDevice(int device) : device_(device) {}

CudaRawDevice::~CudaRawDevice() {
  for (EventId event : idle_events_) cudaEventDestroy(as_cuda_event(event));
}

void* CudaRawDevice::malloc(std::size_t bytes) {
  CurrentDeviceGuard guard(device_);
  void* ptr = nullptr;
  RelaxedCaptureModeGuard relaxed;
  const cudaError_t cuda_malloc_status = cudaMalloc(&ptr, bytes);
  if (cuda_malloc_status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // the allocator handles it; later checks must not see it
    return nullptr;
  }
  DETNN_CUDA_CHECK(cuda_malloc_status);
  return ptr;
}

void CudaRawDevice::free(void* ptr) {
  CurrentDeviceGuard guard(device_);
  DETNN_CUDA_CHECK(cudaFree(ptr));
}

EventId CudaRawDevice::record_event(StreamId stream) {
  // Stream 0 means the current device's default stream, so the device must be current.
  CurrentDeviceGuard guard(device_);
  cudaEvent_t event = nullptr;
  if (idle_events_.empty()) {
    DETNN_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  } else {
    event = as_cuda_event(idle_events_.back());
    idle_events_.pop_back();
  }
  const cudaError_t record_status = cudaEventRecord(event, as_cuda_stream(stream));
  if (record_status != cudaSuccess) {
    idle_events_.push_back(reinterpret_cast<EventId>(event));
    DETNN_CUDA_CHECK(record_status);
  }
  return reinterpret_cast<EventId>(event);
}

bool CudaRawDevice::query_event(EventId event) {
  const cudaError_t query_status = cudaEventQuery(as_cuda_event(event));
  if (query_status == cudaErrorNotReady) {
    (void)cudaGetLastError();  // "not ready" is an answer, not an error
    return false;
  }
  DETNN_CUDA_CHECK(query_status);
  return true;
}

void CudaRawDevice::synchronize_event(EventId event) {
  DETNN_CUDA_CHECK(cudaEventSynchronize(as_cuda_event(event)));
}

void CudaRawDevice::release_event(EventId event) { idle_events_.push_back(event); }

DeviceMemoryInfo CudaRawDevice::memory_info() {
  CurrentDeviceGuard guard(device_);
  DeviceMemoryInfo info;
  DETNN_CUDA_CHECK(cudaMemGetInfo(&info.free_bytes, &info.total_bytes));
  return info;
}

namespace {

struct DeviceAllocator {
  explicit DeviceAllocator(int device) : raw(device), allocator(raw) {}
  CudaRawDevice raw;
  CachingAllocator allocator;
};

// One slot per device; each allocator is created by the first caller for its device.
struct AllocatorRegistry {
  explicit AllocatorRegistry(int device_count)
      : device_count(device_count),
        created(std::make_unique<std::once_flag[]>(static_cast<std::size_t>(device_count))),
        allocators(static_cast<std::size_t>(device_count), nullptr) {}
  int device_count;
  std::unique_ptr<std::once_flag[]> created;
  std::vector<DeviceAllocator*> allocators;  // leaked on purpose, see cuda_allocator
};

int visible_device_count() {
  int count = 0;
  const cudaError_t count_status = cudaGetDeviceCount(&count);
  if (count_status == cudaErrorNoDevice || count_status == cudaErrorInsufficientDriver) {
    (void)cudaGetLastError();
    return 0;
  }
  DETNN_CUDA_CHECK(count_status);
  return count;
}

AllocatorRegistry& allocator_registry() {
  static AllocatorRegistry* registry = new AllocatorRegistry(visible_device_count());
  return *registry;
}

}  // namespace

CachingAllocator& cuda_allocator(int device) {
  AllocatorRegistry& registry = allocator_registry();
  DETNN_CHECK(device >= 0 && device < registry.device_count, invalid_argument,
              "cuda_allocator: device ", device, " out of range (", registry.device_count,
              " CUDA devices visible)");
  const auto slot = static_cast<std::size_t>(device);
  std::call_once(registry.created[slot],
                 [&] { registry.allocators[slot] = new DeviceAllocator(device); });
  return registry.allocators[slot]->allocator;
}

}  // namespace detnn::alloc
