#include "cpu_peak.h"

#include <chrono>
#include <map>
#include <mutex>

#include "runtime/cpu_isa.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace detnn::bench {

namespace {

constexpr long kIterations = 2'000'000;

// 16 chains per call of 16 lanes (AVX-512) or 16 chains of 8 lanes (AVX2): the FLOPs of one call.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) double chains_avx512(long iterations) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(0.0001f);
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < 16; ++i) sum = _mm512_add_ps(sum, acc[i]);
  volatile float sink = _mm512_reduce_add_ps(sum);
  (void)sink;
  return 16.0 * 16 * 2 * static_cast<double>(iterations);
}

__attribute__((target("avx2,fma"))) double chains_avx2(long iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(0.0001f);
  for (long it = 0; it < iterations; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  alignas(32) float out[8];
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  _mm256_store_ps(out, sum);
  volatile float sink = out[0];
  (void)sink;
  return 12.0 * 8 * 2 * static_cast<double>(iterations);
}
#endif

double chains_scalar(long iterations) {
  float acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (long it = 0; it < iterations / 16; ++it)
    for (float& v : acc) v = __builtin_fmaf(v, 0.9999f, 0.0001f);
  volatile float sink = acc[0] + acc[7];
  (void)sink;
  return 8.0 * 2 * static_cast<double>(iterations / 16);
}

double chains(long iterations) {
#if defined(__x86_64__)
  switch (cpu_isa_active()) {
    case CpuIsa::avx512: return chains_avx512(iterations);
    case CpuIsa::avx2: return chains_avx2(iterations);
    case CpuIsa::portable: break;
  }
#endif
  return chains_scalar(iterations);
}

}  // namespace

double cpu_fma_peak_gflops() {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, double> measured;  // (threads, path) -> GFLOP/s
  const std::pair<int, int> key{num_threads(), static_cast<int>(cpu_isa_active())};
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = measured.find(key); it != measured.end()) return it->second;
  ThreadPool& pool = cpu_thread_pool();
  const int threads = pool.num_threads();
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {  // the best of five: a busy moment lowers one
    std::vector<double> flops(static_cast<size_t>(threads));
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) flops[t] = chains(kIterations);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double total = 0.0;
    for (double f : flops) total += f;
    best = std::max(best, total / seconds * 1e-9);
  }
  measured[key] = best;
  return best;
}

void report_peak_fraction(benchmark::State& state, double flops_per_iteration, double seconds) {
  if (seconds <= 0.0) return;
  const double gflops = flops_per_iteration * static_cast<double>(state.iterations()) / seconds * 1e-9;
  state.counters["peak_fraction"] = gflops / cpu_fma_peak_gflops();
}

}  // namespace detnn::bench
