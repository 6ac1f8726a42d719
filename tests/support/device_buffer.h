// A typed device allocation for gpu tests, with a guard region of sentinel bytes on each side
// so tests can check that kernels wrote nothing outside their outputs.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "runtime/cuda_check.h"

namespace detnn::test {

template <typename T>
class DeviceBuffer {
 public:
  static constexpr size_t kGuard = 256;  // elements of sentinel on each side
  explicit DeviceBuffer(size_t n) : n_(n) {
    DETNN_CUDA_CHECK(cudaMalloc(&base_, sizeof(T) * (n + 2 * kGuard)));
    DETNN_CUDA_CHECK(cudaMemset(base_, 0x7b, sizeof(T) * (n + 2 * kGuard)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(base_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return base_ + kGuard; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    DETNN_CUDA_CHECK(cudaMemcpy(get(), host.data(), sizeof(T) * n_, cudaMemcpyHostToDevice));
  }
  std::vector<T> download() {
    DETNN_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> host(n_);
    DETNN_CUDA_CHECK(cudaMemcpy(host.data(), get(), sizeof(T) * n_, cudaMemcpyDeviceToHost));
    return host;
  }
  // True when both guard regions still hold the sentinel byte.
  bool guards_intact() {
    DETNN_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<uint8_t> bytes(sizeof(T) * (n_ + 2 * kGuard));
    DETNN_CUDA_CHECK(cudaMemcpy(bytes.data(), base_, bytes.size(), cudaMemcpyDeviceToHost));
    const size_t g = sizeof(T) * kGuard;
    for (size_t i = 0; i < g; ++i)
      if (bytes[i] != 0x7b || bytes[bytes.size() - 1 - i] != 0x7b) return false;
    return true;
  }

 private:
  T* base_ = nullptr;
  size_t n_;
};

}  // namespace detnn::test
#endif
