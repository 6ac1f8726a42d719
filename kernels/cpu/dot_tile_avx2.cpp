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

// B row k at row(k): a strided matrix or a table of row pointers.
template <typename Row>
inline void tile_avx2(int64_t kc, const float* ap, Row row, float* c, int64_t ldc) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = row(k);
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
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

void tile_strided(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  tile_avx2(kc, ap, [=](int64_t k) { return b + k * ldb; }, c, ldc);
}

void tile_rows(int64_t kc, const float* ap, const float* const* rows, int64_t col, float* c, int64_t ldc) {
  tile_avx2(kc, ap, [=](int64_t k) { return rows[k] + col; }, c, ldc);
}

}  // namespace

DotTileKernel dot_tile_avx2() { return {kMR, kDotTileColumns, &tile_strided, &tile_rows}; }

}  // namespace detnn::kernels
