// StepProfiler's device side: CUDA events recorded on the session's stream, kept and reused
// (creating events per step would add host work the unprofiled step does not have).
#include <cuda_runtime.h>

#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/step_profiler.h"
#include "runtime/stream.h"

namespace detnn {

namespace {

class CudaEvents final : public StepProfiler::Events {
 public:
  CudaEvents(int device, uintptr_t stream) : device_(device), stream_(reinterpret_cast<cudaStream_t>(stream)) {}
  ~CudaEvents() override {
    CudaDeviceGuard guard(device_);
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }

  int record() override {
    CudaDeviceGuard guard(device_);
    if (next_ == events_.size()) {
      cudaEvent_t e = nullptr;
      DETNN_CUDA_CHECK(cudaEventCreate(&e));
      events_.push_back(e);
    }
    DETNN_CUDA_CHECK(cudaEventRecord(events_[next_], stream_));
    return static_cast<int>(next_++);
  }
  void wait_for_last() override {
    CudaDeviceGuard guard(device_);
    if (next_ > 0) DETNN_CUDA_CHECK(cudaEventSynchronize(events_[next_ - 1]));
  }
  double elapsed_ms(int from, int to) override {
    float ms = 0.0f;
    DETNN_CUDA_CHECK(
        cudaEventElapsedTime(&ms, events_.at(static_cast<size_t>(from)), events_.at(static_cast<size_t>(to))));
    return ms;
  }
  void reset() override { next_ = 0; }

 private:
  int device_;
  cudaStream_t stream_;
  std::vector<cudaEvent_t> events_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<StepProfiler::Events> StepProfiler::cuda_events(Device device, uintptr_t stream) {
  return std::make_unique<CudaEvents>(device.index, stream);
}

}  // namespace detnn
