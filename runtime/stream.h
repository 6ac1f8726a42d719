// RAII wrappers for CUDA streams and events (DESIGN §5). CUDA builds only.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

namespace detnn {

class CudaStream {
 public:
  // A new non-blocking stream on `device` (the current device is restored afterwards).
  explicit CudaStream(int device);
  ~CudaStream();
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  CudaStream(CudaStream&& other) noexcept;
  CudaStream& operator=(CudaStream&& other) noexcept;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
  int device_ = 0;
};

class CudaEvent {
 public:
  // timing=false makes the cheaper event used only for ordering (cudaEventDisableTiming).
  explicit CudaEvent(bool timing = false);
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream);
  // Makes `stream` wait for this event without blocking the host.
  void wait_on(cudaStream_t stream) const;
  bool query() const;  // true when the recorded work is done
  void synchronize() const;
  // Milliseconds between two recorded timing events.
  static float elapsed_ms(const CudaEvent& start, const CudaEvent& end);

 private:
  cudaEvent_t event_ = nullptr;
};

// Sets the current device for the lifetime of the guard, then restores the previous one.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(int device);
  ~CudaDeviceGuard();
  CudaDeviceGuard(const CudaDeviceGuard&) = delete;
  CudaDeviceGuard& operator=(const CudaDeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

}  // namespace detnn
#endif
