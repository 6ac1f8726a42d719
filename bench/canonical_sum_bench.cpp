// Canonical sums: CPU (thread pool) and strict CUDA, with a device-to-device copy of the same
// bytes as the bandwidth ceiling measured in the same run. Bytes processed = bytes read.
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <random>
#include <vector>

#include "kernels/canonical_sum.h"
#include "runtime/philox.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/cuda_check.h"
#endif

namespace {

std::vector<float> inputs(int64_t n) {
  std::vector<float> x(n);
  const auto key = detnn::philox_stream_key(1, detnn::RandomPurpose::test);
  for (int64_t i = 0; i < n; ++i) x[i] = detnn::random_uniform(key, i, 0, 0) - 0.5f;
  return x;
}

void BM_CanonicalSumCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto x = inputs(n);
  for (auto _ : state) benchmark::DoNotOptimize(detnn::kernels::canonical_sum_cpu(x.data(), n));
  state.SetBytesProcessed(state.iterations() * n * 4);
}
BENCHMARK(BM_CanonicalSumCpu)->Arg(1 << 16)->Arg(1 << 22);

void BM_ChunkCombineCpu(benchmark::State& state) {
  const int64_t chunks = state.range(0), size = 1 << 20;
  auto p = inputs(chunks * size);
  std::vector<float> out(size);
  for (auto _ : state) detnn::kernels::combine_chunk_partials_cpu(p.data(), chunks, size, out.data());
  state.SetBytesProcessed(state.iterations() * chunks * size * 4);
}
BENCHMARK(BM_ChunkCombineCpu)->Arg(8);

#ifdef DETNN_HAVE_CUDA
using detnn::bench::have_gpu;
using detnn::bench::time_cuda;

void BM_CanonicalSumCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = state.range(0);
  auto x = inputs(n);
  float *dx, *out;
  void* ws;
  const auto layout = detnn::kernels::SumLayout::vector(n);
  DETNN_CUDA_CHECK(cudaMalloc(&dx, n * 4));
  DETNN_CUDA_CHECK(cudaMalloc(&out, 4));
  DETNN_CUDA_CHECK(cudaMalloc(&ws, detnn::kernels::canonical_sum_cuda_workspace_bytes(layout)));
  DETNN_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  time_cuda(state, [&] { detnn::kernels::canonical_sum_cuda(dx, out, layout, ws, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 4);
  cudaFree(dx), cudaFree(out), cudaFree(ws);
}
BENCHMARK(BM_CanonicalSumCuda)->Arg(1 << 20)->Arg(1 << 26)->UseManualTime();

void BM_CanonicalChannelSumCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t N = 256, C = 64, HW = 32 * 32, n = N * C * HW;
  auto x = inputs(n);
  float *dx, *out;
  void* ws;
  const auto layout = detnn::kernels::SumLayout::channels(N, C, HW);
  DETNN_CUDA_CHECK(cudaMalloc(&dx, n * 4));
  DETNN_CUDA_CHECK(cudaMalloc(&out, C * 4));
  DETNN_CUDA_CHECK(cudaMalloc(&ws, detnn::kernels::canonical_sum_cuda_workspace_bytes(layout)));
  DETNN_CUDA_CHECK(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice));
  time_cuda(state, [&] { detnn::kernels::canonical_sum_cuda(dx, out, layout, ws, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 4);
  cudaFree(dx), cudaFree(out), cudaFree(ws);
}
BENCHMARK(BM_CanonicalChannelSumCuda)->UseManualTime();

// The ceiling: a device-to-device copy, counted as bytes read (+ the same written).
void BM_DeviceCopyCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = state.range(0);
  float *a, *b;
  DETNN_CUDA_CHECK(cudaMalloc(&a, n * 4));
  DETNN_CUDA_CHECK(cudaMalloc(&b, n * 4));
  DETNN_CUDA_CHECK(cudaMemset(a, 0x3c, n * 4));
  time_cuda(state, [&] { DETNN_CUDA_CHECK(cudaMemcpyAsync(b, a, n * 4, cudaMemcpyDeviceToDevice)); });
  state.SetBytesProcessed(state.iterations() * n * 4 * 2);
  cudaFree(a), cudaFree(b);
}
BENCHMARK(BM_DeviceCopyCuda)->Arg(1 << 26)->UseManualTime();
#endif

}  // namespace
