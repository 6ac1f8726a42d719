// Optimizer updates over a flat 16 Mi-parameter buffer and the global gradient norm: CPU and
// strict CUDA. Bytes = read + written (Adam: p, g, m, v read, p, m, v written = 28 B/param;
// SGD with momentum: 20 B/param; norm: the squares pass and the canonical sum, 12 B/param).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_util.h"
#include "kernels/optimizer.h"

namespace {

using namespace detnn::kernels;

const AdamParams kAdam{1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, false};
const AdamParams kAdamW{1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, true};
const SgdParams kSgd{0.1f, 0.9f, 0.0f, 1e-4f, true};

void BM_AdamUpdateCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto p = detnn::bench::philox_inputs(n, 1), g = detnn::bench::philox_inputs(n, 2);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  const AdamStep s = adam_step_scalars(state.range(1) ? kAdamW : kAdam, 10);
  for (auto _ : state) adam_update_cpu(p.data(), g.data(), m.data(), v.data(), n, s);
  state.SetBytesProcessed(state.iterations() * n * 28);
  state.SetLabel(state.range(1) ? "adamw" : "adam");
}
BENCHMARK(BM_AdamUpdateCpu)->Args({1 << 24, 0})->Args({1 << 24, 1})->UseRealTime();

void BM_SgdUpdateCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto p = detnn::bench::philox_inputs(n, 1), g = detnn::bench::philox_inputs(n, 2);
  std::vector<float> buf(n, 0.0f);
  const SgdStep s = sgd_step_scalars(kSgd, 10);
  for (auto _ : state) sgd_update_cpu(p.data(), g.data(), buf.data(), n, s);
  state.SetBytesProcessed(state.iterations() * n * 20);
}
BENCHMARK(BM_SgdUpdateCpu)->Arg(1 << 24)->UseRealTime();

void BM_GradNormCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto g = detnn::bench::philox_inputs(n, 2);
  for (auto _ : state) benchmark::DoNotOptimize(global_grad_norm_cpu(g.data(), n));
  state.SetBytesProcessed(state.iterations() * n * 4);
}
BENCHMARK(BM_GradNormCpu)->Arg(1 << 24)->UseRealTime();

#ifdef DETNN_HAVE_CUDA
using detnn::bench::DeviceArray;

void BM_AdamUpdateCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t n = state.range(0);
  DeviceArray<float> p(detnn::bench::philox_inputs(n, 1)), g(detnn::bench::philox_inputs(n, 2));
  DeviceArray<float> m(std::vector<float>(n, 0.0f)), v(std::vector<float>(n, 0.0f));
  const AdamStep s = adam_step_scalars(state.range(1) ? kAdamW : kAdam, 10);
  detnn::bench::time_cuda(state, [&] { adam_update_cuda(p.get(), g.get(), m.get(), v.get(), n, s, nullptr, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 28);
  state.SetLabel(state.range(1) ? "adamw" : "adam");
}
BENCHMARK(BM_AdamUpdateCuda)->Args({1 << 24, 0})->Args({1 << 24, 1})->UseManualTime();

void BM_SgdUpdateCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t n = state.range(0);
  DeviceArray<float> p(detnn::bench::philox_inputs(n, 1)), g(detnn::bench::philox_inputs(n, 2));
  DeviceArray<float> buf(std::vector<float>(n, 0.0f));
  const SgdStep s = sgd_step_scalars(kSgd, 10);
  detnn::bench::time_cuda(state, [&] { sgd_update_cuda(p.get(), g.get(), buf.get(), n, s, nullptr, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 20);
}
BENCHMARK(BM_SgdUpdateCuda)->Arg(1 << 24)->UseManualTime();

void BM_GradNormCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t n = state.range(0);
  DeviceArray<float> g(detnn::bench::philox_inputs(n, 2)), norm(1);
  DeviceArray<unsigned char> ws(global_grad_norm_cuda_workspace_bytes(n));
  detnn::bench::time_cuda(state, [&] { global_grad_norm_cuda(g.get(), n, norm.get(), ws.get(), nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 12);
}
BENCHMARK(BM_GradNormCuda)->Arg(1 << 24)->UseManualTime();
#endif

}  // namespace
