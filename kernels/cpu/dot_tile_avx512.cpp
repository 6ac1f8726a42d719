// The AVX-512 microkernel: 16 x 16 tiles, sixteen 16-lane accumulators. Compiled with -mavx512f
// -mfma whatever the build's -march and only called when the CPU has AVX-512F
// (runtime/cpu_isa.h); like dot_tile_avx2.cpp it includes nothing but the intrinsics.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/dot_tile.h"

namespace detnn::kernels {

namespace {

constexpr int kMR = 16;

void tile_avx512(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  __m512 acc[kMR];
#pragma GCC unroll 16
  for (int r = 0; r < kMR; ++r) acc[r] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 bv = _mm512_loadu_ps(b + k * ldb);
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(ap[k * kMR + r]), bv, acc[r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMR; ++r) _mm512_storeu_ps(c + r * ldc, acc[r]);
}

}  // namespace

DotTileKernel dot_tile_avx512() { return {kMR, kDotTileColumns, &tile_avx512}; }

}  // namespace detnn::kernels
