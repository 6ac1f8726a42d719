// Convolution: the CPU kernels on the MNIST CNN's and cifar_convnet's convolutions, with the
// fraction of the measured FMA peak they reach, and the strict CUDA
// kernels against cuDNN's fastest FP32 algorithm (FMA math, no TF32) on the cifar_convnet
// convolutions (batch 512): forward, backward-data, backward-filter. FLOPs = 2 * MACs of the
// dense convolution (padding taps included, as cuDNN counts them); reported as GFLOP/s.
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "cpu_peak.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv2d.h"

#ifdef DETNN_HAVE_CUDA
#include <cudnn.h>

#include "kernels/canonical_sum.h"
#include "kernels/vendor/conv2d_cudnn.h"
#include "runtime/cuda_check.h"
#endif

namespace {

using detnn::kernels::Conv2dParams;

struct Shape {
  const char* name;
  int64_t batch, ci, hw, co, k, pad;
};

// MNIST CNN: conv 1->32 and 32->64, 3x3 pad 1, on 28x28 and 14x14.
const Shape kMnist[] = {{"mnist_conv1_1to32_28", 128, 1, 28, 32, 3, 1},
                        {"mnist_conv2_32to64_14", 128, 32, 14, 64, 3, 1}};
// cifar_convnet at batch 512: 3x3 pad 1 throughout.
const Shape kCifar[] = {{"cifar_3to32_32", 512, 3, 32, 32, 3, 1},
                        {"cifar_32to64_32", 512, 32, 32, 64, 3, 1},
                        {"cifar_32to64_16", 512, 32, 16, 64, 3, 1},
                        {"cifar_64to64_16", 512, 64, 16, 64, 3, 1},
                        {"cifar_64to256_8", 512, 64, 8, 256, 3, 1},
                        {"cifar_256to256_8", 512, 256, 8, 256, 3, 1},
                        {"cifar_256to256_4", 512, 256, 4, 256, 3, 1}};
constexpr int64_t kChunk = 32;

Conv2dParams params(const Shape& s) {
  Conv2dParams p;
  p.batch = s.batch, p.in_channels = s.ci, p.in_h = p.in_w = s.hw, p.out_channels = s.co;
  p.kernel_h = p.kernel_w = s.k, p.pad_h = p.pad_w = s.pad;
  return p;
}

double flops(const Conv2dParams& p) {
  return 2.0 * p.output_size() * p.filter_size();
}

// Values in [-0.5, 0.5) from a 64-bit mix of (seed, index): cheap enough for the large cifar
// tensors (the values only need to be varied, not statistically good).
std::vector<float> inputs(int64_t n, uint32_t seed) {
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = (static_cast<uint64_t>(seed) << 40) + static_cast<uint64_t>(i) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    x[i] = static_cast<float>(static_cast<uint32_t>(z >> 40)) * 0x1p-24f - 0.5f;
  }
  return x;
}

void report(benchmark::State& state, const Conv2dParams& p) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops(p) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

enum Pass { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };
const char* const kPassNames[] = {"forward", "backward_data", "backward_filter"};

// The CPU benchmark's shapes: the MNIST CNN's at its batch, then the six distinct convolutions of
// examples/cifar_convnet.json (its fifth and sixth are alike) at batch 64: a step's batch of 512
// only repeats them. (kCifar above, the GPU list, predates the model's present layers.)
const Shape kCifarCpu[] = {{"cifar_3to32_32", 64, 3, 32, 32, 3, 1},    {"cifar_32to64_32", 64, 32, 32, 64, 3, 1},
                           {"cifar_64to64_16", 64, 64, 16, 64, 3, 1},  {"cifar_64to256_16", 64, 64, 16, 256, 3, 1},
                           {"cifar_256to256_8", 64, 256, 8, 256, 3, 1}, {"cifar_256to256_4", 64, 256, 4, 256, 3, 1}};

Shape cpu_shape(int64_t i) { return i < 2 ? kMnist[i] : kCifarCpu[i - 2]; }

