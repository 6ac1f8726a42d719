#include "runtime/stream.h"

#include <utility>

#include "runtime/cuda_check.h"

namespace detnn {

CudaDeviceGuard::CudaDeviceGuard(int device) {
  DETNN_CUDA_CHECK(cudaGetDevice(&previous_));
  if (device != previous_) {
    DETNN_CUDA_CHECK(cudaSetDevice(device));
    switched_ = true;
  }
}
// Only when it switched: the guards sit in calls a CUDA Graph capture records, where no call
// beyond the work itself should reach the runtime.
CudaDeviceGuard::~CudaDeviceGuard() {
  if (switched_) cudaSetDevice(previous_);
}

CudaStream::CudaStream(int device) : device_(device) {
  CudaDeviceGuard guard(device);
  DETNN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}
CudaStream::~CudaStream() {
  if (stream_) cudaStreamDestroy(stream_);
}
CudaStream::CudaStream(CudaStream&& other) noexcept
    : stream_(std::exchange(other.stream_, nullptr)), device_(other.device_) {}
CudaStream& CudaStream::operator=(CudaStream&& other) noexcept {
  if (this != &other) {
    if (stream_) cudaStreamDestroy(stream_);
    stream_ = std::exchange(other.stream_, nullptr);
    device_ = other.device_;
  }
  return *this;
}
void CudaStream::synchronize() const { DETNN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

CudaEvent::CudaEvent(bool timing) {
  DETNN_CUDA_CHECK(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
}
CudaEvent::~CudaEvent() {
  if (event_) cudaEventDestroy(event_);
}
void CudaEvent::record(cudaStream_t stream) { DETNN_CUDA_CHECK(cudaEventRecord(event_, stream)); }
void CudaEvent::wait_on(cudaStream_t stream) const { DETNN_CUDA_CHECK(cudaStreamWaitEvent(stream, event_, 0)); }
bool CudaEvent::query() const {
  const cudaError_t e = cudaEventQuery(event_);
  if (e == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  DETNN_CUDA_CHECK(e);
  return true;
}
void CudaEvent::synchronize() const { DETNN_CUDA_CHECK(cudaEventSynchronize(event_)); }
float CudaEvent::elapsed_ms(const CudaEvent& start, const CudaEvent& end) {
  float ms = 0;
  DETNN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

}  // namespace detnn
