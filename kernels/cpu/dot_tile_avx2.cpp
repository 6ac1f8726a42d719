// The AVX2+FMA microkernel: 6 x 16 tiles, twelve 8-lane accumulators (enough independent
// chains to cover the FMA latency on two pipes). This file is compiled with -mavx2 -mfma
// whatever the build's -march and only called when the CPU has both (runtime/cpu_isa.h). It
// includes nothing but the intrinsics, so no inline function of a shared header is compiled
// here with instructions another caller's CPU may lack.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/dot_tile.h"

namespace detnn::kernels {

namespace {

constexpr int kMR = 6;

void tile_avx2(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * ldb);
    const __m256 b1 = _mm256_loadu_ps(b + k * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
      const __m256 a = _mm256_broadcast_ss(ap + k * kMR + r);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

}  // namespace

DotTileKernel dot_tile_avx2() { return {kMR, kDotTileColumns, &tile_avx2}; }

}  // namespace detnn::kernels
