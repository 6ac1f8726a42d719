// The portable microkernel: plain C++ for any CPU, 4 x 16 tiles. std::fma is the IEEE fused
// multiply-add, the operation the vector variants do per lane.
#include <cmath>

#include "kernels/cpu/dot_tile.h"
#include "runtime/cpu_isa.h"

namespace detnn::kernels {

namespace {

constexpr int kMR = 4;
constexpr int kNR = kDotTileColumns;

// A term k of row r at a(k, r), B row k at row(k); the chains start at 0.0f, or at c when
// accumulating.
template <typename A, typename Row>
void tile(int64_t kc, A a, Row row, float* c, int64_t ldc, bool accumulate) {
  float acc[kMR][kNR];
  for (int r = 0; r < kMR; ++r)
    for (int j = 0; j < kNR; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0.0f;
  for (int64_t k = 0; k < kc; ++k) {
    const float* brow = row(k);
    for (int r = 0; r < kMR; ++r) {
      const float av = a(k, r);
      for (int j = 0; j < kNR; ++j) acc[r][j] = std::fma(av, brow[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kMR; ++r)
    for (int j = 0; j < kNR; ++j) c[r * ldc + j] = acc[r][j];
}

void tile_portable(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c, int64_t ldc) {
  tile(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc, false);
}

void tile_rows_portable(int64_t kc, const float* ap, const float* const* rows, int64_t col, float* c, int64_t ldc) {
  tile(kc, [=](int64_t k, int r) { return ap[k * kMR + r]; }, [=](int64_t k) { return rows[k] + col; }, c, ldc, false);
}

void tile_row_major_a_portable(int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                               int64_t ldc, bool accumulate) {
  tile(kc, [=](int64_t k, int r) { return a[r * lda + k]; }, [=](int64_t k) { return b + k * ldb; }, c, ldc,
       accumulate);
}

}  // namespace

DotTileKernel dot_tile_portable() {
  return {kMR, kNR, &tile_portable, &tile_rows_portable, &tile_row_major_a_portable};
}

DotTileKernel dot_tile_kernel(CpuIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == CpuIsa::avx512) return dot_tile_avx512();
  if (isa == CpuIsa::avx2) return dot_tile_avx2();
#endif
  return dot_tile_portable();
}

DotTileKernel dot_tile_kernel() { return dot_tile_kernel(cpu_isa_active()); }

}  // namespace detnn::kernels
