// Max pooling 2x2 / stride 2 on [512, 64, 32, 32] (the cifar_convnet pooling at batch 512; the CPU
// forward also on mnist_cnn's two): CPU
// (thread pool) and strict CUDA, forward and backward. Bytes processed = bytes read + written
// once: forward reads x and writes y and the int32 argmax; backward reads dy and argmax and
// writes dx. CPU rates use wall-clock time (the thread pool works in parallel).
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <string>
#include <vector>

#include "kernels/pool2d.h"
#include "runtime/philox.h"

#ifdef DETNN_HAVE_CUDA
#include "runtime/cuda_check.h"
#endif

namespace {

using detnn::kernels::PoolParams;

const PoolParams kPool = PoolParams::square(512, 64, 32, 32, 2, 2, 0);

std::vector<float> inputs(int64_t n, uint64_t seed) {
  std::vector<float> x(n);
  const auto key = detnn::philox_stream_key(seed, detnn::RandomPurpose::test);
  for (int64_t i = 0; i < n; ++i) x[i] = detnn::random_uniform(key, i, 0, 0) - 0.5f;
  return x;
}

int64_t forward_bytes(const PoolParams& p) { return p.input_size() * 4 + p.output_size() * (4 + 4); }
int64_t backward_bytes(const PoolParams& p) { return p.output_size() * (4 + 4) + p.input_size() * 4; }

// The CPU shapes: cifar_convnet's, then mnist_cnn's two poolings at batch 128 (rows of 14 and 7
// outputs, the short-row path).
const PoolParams kCpuPools[] = {kPool, PoolParams::square(128, 32, 28, 28, 2, 2, 0),
                                PoolParams::square(128, 64, 14, 14, 2, 2, 0)};

void BM_MaxPool2x2ForwardCpu(benchmark::State& state) {
  const PoolParams& p = kCpuPools[state.range(0)];
  state.SetLabel(std::to_string(p.height) + "x" + std::to_string(p.width));
  const auto x = inputs(p.input_size(), 1);
  std::vector<float> y(p.output_size());
  std::vector<int32_t> arg(p.output_size());
  for (auto _ : state) detnn::kernels::maxpool2d_forward_cpu(p, x.data(), y.data(), arg.data());
  state.SetBytesProcessed(state.iterations() * forward_bytes(p));
}
BENCHMARK(BM_MaxPool2x2ForwardCpu)->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_MaxPool2x2BackwardCpu(benchmark::State& state) {
  const PoolParams& p = kPool;
  const auto x = inputs(p.input_size(), 1), dy = inputs(p.output_size(), 2);
  std::vector<float> y(p.output_size()), dx(p.input_size());
  std::vector<int32_t> arg(p.output_size());
  detnn::kernels::maxpool2d_forward_cpu(p, x.data(), y.data(), arg.data());
  for (auto _ : state) detnn::kernels::maxpool2d_backward_cpu(p, dy.data(), arg.data(), dx.data());
  state.SetBytesProcessed(state.iterations() * backward_bytes(p));
}
BENCHMARK(BM_MaxPool2x2BackwardCpu)->UseRealTime()->Unit(benchmark::kMillisecond);

#ifdef DETNN_HAVE_CUDA
using detnn::bench::have_gpu;
using detnn::bench::time_cuda;

// Device buffers of the pooling call, x and dy filled.
struct DevicePool {
  float *x = nullptr, *y = nullptr, *dy = nullptr, *dx = nullptr;
  int32_t* arg = nullptr;
  explicit DevicePool(const PoolParams& p) {
    const auto hx = inputs(p.input_size(), 1), hdy = inputs(p.output_size(), 2);
    DETNN_CUDA_CHECK(cudaMalloc(&x, p.input_size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&dx, p.input_size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&y, p.output_size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&dy, p.output_size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&arg, p.output_size() * 4));
    DETNN_CUDA_CHECK(cudaMemcpy(x, hx.data(), hx.size() * 4, cudaMemcpyHostToDevice));
    DETNN_CUDA_CHECK(cudaMemcpy(dy, hdy.data(), hdy.size() * 4, cudaMemcpyHostToDevice));
  }
  ~DevicePool() { cudaFree(x), cudaFree(y), cudaFree(dy), cudaFree(dx), cudaFree(arg); }
};

void BM_MaxPool2x2ForwardCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const PoolParams& p = kPool;
  DevicePool d(p);
  time_cuda(state, [&] { detnn::kernels::maxpool2d_forward_cuda(p, d.x, d.y, d.arg, nullptr); });
  state.SetBytesProcessed(state.iterations() * forward_bytes(p));
}
BENCHMARK(BM_MaxPool2x2ForwardCuda)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_MaxPool2x2BackwardCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const PoolParams& p = kPool;
  DevicePool d(p);
  detnn::kernels::maxpool2d_forward_cuda(p, d.x, d.y, d.arg, nullptr);
  time_cuda(state, [&] { detnn::kernels::maxpool2d_backward_cuda(p, d.dy, d.arg, d.dx, nullptr); });
  state.SetBytesProcessed(state.iterations() * backward_bytes(p));
}
BENCHMARK(BM_MaxPool2x2BackwardCuda)->UseManualTime()->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
