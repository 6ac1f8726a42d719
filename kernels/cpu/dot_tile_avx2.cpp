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

// A term k of row r at a(k, r) (a packed panel or a row-major matrix), B row k at row(k) (a
// strided matrix or a table of row pointers); the chains start at 0.0f, or at c when accumulating.
template <typename A, typename Row>
inline void tile_avx2(int64_t kc, A a, Row row, float* c, int64_t ldc, bool accumulate) {
  __m256 acc[kMR][2];
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = row(k);
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
      const __m256 av = _mm256_set1_ps(a(k, r));
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kMR; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

void tile_strided(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  tile_avx2(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc,
            false);
}

void tile_rows(int64_t kc, const float* ap, const float* const* rows, int64_t col, float* c, int64_t ldc) {
  tile_avx2(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return rows[k] + col; }, c, ldc,
            false);
}

void tile_row_major_a(int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      bool accumulate) {
  tile_avx2(kc, [=](int64_t k, int r) { return a[r * lda + k]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc,
            accumulate);
}

}  // namespace

DotTileKernel dot_tile_avx2() { return {kMR, kDotTileColumns, &tile_strided, &tile_rows, &tile_row_major_a}; }

}  // namespace detnn::kernels
