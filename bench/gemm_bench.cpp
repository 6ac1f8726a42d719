// GEMM: the CPU reference (thread pool) and strict CUDA, with cuBLAS SGEMM in FP32 (pedantic
// math: no TF32, no reduced precision) measured in the same run as the speed to compare with.
// Counters: GFLOP/s = 2*m*n*k per call.
#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "cpu_peak.h"

#include <chrono>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/philox.h"

#ifdef DETNN_HAVE_CUDA
#include "kernels/vendor/gemm_cublaslt.h"
#include "runtime/cuda_check.h"
#endif

namespace {

using detnn::kernels::Trans;

std::vector<float> inputs(int64_t n, uint64_t seed) {
  std::vector<float> x(n);
  const auto key = detnn::philox_stream_key(seed, detnn::RandomPurpose::test);
  for (int64_t i = 0; i < n; ++i) x[i] = detnn::random_uniform(key, i, 0, 0) - 0.5f;
  return x;
}

Trans trans_of(int64_t bit) { return bit ? Trans::T : Trans::N; }

void set_flops(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}

// Args: m, n, k, ta (0 = N, 1 = T), tb.
void BM_GemmCpu(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Trans ta = trans_of(state.range(3)), tb = trans_of(state.range(4));
  auto a = inputs(m * k, 1), b = inputs(k * n, 2);
  std::vector<float> c(m * n);
  const int64_t lda = ta == Trans::N ? k : m, ldb = tb == Trans::N ? n : k;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    detnn::kernels::gemm_cpu(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  set_flops(state, m, n, k);
  detnn::bench::report_peak_fraction(state, 2.0 * m * n * k, seconds);
}
BENCHMARK(BM_GemmCpu)
    ->ArgNames({"m", "n", "k", "ta", "tb"})
    ->Args({256, 256, 256, 0, 0})
    ->Args({1024, 1024, 1024, 0, 0})
    ->Args({1024, 1024, 1024, 0, 1})
    ->Args({1024, 1024, 1024, 1, 0})
    ->Args({1024, 1024, 1024, 1, 1})
    ->Args({512, 128, 3136, 0, 1})
    // mnist_cnn's first linear layer at batch 128: forward, input gradient, one chunk's weight gradient
    ->Args({128, 128, 3136, 0, 1})
    ->Args({128, 3136, 128, 0, 0})
    ->Args({128, 3136, 32, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

#ifdef DETNN_HAVE_CUDA
using detnn::bench::have_gpu;
using detnn::bench::time_cuda;

// Device operands of one problem, filled with the same values as the CPU benchmark.
struct DeviceProblem {
  float *a = nullptr, *b = nullptr, *c = nullptr;
  DeviceProblem(int64_t m, int64_t n, int64_t k) {
    auto ha = inputs(m * k, 1), hb = inputs(k * n, 2);
    DETNN_CUDA_CHECK(cudaMalloc(&a, ha.size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&b, hb.size() * 4));
    DETNN_CUDA_CHECK(cudaMalloc(&c, m * n * 4));
    DETNN_CUDA_CHECK(cudaMemcpy(a, ha.data(), ha.size() * 4, cudaMemcpyHostToDevice));
    DETNN_CUDA_CHECK(cudaMemcpy(b, hb.data(), hb.size() * 4, cudaMemcpyHostToDevice));
  }
  ~DeviceProblem() { cudaFree(a), cudaFree(b), cudaFree(c); }
};

// Args: m, n, k, ta, tb and the block tile (0: the automatic choice; see GemmCudaLaunch).
void BM_GemmCuda(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Trans ta = trans_of(state.range(3)), tb = trans_of(state.range(4));
  const detnn::kernels::GemmCudaLaunch launch{static_cast<int>(state.range(5))};
  const int64_t lda = ta == Trans::N ? k : m, ldb = tb == Trans::N ? n : k;
  DeviceProblem p(m, n, k);
  time_cuda(state, [&] {
    detnn::kernels::gemm_cuda(ta, tb, m, n, k, p.a, lda, p.b, ldb, p.c, n, nullptr, nullptr, launch);
  });
  set_flops(state, m, n, k);
}

// cuBLAS is column-major: row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so
// the call swaps the operands and keeps each one's transpose flag.
void BM_GemmCublasFp32(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Trans ta = trans_of(state.range(3)), tb = trans_of(state.range(4));
  const int64_t lda = ta == Trans::N ? k : m, ldb = tb == Trans::N ? n : k;
  DeviceProblem p(m, n, k);
  cublasHandle_t handle;
  DETNN_CUBLAS_CHECK(cublasCreate(&handle));
  DETNN_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH));
  const float one = 1.0f, zero = 0.0f;
  auto op = [](Trans t) { return t == Trans::N ? CUBLAS_OP_N : CUBLAS_OP_T; };
  time_cuda(state, [&] {
    DETNN_CUBLAS_CHECK(cublasSgemm(handle, op(tb), op(ta), int(n), int(m), int(k), &one, p.b,
                                   int(ldb), p.a, int(lda), &zero, p.c, int(n)));
  });
  set_flops(state, m, n, k);
  cublasDestroy(handle);
}

// The same shapes for both; the tile column is 0 (automatic) except in the extra rows of
// BM_GemmCuda that show each tile on the small shapes.
#define DETNN_GEMM_CUDA_SHAPES(tile)                    \
  ArgNames({"m", "n", "k", "ta", "tb", "tile"})         \
      ->Args({4096, 4096, 4096, 0, 0, tile})            \
      ->Args({4096, 4096, 4096, 0, 1, tile})            \
      ->Args({4096, 4096, 4096, 1, 0, tile})            \
      ->Args({1024, 1024, 1024, 0, 0, tile})            \
      ->Args({512, 128, 3136, 0, 1, tile})              \
      ->Args({8192, 64, 576, 0, 0, tile})               \
      ->UseManualTime()                                 \
      ->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_GemmCuda)
    ->DETNN_GEMM_CUDA_SHAPES(0)
    ->Args({1024, 1024, 1024, 0, 0, 64})
    ->Args({1024, 1024, 1024, 0, 0, 128})
    ->Args({512, 128, 3136, 0, 1, 32})
    ->Args({512, 128, 3136, 0, 1, 64})
    ->Args({8192, 64, 576, 0, 0, 32})
    ->Args({8192, 64, 576, 0, 0, 64});
BENCHMARK(BM_GemmCublasFp32)->DETNN_GEMM_CUDA_SHAPES(0);

// detnn fast / off (kernels/vendor/gemm_cublaslt.h): the same problem through a pinned cuBLASLt
// plan. Args: m, n, k, ta, tb, mode (0 fast FP32, 1 off FP32, 2 fast TF32, 3 off TF32). A plan
// computes the whole problem here; the layers call it per reduction chunk in fast.
void BM_GemmVendor(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const int mode_index = static_cast<int>(state.range(5));
  const detnn::ComputeMode mode{mode_index % 2 == 0 ? detnn::Determinism::fast : detnn::Determinism::off,
                                mode_index >= 2};
  DeviceProblem p(m, n, k);
  const detnn::kernels::GemmShape shape{trans_of(state.range(3)), trans_of(state.range(4)), m, n, k, false, 16};
  detnn::kernels::CublasLtGemm plan(shape, mode, "bench", nullptr);
  time_cuda(state, [&] { plan.run(p.a, p.b, p.c, nullptr, nullptr); });
  set_flops(state, m, n, k);
}
BENCHMARK(BM_GemmVendor)
    ->ArgNames({"m", "n", "k", "ta", "tb", "mode"})
    ->ArgsProduct({{4096}, {4096}, {4096}, {0}, {0}, {0, 1, 2, 3}})
    ->ArgsProduct({{512}, {128}, {3136}, {0}, {1}, {0, 1, 2, 3}})
    ->ArgsProduct({{32}, {128}, {3136}, {0}, {1}, {0, 2}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
