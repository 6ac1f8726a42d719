// Softmax cross-entropy forward (per-sample losses) and backward (dlogits): CPU and strict CUDA
// on [N, K] logits. Bytes = logits read (+ labels) + outputs written.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_util.h"
#include "kernels/cross_entropy.h"

namespace {

struct Problem {
  std::vector<float> logits;
  std::vector<int32_t> labels;
  detnn::kernels::CrossEntropyParams params;
};

Problem problem(int64_t N, int64_t K) {
  Problem p;
  p.logits = detnn::bench::philox_inputs(N * K, 3, -8.0f, 8.0f);
  p.labels.resize(N);
  for (int64_t i = 0; i < N; ++i) p.labels[i] = static_cast<int32_t>((i * 7919) % K);
  p.params.samples = N;
  p.params.classes = K;
  p.params.label_smoothing = 0.1f;
  p.params.global_batch = N;
  return p;
}

void BM_CrossEntropyForwardCpu(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto p = problem(N, K);
  std::vector<float> losses(N);
  for (auto _ : state)
    detnn::kernels::cross_entropy_forward_cpu(p.logits.data(), p.labels.data(), losses.data(), p.params);
  state.SetBytesProcessed(state.iterations() * (N * K * 4 + N * 8));
}
BENCHMARK(BM_CrossEntropyForwardCpu)->Args({512, 10})->Args({4096, 1000})->UseRealTime();

void BM_CrossEntropyBackwardCpu(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1);
  auto p = problem(N, K);
  std::vector<float> grad(N * K);
  for (auto _ : state)
    detnn::kernels::cross_entropy_backward_cpu(p.logits.data(), p.labels.data(), grad.data(), p.params);
  state.SetBytesProcessed(state.iterations() * (N * K * 8 + N * 4));
}
BENCHMARK(BM_CrossEntropyBackwardCpu)->Args({512, 10})->Args({4096, 1000})->UseRealTime();

#ifdef DETNN_HAVE_CUDA
using detnn::bench::DeviceArray;

void BM_CrossEntropyForwardCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t N = state.range(0), K = state.range(1);
  auto p = problem(N, K);
  DeviceArray<float> z(p.logits), losses(N);
  DeviceArray<int32_t> labels(p.labels);
  detnn::bench::time_cuda(state, [&] {
    detnn::kernels::cross_entropy_forward_cuda(z.get(), labels.get(), losses.get(), p.params, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * (N * K * 4 + N * 8));
}
BENCHMARK(BM_CrossEntropyForwardCuda)->Args({512, 10})->Args({4096, 1000})->UseManualTime();

void BM_CrossEntropyBackwardCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t N = state.range(0), K = state.range(1);
  auto p = problem(N, K);
  DeviceArray<float> z(p.logits), grad(N * K);
  DeviceArray<int32_t> labels(p.labels);
  detnn::bench::time_cuda(state, [&] {
    detnn::kernels::cross_entropy_backward_cuda(z.get(), labels.get(), grad.get(), p.params, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * (N * K * 8 + N * 4));
}
BENCHMARK(BM_CrossEntropyBackwardCuda)->Args({512, 10})->Args({4096, 1000})->UseManualTime();
#endif

}  // namespace
