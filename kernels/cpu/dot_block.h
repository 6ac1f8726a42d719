// A block of dot products on the CPU microkernels (kernels/cpu/dot_tile.h): the loop every
// GEMM and convolution pass shares. C[i][j] = one fmaf chain from 0.0f over the kc terms of
// row i of A and column j of B, in order — one K-leaf of the contract (DESIGN §3); callers cut
// K into leaves and combine them (LeafCombiner). Single-threaded: callers split the outputs.
#pragma once

#include <cstdint>

#include "kernels/cpu/dot_tile.h"

namespace detnn::kernels {

// The B operand: row k of column panel jp (kDotTileColumns columns) at
// data + jp * panel_stride + k * ldb. A dense row-major B has panel_stride = kDotTileColumns and
// ldb its row length; packed panels ([kc][kDotTileColumns] each) have ldb = kDotTileColumns.
// `padded`: every panel may be read for kDotTileColumns columns (zeros past n); when false the
// last, narrower panel is copied into a zero-padded one first.
// Or, with `rows` set, row k of B is rows[k] + col0 (column j at rows[k][col0 + j]); `padded`
// then says every row may be read up to a whole panel past n.
struct DotB {
  const float* data = nullptr;
  int64_t ldb = 0;
  int64_t panel_stride = kDotTileColumns;
  bool padded = false;
  const float* const* rows = nullptr;
  int64_t col0 = 0;
};

// C (m x n, rows ldc apart) = A · B over kc terms. `ap`: A packed by pack_a_panels for the same
// kernel, panel ip at ap + ip * a_panel_stride (0: kc * kern.mr, panels back to back). kc >= 1.
void dot_block(const DotTileKernel& kern, int64_t m, int64_t n, int64_t kc, const float* ap,
               const DotB& b, float* c, int64_t ldc, int64_t a_panel_stride = 0);

// The same with A read in place (row i at a + i * lda, terms contiguous) and B a strided matrix
// (b.data, b.ldb); `accumulate`: every chain goes on from the value in c.
void dot_block_row_major_a(const DotTileKernel& kern, int64_t m, int64_t n, int64_t kc, const float* a, int64_t lda,
                           const DotB& b, float* c, int64_t ldc, bool accumulate);

// Packs rows [0, rows) x terms [0, kc) of A into kern.mr-row panels, each [kc][mr], the rows of
// the last panel past `rows` zero. Element (i, k) is a[i * lda + k], or a[k * lda + i] when
// `transposed`. dst holds packed_a_size(rows, kc, mr) floats; panel ip starts at ip * panel_stride
// (>= kc * mr; a caller filling a panel in several term ranges passes its capacity).
void pack_a_panels(const float* a, int64_t lda, bool transposed, int64_t rows, int64_t kc, int mr,
                   float* dst, int64_t panel_stride);
int64_t packed_a_size(int64_t rows, int64_t kc, int mr);

// Packs columns [0, cols) x terms [0, kc) of B into panels of kDotTileColumns, each [kc][16],
// zeros past `cols`. Element (k, j) is b[k * ldb + j], or b[j * ldb + k] when `transposed`.
void pack_b_panels(const float* b, int64_t ldb, bool transposed, int64_t cols, int64_t kc, float* dst);

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, in 16 x 16 tiles that stay in L1.
void transpose_matrix(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd);

}  // namespace detnn::kernels
