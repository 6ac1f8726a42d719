// Dropout forward (Philox mask recomputed in the kernel): CPU and strict CUDA.
// Bytes = read + written.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_util.h"
#include "kernels/dropout.h"

namespace {

detnn::kernels::DropoutParams params(int64_t n) {
  detnn::kernels::DropoutParams d;
  d.p = 0.1f;
  d.seed = 1;
  d.step = 1000;
  d.layer_hash = detnn::stable_name_hash("block.dropout");
  d.sample_size = 4096;
  d.samples = n / 4096;
  return d;
}

void BM_DropoutForwardCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto x = detnn::bench::philox_inputs(n, 1);
  std::vector<float> y(n);
  const auto d = params(n);
  for (auto _ : state) detnn::kernels::dropout_forward_cpu(x.data(), y.data(), d);
  state.SetBytesProcessed(state.iterations() * n * 8);
}
BENCHMARK(BM_DropoutForwardCpu)->Arg(1 << 22)->UseRealTime();

#ifdef DETNN_HAVE_CUDA
void BM_DropoutForwardCuda(benchmark::State& state) {
  if (!detnn::bench::have_gpu(state)) return;
  const int64_t n = state.range(0);
  detnn::bench::DeviceArray<float> x(detnn::bench::philox_inputs(n, 1)), y(n);
  const auto d = params(n);
  detnn::bench::time_cuda(state, [&] { detnn::kernels::dropout_forward_cuda(x.get(), y.get(), d, nullptr); });
  state.SetBytesProcessed(state.iterations() * n * 8);
}
BENCHMARK(BM_DropoutForwardCuda)->Arg(1 << 26)->UseManualTime();
#endif

}  // namespace
