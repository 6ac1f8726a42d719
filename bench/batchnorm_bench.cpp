// Batch norm on [512, 64, 32, 32] with reduction chunks of 32 (the cifar_convnet shape at batch
// 512): CPU (thread pool) and strict CUDA training forward, backward and inference forward, and
// cuDNN's batch norm (forward training and backward, whole-batch statistics, not ghost batch
// norm) for comparison. Bytes processed = the op's tensors read + written ONCE (forward: x read,
// y written; backward: x and dy read, dx written), the same count for every implementation; the
// strict kernels actually read x three times in the forward (two-pass statistics) and x and dy
// twice in the backward, so their GB/s is an effective rate.
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <vector>

#include "kernels/batchnorm.h"
#include "runtime/philox.h"

#ifdef DETNN_HAVE_CUDA
#include <cudnn.h>

#include "runtime/cuda_check.h"
#endif

namespace {

using detnn::kernels::BatchNormParams;

BatchNormParams bench_params() {
  BatchNormParams p;
  p.batch = 512, p.channels = 64, p.height = 32, p.width = 32, p.chunk_size = 32;
  return p;
}

std::vector<float> inputs(int64_t n, uint64_t seed, float offset = 0.5f) {
  std::vector<float> x(n);
  const auto key = detnn::philox_stream_key(seed, detnn::RandomPurpose::test);
  for (int64_t i = 0; i < n; ++i) x[i] = detnn::random_uniform(key, i, 0, 0) - offset;
  return x;
}

int64_t forward_bytes(const BatchNormParams& p) { return p.size() * 4 * 2; }
int64_t backward_bytes(const BatchNormParams& p) { return p.size() * 4 * 3; }

struct HostBatchNorm {
  BatchNormParams p = bench_params();
  std::vector<float> x = inputs(p.size(), 1), dy = inputs(p.size(), 2), y = std::vector<float>(p.size()),
                     dx = std::vector<float>(p.size()), gamma = inputs(p.channels, 3, -1.0f),
                     beta = inputs(p.channels, 4), stats = std::vector<float>(5 * p.chunks() * p.channels);
  float* mean() { return stats.data(); }
  float* var() { return mean() + p.chunks() * p.channels; }
  float* invstd() { return var() + p.chunks() * p.channels; }
  float* dgamma() { return invstd() + p.chunks() * p.channels; }
  float* dbeta() { return dgamma() + p.chunks() * p.channels; }
};

void BM_BatchNormForwardTrainingCpu(benchmark::State& state) {
  HostBatchNorm h;
  for (auto _ : state)
    detnn::kernels::batchnorm_forward_training_cpu(h.p, h.x.data(), h.gamma.data(), h.beta.data(), h.y.data(),
                                                   h.mean(), h.var(), h.invstd());
  state.SetBytesProcessed(state.iterations() * forward_bytes(h.p));
}
BENCHMARK(BM_BatchNormForwardTrainingCpu)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_BatchNormBackwardCpu(benchmark::State& state) {
  HostBatchNorm h;
  detnn::kernels::batchnorm_forward_training_cpu(h.p, h.x.data(), h.gamma.data(), h.beta.data(), h.y.data(),
                                                 h.mean(), h.var(), h.invstd());
  for (auto _ : state)
    detnn::kernels::batchnorm_backward_cpu(h.p, h.x.data(), h.dy.data(), h.gamma.data(), h.mean(), h.invstd(),
                                           h.dx.data(), h.dgamma(), h.dbeta());
  state.SetBytesProcessed(state.iterations() * backward_bytes(h.p));
}
BENCHMARK(BM_BatchNormBackwardCpu)->UseRealTime()->Unit(benchmark::kMillisecond);

#ifdef DETNN_HAVE_CUDA
using detnn::bench::have_gpu;
using detnn::bench::time_cuda;

float* device_copy(const std::vector<float>& host) {
  float* d = nullptr;
  DETNN_CUDA_CHECK(cudaMalloc(&d, host.size() * 4));
  DETNN_CUDA_CHECK(cudaMemcpy(d, host.data(), host.size() * 4, cudaMemcpyHostToDevice));
  return d;
}

// Device copies of HostBatchNorm's buffers, plus running statistics and the strict workspace.
struct DeviceBatchNorm {
  HostBatchNorm h;
  float *x = device_copy(h.x), *dy = device_copy(h.dy), *y = device_copy(h.y), *dx = device_copy(h.dx),
        *gamma = device_copy(h.gamma), *beta = device_copy(h.beta), *stats = device_copy(h.stats),
        *running_mean = device_copy(std::vector<float>(h.p.channels, 0.0f)),
        *running_var = device_copy(std::vector<float>(h.p.channels, 1.0f));
  void* workspace = nullptr;
  DeviceBatchNorm() { DETNN_CUDA_CHECK(cudaMalloc(&workspace, detnn::kernels::batchnorm_cuda_workspace_bytes(h.p))); }
  ~DeviceBatchNorm() {
    for (float* p : {x, dy, y, dx, gamma, beta, stats, running_mean, running_var}) cudaFree(p);
    cudaFree(workspace);
  }
  int64_t segs() const { return h.p.chunks() * h.p.channels; }
  float* mean() { return stats; }
  float* var() { return stats + segs(); }
  float* invstd() { return stats + 2 * segs(); }
  float* dgamma() { return stats + 3 * segs(); }
  float* dbeta() { return stats + 4 * segs(); }
  void forward() {
    detnn::kernels::batchnorm_forward_training_cuda(h.p, x, gamma, beta, y, mean(), var(), invstd(), workspace,
                                                    nullptr);
  }
};

void BM_BatchNormForwardTrainingCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  DeviceBatchNorm d;
  time_cuda(state, [&] { d.forward(); });
  state.SetBytesProcessed(state.iterations() * forward_bytes(d.h.p));
}
BENCHMARK(BM_BatchNormForwardTrainingCuda)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_BatchNormBackwardCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  DeviceBatchNorm d;
  d.forward();
  time_cuda(state, [&] {
    detnn::kernels::batchnorm_backward_cuda(d.h.p, d.x, d.dy, d.gamma, d.mean(), d.invstd(), d.dx, d.dgamma(),
                                            d.dbeta(), d.workspace, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * backward_bytes(d.h.p));
}
BENCHMARK(BM_BatchNormBackwardCuda)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_BatchNormForwardInferenceCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  DeviceBatchNorm d;
  time_cuda(state, [&] {
    detnn::kernels::batchnorm_forward_inference_cuda(d.h.p, d.x, d.gamma, d.beta, d.running_mean, d.running_var, d.y,
                                                     nullptr);
  });
  state.SetBytesProcessed(state.iterations() * forward_bytes(d.h.p));
}
BENCHMARK(BM_BatchNormForwardInferenceCuda)->UseManualTime()->Unit(benchmark::kMicrosecond);

