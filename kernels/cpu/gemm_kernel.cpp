// CPU GEMM microkernels: 6 x 16 tiles, vectorized across the 16 output columns (never across
// k). The AVX2 variant is compiled for AVX2+FMA whatever -march says and chosen at run time,
// so a build without -march=native is still fast; _mm256_fmadd_ps is the IEEE fused
// multiply-add of each lane, the same operation as std::fma.
#include <cmath>

#include "kernels/cpu/gemm_kernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DETNN_GEMM_X86 1
#endif

namespace detnn::kernels::gemm_detail {

void microkernel_portable(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                          bool accumulate, const float* bias) {
  float acc[kMR][kNR];
  for (int r = 0; r < kMR; ++r)
    for (int j = 0; j < kNR; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0.0f;
  for (int64_t p = 0; p < kc; ++p) {
    const float* a = ap + p * kMR;
    const float* b = bp + p * kNR;
    for (int r = 0; r < kMR; ++r)
      for (int j = 0; j < kNR; ++j) acc[r][j] = std::fma(a[r], b[j], acc[r][j]);
  }
  for (int r = 0; r < kMR; ++r)
    for (int j = 0; j < kNR; ++j) c[r * ldc + j] = bias ? acc[r][j] + bias[j] : acc[r][j];
}

#ifdef DETNN_GEMM_X86
namespace {

__attribute__((target("avx2,fma"))) void microkernel_avx2(int64_t kc, const float* ap,
                                                           const float* bp, float* c, int64_t ldc,
                                                           bool accumulate, const float* bias) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(bp + p * kNR);
    const __m256 b1 = _mm256_loadu_ps(bp + p * kNR + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
      const __m256 a = _mm256_broadcast_ss(ap + p * kMR + r);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  if (bias) {
    const __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
      acc[r][0] = _mm256_add_ps(acc[r][0], bias0);
      acc[r][1] = _mm256_add_ps(acc[r][1], bias1);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

}  // namespace
#endif

MicroKernel best_microkernel() {
#ifdef DETNN_GEMM_X86
  static const MicroKernel chosen = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &microkernel_avx2
                                                                          : &microkernel_portable;
  }();
  return chosen;
#else
  return &microkernel_portable;
#endif
}

}  // namespace detnn::kernels::gemm_detail
