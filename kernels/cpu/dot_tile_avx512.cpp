// The AVX-512 microkernel: 16 x 16 tiles, sixteen 16-lane accumulators. Compiled with -mavx512f
// -mfma whatever the build's -march and only called when the CPU has AVX-512F
// (runtime/cpu_isa.h); like dot_tile_avx2.cpp it includes nothing but the intrinsics.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/dot_tile.h"

namespace detnn::kernels {

namespace {

constexpr int kMR = 16;

// A term k of row r at a(k, r) (a packed panel or a row-major matrix), B row k at row(k) (a
// strided matrix or a table of row pointers); the chains start at 0.0f, or at c when accumulating.
template <typename A, typename Row>
inline void tile_avx512(int64_t kc, A a, Row row, float* c, int64_t ldc, bool accumulate) {
  __m512 acc[kMR];
#pragma GCC unroll 16
  for (int r = 0; r < kMR; ++r) acc[r] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 bv = _mm512_loadu_ps(row(k));
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a(k, r)), bv, acc[r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMR; ++r) _mm512_storeu_ps(c + r * ldc, acc[r]);
}

void tile_strided(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  tile_avx512(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc,
              false);
}

void tile_rows(int64_t kc, const float* ap, const float* const* rows, int64_t col, float* c, int64_t ldc) {
  tile_avx512(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return rows[k] + col; }, c, ldc,
              false);
}

void tile_row_major_a(int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                      bool accumulate) {
  tile_avx512(kc, [=](int64_t k, int r) { return a[r * lda + k]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc,
              accumulate);
}

}  // namespace

DotTileKernel dot_tile_avx512() { return {kMR, kDotTileColumns, &tile_strided, &tile_rows, &tile_row_major_a}; }

}  // namespace detnn::kernels
