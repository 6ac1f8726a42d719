// Activations and residual add: CPU (thread pool, wall time) and strict CUDA. Bytes = read + written;
// compare the CUDA numbers with BM_DeviceCopyCuda (bench/canonical_sum_bench.cpp) of the same run.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_util.h"
#include "kernels/activation.h"

namespace {

using detnn::kernels::Activation;

void BM_ActivationForwardCpu(benchmark::State& state) {
  const auto a = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  auto x = detnn::bench::philox_inputs(n, 1, -4.0f, 4.0f);
  std::vector<float> y(n);
  for (auto _ : state) detnn::kernels::activation_forward_cpu(a, x.data(), y.data(), n);
  state.SetBytesProcessed(state.iterations() * n * 8);
  state.SetLabel(detnn::kernels::activation_name(a));
}
BENCHMARK(BM_ActivationForwardCpu)->Args({0, 1 << 24})->Args({1, 1 << 24})->Args({2, 1 << 24})->UseRealTime();

void BM_ActivationBackwardCpu(benchmark::State& state) {
  const auto a = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  auto x = detnn::bench::philox_inputs(n, 1, -4.0f, 4.0f), dy = detnn::bench::philox_inputs(n, 2);
  std::vector<float> dx(n);
  for (auto _ : state) detnn::kernels::activation_backward_cpu(a, x.data(), dy.data(), dx.data(), n);
  state.SetBytesProcessed(state.iterations() * n * 12);
  state.SetLabel(detnn::kernels::activation_name(a));
}
BENCHMARK(BM_ActivationBackwardCpu)->Args({0, 1 << 24})->Args({1, 1 << 24})->Args({2, 1 << 24})->UseRealTime();

#ifdef DETNN_HAVE_CUDA
using detnn::bench::DeviceArray;

void BM_ActivationForwardCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const auto a = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  DeviceArray<float> x(detnn::bench::philox_inputs(n, 1, -4.0f, 4.0f)), y(n);
  detnn::bench::time_cuda(state, [&] { detnn::kernels::activation_forward_cuda(a, x.get(), y.get(), n, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 8);
  state.SetLabel(detnn::kernels::activation_name(a));
}
BENCHMARK(BM_ActivationForwardCuda)->Args({0, 1 << 26})->Args({1, 1 << 26})->Args({2, 1 << 26})->UseManualTime();

void BM_ActivationBackwardCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const auto a = static_cast<Activation>(state.range(0));
  const int64_t n = state.range(1);
  DeviceArray<float> x(detnn::bench::philox_inputs(n, 1, -4.0f, 4.0f)), dy(detnn::bench::philox_inputs(n, 2)), dx(n);
  detnn::bench::time_cuda(state, [&] {
    detnn::kernels::activation_backward_cuda(a, x.get(), dy.get(), dx.get(), n, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * n * 12);
  state.SetLabel(detnn::kernels::activation_name(a));
}
BENCHMARK(BM_ActivationBackwardCuda)->Args({0, 1 << 26})->Args({1, 1 << 26})->Args({2, 1 << 26})->UseManualTime();

void BM_AddCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t n = state.range(0);
  DeviceArray<float> a(detnn::bench::philox_inputs(n, 1)), b(detnn::bench::philox_inputs(n, 2)), y(n);
  detnn::bench::time_cuda(state, [&] { detnn::kernels::add_cuda(a.get(), b.get(), y.get(), n, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 12);
}
BENCHMARK(BM_AddCuda)->Arg(1 << 26)->UseManualTime();
#endif

}  // namespace