void BM_Conv2dCpu(benchmark::State& state) {
  const Shape s = cpu_shape(state.range(0));
  const Pass pass = static_cast<Pass>(state.range(1));
  const Conv2dParams p = params(s);
  auto x = inputs(p.input_size(), 1), w = inputs(p.weight_size(), 2), b = inputs(p.out_channels, 3);
  auto dy = inputs(p.output_size(), 4);
  std::vector<float> y(p.output_size()), dx(p.input_size()), dw(p.weight_size()), db(p.out_channels);
  state.SetLabel(std::string(s.name) + " " + kPassNames[pass]);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (pass == kForward) detnn::kernels::conv2d_forward_cpu(p, x.data(), w.data(), b.data(), y.data());
    if (pass == kBackwardData) detnn::kernels::conv2d_backward_data_cpu(p, dy.data(), w.data(), dx.data());
    if (pass == kBackwardFilter)
      detnn::kernels::conv2d_backward_filter_cpu(p, kChunk, x.data(), dy.data(), dw.data(), db.data());
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report(state, p);
  detnn::bench::report_peak_fraction(state, flops(p), seconds);  // of the same threads' FMA peak
}
BENCHMARK(BM_Conv2dCpu)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#ifdef DETNN_HAVE_CUDA
using detnn::bench::have_gpu;
using detnn::bench::time_cuda;

struct DeviceTensors {
  float *x = nullptr, *w = nullptr, *b = nullptr, *y = nullptr, *dy = nullptr, *dx = nullptr;
  float *dw = nullptr, *db = nullptr;
  explicit DeviceTensors(const Conv2dParams& p) {
    auto up = [](float** d, const std::vector<float>& h) {
      DETNN_CUDA_CHECK(cudaMalloc(d, h.size() * sizeof(float)));
      DETNN_CUDA_CHECK(cudaMemcpy(*d, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
    };
    up(&x, inputs(p.input_size(), 1));
    up(&w, inputs(p.weight_size(), 2));
    up(&b, inputs(p.out_channels, 3));
    up(&dy, inputs(p.output_size(), 4));
    DETNN_CUDA_CHECK(cudaMalloc(&y, p.output_size() * sizeof(float)));
    DETNN_CUDA_CHECK(cudaMalloc(&dx, p.input_size() * sizeof(float)));
    DETNN_CUDA_CHECK(cudaMalloc(&dw, p.weight_size() * sizeof(float)));
    DETNN_CUDA_CHECK(cudaMalloc(&db, p.out_channels * sizeof(float)));
  }
  ~DeviceTensors() {
    for (float* d : {x, w, b, y, dy, dx, dw, db}) cudaFree(d);
  }
};

// detnn strict, one pass of shape `s` through kernel path `path`: forward with bias;
// backward-filter = weight and bias partials per chunk of 32 + the pairwise combine (the full
// gradient, as a training step needs it).
void time_strict(benchmark::State& state, const Shape& s, Pass pass, detnn::kernels::Conv2dCudaPath path,
                 const std::string& label) {
  const Conv2dParams p = params(s);
  DeviceTensors t(p);
  state.SetLabel(label);
  time_cuda(state, [&] {
    if (pass == kForward) detnn::kernels::conv2d_forward_cuda(p, t.x, t.w, t.b, t.y, nullptr, path);
    if (pass == kBackwardData) detnn::kernels::conv2d_backward_data_cuda(p, t.dy, t.w, t.dx, nullptr, path);
    if (pass == kBackwardFilter)
      detnn::kernels::conv2d_backward_filter_cuda(p, kChunk, t.x, t.dy, t.dw, t.db, nullptr, path);
  });
  report(state, p);
}

// cifar_convnet's convolutions as a training step runs them (the automatic path).
void BM_Conv2dCudaStrict(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Shape& s = kCifar[state.range(0)];
  const Pass pass = static_cast<Pass>(state.range(1));
  const std::string label = std::string(s.name) + " " + kPassNames[pass];
  time_strict(state, s, pass, detnn::kernels::Conv2dCudaPath::automatic, label);
}
BENCHMARK(BM_Conv2dCudaStrict)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6}, {0, 1, 2}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// The MNIST CNN's two convolutions (batch 128, chunks of 32) by kernel path: 0 automatic (what
// a training step runs), 1 direct, 2..5 tiled with tile 0..3 forced. Every path gives the same
// bits (Conv2dGpu.MatchesCpuBitsOnOddShapesForEveryPath), so a path faster than the automatic
// one is a free change of the rule. Long reductions over few outputs (the first layer's weight
// gradient: 288 outputs, 25,088 terms per chunk) are where the rule is least certain.
void BM_Conv2dCudaStrictPaths(benchmark::State& state) {
  if (!have_gpu(state)) return;
  using detnn::kernels::Conv2dCudaPath;
  static const Conv2dCudaPath kPaths[] = {Conv2dCudaPath::automatic, Conv2dCudaPath::direct, Conv2dCudaPath::tile0,
                                          Conv2dCudaPath::tile1,     Conv2dCudaPath::tile2,  Conv2dCudaPath::tile3};
  static const char* const kPathNames[] = {"automatic", "direct", "tile0", "tile1", "tile2", "tile3"};
  const Shape& s = kMnist[state.range(0)];
  const Pass pass = static_cast<Pass>(state.range(1));
  const int path = static_cast<int>(state.range(2));
  time_strict(state, s, pass, kPaths[path], std::string(s.name) + " " + kPassNames[pass] + " " + kPathNames[path]);
}
BENCHMARK(BM_Conv2dCudaStrictPaths)
    ->ArgsProduct({{0, 1}, {0, 1, 2}, {0, 1, 2, 3, 4, 5}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// cuDNN: the fastest algorithm cudnnFind*AlgorithmEx measures for FP32 with CUDNN_FMA_MATH
// (no TF32, no tensor cores), with the workspace it asks for. Forward includes no bias (cuDNN's
// convolution alone); backward-filter is the weight gradient alone.
struct Cudnn {
  cudnnHandle_t handle;
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  explicit Cudnn(const Conv2dParams& p) {
    DETNN_CUDNN_CHECK(cudnnCreate(&handle));
    DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    DETNN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    DETNN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    DETNN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    DETNN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.batch,
                                                 p.in_channels, p.in_h, p.in_w));
    DETNN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, p.batch,
                                                 p.out_channels, p.out_h(), p.out_w()));
    DETNN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.out_channels,
                                                 p.in_channels / p.groups, p.kernel_h, p.kernel_w));
    DETNN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, p.pad_h, p.pad_w, p.stride_h, p.stride_w,
                                                      p.dilation_h, p.dilation_w,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DETNN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, p.groups));
    DETNN_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));
  }
  ~Cudnn() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroy(handle);
  }
};