// cuDNN's legacy batch norm API (deprecated in cuDNN 9, still the common baseline).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct CudnnBatchNorm {
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x_desc = nullptr, bn_desc = nullptr;
  cudnnBatchNormMode_t mode;
  explicit CudnnBatchNorm(const BatchNormParams& p, cudnnBatchNormMode_t m) : mode(m) {
    DETNN_CUDNN_CHECK(cudnnCreate(&handle));
    DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc));
    DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bn_desc));
    DETNN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)p.batch,
                                                 (int)p.channels, (int)p.height, (int)p.width));
    DETNN_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(bn_desc, x_desc, mode));
  }
  ~CudnnBatchNorm() {
    cudnnDestroyTensorDescriptor(bn_desc);
    cudnnDestroyTensorDescriptor(x_desc);
    cudnnDestroy(handle);
  }
};

// Arg 0: CUDNN_BATCHNORM_SPATIAL; 1: CUDNN_BATCHNORM_SPATIAL_PERSISTENT.
cudnnBatchNormMode_t cudnn_mode(const benchmark::State& state) {
  return state.range(0) == 0 ? CUDNN_BATCHNORM_SPATIAL : CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
}

void BM_BatchNormForwardTrainingCudnn(benchmark::State& state) {
  if (!have_gpu(state)) return;
  DeviceBatchNorm d;
  CudnnBatchNorm c(d.h.p, cudnn_mode(state));
  const float one = 1.0f, zero = 0.0f;
  time_cuda(state, [&] {
    DETNN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
        c.handle, c.mode, &one, &zero, c.x_desc, d.x, c.x_desc, d.y, c.bn_desc, d.gamma, d.beta, 0.1,
        d.running_mean, d.running_var, 1e-5, d.mean(), d.invstd()));
  });
  state.SetBytesProcessed(state.iterations() * forward_bytes(d.h.p));
}
BENCHMARK(BM_BatchNormForwardTrainingCudnn)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_BatchNormBackwardCudnn(benchmark::State& state) {
  if (!have_gpu(state)) return;
  DeviceBatchNorm d;
  CudnnBatchNorm c(d.h.p, cudnn_mode(state));
  const float one = 1.0f, zero = 0.0f;
  DETNN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(c.handle, c.mode, &one, &zero, c.x_desc, d.x, c.x_desc,
                                                           d.y, c.bn_desc, d.gamma, d.beta, 0.1, d.running_mean,
                                                           d.running_var, 1e-5, d.mean(), d.invstd()));
  time_cuda(state, [&] {
    DETNN_CUDNN_CHECK(cudnnBatchNormalizationBackward(c.handle, c.mode, &one, &zero, &one, &zero, c.x_desc, d.x,
                                                      c.x_desc, d.dy, c.x_desc, d.dx, c.bn_desc, d.gamma, d.dgamma(),
                                                      d.dbeta(), 1e-5, d.mean(), d.invstd()));
  });
  state.SetBytesProcessed(state.iterations() * backward_bytes(d.h.p));
}
BENCHMARK(BM_BatchNormBackwardCudnn)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
#pragma GCC diagnostic pop
#endif

}  // namespace
