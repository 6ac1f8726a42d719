// Helpers shared by the benchmarks: Philox-filled inputs, and CUDA timing with events
// (manual time) plus device buffers. For the memory-bound ops: Bytes processed = bytes read + bytes written, as BM_DeviceCopyCuda counts them
// (bench/canonical_sum_bench.cpp), so the GB/s compare directly with that ceiling.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "runtime/philox.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/cuda_check.h"
#endif

namespace detnn::bench {

inline std::vector<float> philox_inputs(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> x(n);
  const auto key = philox_stream_key(seed, RandomPurpose::test);
  for (int64_t i = 0; i < n; i += 4) {  // one Philox draw per four values
    const PhiloxBlock d = philox_draw(key, static_cast<uint64_t>(i) / 4, 0, 0);
    for (int64_t j = i; j < i + 4 && j < n; ++j) x[j] = lo + (hi - lo) * uint_to_unit_float(d.w[j - i]);
  }
  return x;
}

#ifdef DETNN_HAVE_CUDA
inline bool have_gpu(benchmark::State& state) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    state.SkipWithError("no CUDA device");
    return false;
  }
  return true;
}

// Times device work with events; the benchmark reports the manual time.
template <typename Body>
void time_cuda(benchmark::State& state, Body&& body) {
  cudaEvent_t start, stop;
  DETNN_CUDA_CHECK(cudaEventCreate(&start));
  DETNN_CUDA_CHECK(cudaEventCreate(&stop));
  body();  // warm-up
  DETNN_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto _ : state) {
    DETNN_CUDA_CHECK(cudaEventRecord(start));
    body();
    DETNN_CUDA_CHECK(cudaEventRecord(stop));
    DETNN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    DETNN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

// A device copy of host data, freed at scope end.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& host) : n_(host.size()) {
    DETNN_CUDA_CHECK(cudaMalloc(&p_, sizeof(T) * (n_ ? n_ : 1)));
    if (n_) DETNN_CUDA_CHECK(cudaMemcpy(p_, host.data(), sizeof(T) * n_, cudaMemcpyHostToDevice));
  }
  explicit DeviceArray(size_t n) : n_(n) { DETNN_CUDA_CHECK(cudaMalloc(&p_, sizeof(T) * (n ? n : 1))); }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
  size_t n_;
};
#endif

}  // namespace detnn::bench