// Index of the fastest successful non-tensor-core result (Find* sorts by time), or -1.
template <typename Perf>
int fastest_fp32(const Perf* perf, int found) {
  for (int i = 0; i < found; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS &&
        (perf[i].mathType == CUDNN_FMA_MATH || perf[i].mathType == CUDNN_DEFAULT_MATH))
      return i;
  return -1;
}

void BM_Conv2dCudnnFastest(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Shape& s = kCifar[state.range(0)];
  const Pass pass = static_cast<Pass>(state.range(1));
  const Conv2dParams p = params(s);
  DeviceTensors t(p);
  Cudnn c(p);
  constexpr int kMaxAlgos = 16;
  const float one = 1.0f, zero = 0.0f;
  // Find with a generous workspace, then run the winner with the workspace it asks for.
  const size_t find_bytes = size_t{1} << 30;
  void* find_ws = nullptr;
  DETNN_CUDA_CHECK(cudaMalloc(&find_ws, find_bytes));
  int found = 0, best = -1, algo = -1, math = -1;
  size_t ws_bytes = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[kMaxAlgos];
  cudnnConvolutionBwdDataAlgoPerf_t bwd_data[kMaxAlgos];
  cudnnConvolutionBwdFilterAlgoPerf_t bwd_filter[kMaxAlgos];
  if (pass == kForward) {
    DETNN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c.handle, c.x, t.x, c.w, t.w, c.conv, c.y, t.y,
                                                             kMaxAlgos, &found, fwd, find_ws, find_bytes));
    if ((best = fastest_fp32(fwd, found)) >= 0)
      algo = fwd[best].algo, math = fwd[best].mathType, ws_bytes = fwd[best].memory;
  } else if (pass == kBackwardData) {
    DETNN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(c.handle, c.w, t.w, c.y, t.dy, c.conv, c.x,
                                                                  t.dx, kMaxAlgos, &found, bwd_data, find_ws,
                                                                  find_bytes));
    if ((best = fastest_fp32(bwd_data, found)) >= 0)
      algo = bwd_data[best].algo, math = bwd_data[best].mathType, ws_bytes = bwd_data[best].memory;
  } else {
    DETNN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(c.handle, c.x, t.x, c.y, t.dy, c.conv, c.w,
                                                                    t.dw, kMaxAlgos, &found, bwd_filter,
                                                                    find_ws, find_bytes));
    if ((best = fastest_fp32(bwd_filter, found)) >= 0)
      algo = bwd_filter[best].algo, math = bwd_filter[best].mathType, ws_bytes = bwd_filter[best].memory;
  }
  DETNN_CUDA_CHECK(cudaFree(find_ws));
  if (best < 0) return state.SkipWithError("cuDNN found no FP32 (FMA) algorithm");
  void* ws = nullptr;
  if (ws_bytes) DETNN_CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
  time_cuda(state, [&] {
    if (pass == kForward)
      DETNN_CUDNN_CHECK(cudnnConvolutionForward(c.handle, &one, c.x, t.x, c.w, t.w, c.conv, fwd[best].algo, ws,
                                                ws_bytes, &zero, c.y, t.y));
    if (pass == kBackwardData)
      DETNN_CUDNN_CHECK(cudnnConvolutionBackwardData(c.handle, &one, c.w, t.w, c.y, t.dy, c.conv,
                                                     bwd_data[best].algo, ws, ws_bytes, &zero, c.x, t.dx));
    if (pass == kBackwardFilter)
      DETNN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(c.handle, &one, c.x, t.x, c.y, t.dy, c.conv,
                                                       bwd_filter[best].algo, ws, ws_bytes, &zero, c.w, t.dw));
  });
  if (ws) cudaFree(ws);
  state.SetLabel(std::string(s.name) + " " + kPassNames[pass] + " algo=" + std::to_string(algo) +
                 " math=" + std::to_string(math) + " ws=" + std::to_string(ws_bytes >> 20) + "MiB");
  report(state, p);
}
BENCHMARK(BM_Conv2dCudnnFastest)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6}, {0, 1, 2}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// detnn fast and off (kernels/vendor/conv2d_cudnn.h) as a training step runs them: fast calls a
// plan pinned to a deterministic algorithm once per reduction chunk of 32 (16 calls at batch
// 512) and combines the weight-gradient partials pairwise; off calls cudnnFind's fastest
// algorithm (nondeterministic ones included) once on the whole batch. Modes: 0 fast FP32,
// 1 off FP32, 2 fast TF32, 3 off TF32, and 4 "fast-batch": fast's deterministic pick made and
// called for the whole batch, as PyTorch's deterministic mode calls cuDNN (not how detnn trains:
// a call per chunk is what keeps a sample's bits independent of the batch and rank count). 0
// against 4 is the cost of chunk-sized calls, 4 against 1 the cost of deterministic algorithms.
// Forward includes the bias, as in the layer.
void BM_Conv2dVendor(benchmark::State& state) {
  if (!have_gpu(state)) return;
  using detnn::ComputeMode;
  using detnn::Determinism;
  const Shape& s = kCifar[state.range(0)];
  const Pass pass = static_cast<Pass>(state.range(1));
  const int mode_index = static_cast<int>(state.range(2));
  const bool whole_batch = mode_index == 4;
  const bool tf32 = mode_index == 2 || mode_index == 3;
  const ComputeMode mode{mode_index % 2 == 0 ? Determinism::fast : Determinism::off, tf32};
  const bool fast = mode.determinism == Determinism::fast && !whole_batch;
  const Conv2dParams p = params(s);
  DeviceTensors t(p);
  Conv2dParams call = p;
  call.batch = fast ? kChunk : p.batch;
  const int64_t calls = p.batch / call.batch, in = call.input_size(), out = call.output_size();
  detnn::kernels::CudnnConv2d plan(call, mode, s.name, nullptr);
  float* partials = nullptr;
  if (fast) DETNN_CUDA_CHECK(cudaMalloc(&partials, calls * p.weight_size() * sizeof(float)));
  time_cuda(state, [&] {
    for (int64_t c = 0; c < calls; ++c) {
      if (pass == kForward) plan.forward(t.x + c * in, t.w, t.b, t.y + c * out, nullptr);
      if (pass == kBackwardData) plan.backward_data(t.dy + c * out, t.w, t.dx + c * in, nullptr);
      if (pass == kBackwardFilter)
        plan.backward_filter(t.x + c * in, t.dy + c * out, fast ? partials + c * p.weight_size() : t.dw, nullptr);
    }
    if (pass == kBackwardFilter && fast)
      detnn::kernels::combine_chunk_partials_cuda(partials, calls, p.weight_size(), t.dw, nullptr);
  });
  if (partials) cudaFree(partials);
  std::vector<detnn::KernelChoice> choices;
  plan.collect_choices(s.name, choices);
  static const char* const kModes[] = {"fast", "off", "fast-tf32", "off-tf32", "fast-batch"};
  state.SetLabel(std::string(s.name) + " " + kPassNames[pass] + " " + kModes[mode_index] + " " +
                 choices[pass].algorithm.name);
  report(state, p);
}
BENCHMARK(BM_Conv2dVendor)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6}, {0, 1, 2}, {0, 1, 2, 3, 4}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
