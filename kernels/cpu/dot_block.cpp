#include "kernels/cpu/dot_block.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/isa_versions.h"

namespace detnn::kernels {

namespace {
constexpr int kNR = kDotTileColumns;
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

int64_t packed_a_size(int64_t rows, int64_t kc, int mr) { return ceil_div(rows, mr) * mr * kc; }

void pack_a_panels(const float* a, int64_t lda, bool transposed, int64_t rows, int64_t kc, int mr,
                   float* dst, int64_t panel_stride) {
  for (int64_t i0 = 0; i0 < rows; i0 += mr) {
    const int64_t valid = std::min<int64_t>(mr, rows - i0);
    float* d = dst + (i0 / mr) * panel_stride;
    if (transposed) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + k * lda + i0;
        for (int64_t r = 0; r < valid; ++r) d[k * mr + r] = src[r];
        for (int64_t r = valid; r < mr; ++r) d[k * mr + r] = 0.0f;
      }
      continue;
    }
    // A transpose in tiles of 16 terms, which stay in L1 between the reads and the writes.
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t k1 = std::min(kc, k0 + 16);
      for (int64_t r = 0; r < valid; ++r) {
        const float* src = a + (i0 + r) * lda;
        for (int64_t k = k0; k < k1; ++k) d[k * mr + r] = src[k];
      }
      for (int64_t r = valid; r < mr; ++r)
        for (int64_t k = k0; k < k1; ++k) d[k * mr + r] = 0.0f;
    }
  }
}

void pack_b_panels(const float* b, int64_t ldb, bool transposed, int64_t cols, int64_t kc, float* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += kNR) {
    const int64_t valid = std::min<int64_t>(kNR, cols - j0);
    float* d = dst + (j0 / kNR) * kc * kNR;
    if (!transposed) {
      for (int64_t k = 0; k < kc; ++k) {
        std::memcpy(d + k * kNR, b + k * ldb + j0, sizeof(float) * valid);
        std::fill(d + k * kNR + valid, d + (k + 1) * kNR, 0.0f);
      }
      continue;
    }
    transpose_matrix(b + j0 * ldb, valid, kc, ldb, d, kNR);
    for (int64_t j = valid; j < kNR; ++j)
      for (int64_t k = 0; k < kc; ++k) d[k * kNR + j] = 0.0f;
  }
}

namespace {
inline void transpose_matrix_body(const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst,
                                  int64_t ldd) {
  constexpr int64_t kTile = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * ldd + r] = src[r * lds + c];
    }
}
}  // namespace

DETNN_CPU_VERSIONS(transpose_matrix, (const float* src, int64_t rows, int64_t cols, int64_t lds, float* dst, int64_t ldd),
                   (src, rows, cols, lds, dst, ldd))

void dot_block(const DotTileKernel& kern, int64_t m, int64_t n, int64_t kc, const float* ap,
               const DotB& b, float* c, int64_t ldc, int64_t a_panel_stride) {
  const int mr = kern.mr;
  if (a_panel_stride == 0) a_panel_stride = kc * mr;
  thread_local std::vector<float> edge_panel;
  alignas(64) float tile[16 * kNR];  // every kernel's mr is at most 16
  // The larger operand's panels outside, so that each of its panels is read once and the
  // smaller operand's panels are reread from cache.
  if (m > n && m > mr) {
    for (int64_t i0 = 0; i0 < m; i0 += mr) {
      const int64_t rows = std::min<int64_t>(mr, m - i0);
      dot_block(kern, rows, n, kc, ap + (i0 / mr) * a_panel_stride, b, c + i0 * ldc, ldc, a_panel_stride);
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kNR) {
    const int64_t cols = std::min<int64_t>(kNR, n - j0);
    const bool table = b.rows != nullptr;
    const float* bp = table ? nullptr : b.data + (j0 / kNR) * b.panel_stride;
    int64_t ldb = b.ldb;
    bool use_table = table;
    if (cols < kNR && !b.padded) {
      edge_panel.assign(static_cast<size_t>(kc * kNR), 0.0f);
      for (int64_t k = 0; k < kc; ++k)
        std::memcpy(&edge_panel[k * kNR], table ? b.rows[k] + b.col0 + j0 : bp + k * ldb, sizeof(float) * cols);
      bp = edge_panel.data();
      ldb = kNR;
      use_table = false;
    }
    auto run = [&](const float* a, float* out, int64_t ld) {
      if (use_table)
        kern.run_rows(kc, a, b.rows, b.col0 + j0, out, ld);
      else
        kern.run(kc, a, bp, ldb, out, ld);
    };
    for (int64_t i0 = 0; i0 < m; i0 += mr) {
      const int64_t rows = std::min<int64_t>(mr, m - i0);
      const float* a = ap + (i0 / mr) * a_panel_stride;
      float* out = c + i0 * ldc + j0;
      if (rows == mr && cols == kNR) {
        run(a, out, ldc);
        continue;
      }
      run(a, tile, kNR);
      for (int64_t r = 0; r < rows; ++r) std::memcpy(out + r * ldc, tile + r * kNR, sizeof(float) * cols);
    }
  }
}

void dot_block_row_major_a(const DotTileKernel& kern, int64_t m, int64_t n, int64_t kc, const float* a, int64_t lda,
                           const DotB& b, float* c, int64_t ldc, bool accumulate) {
  const int mr = kern.mr;
  thread_local std::vector<float> edge_rows, edge_panel;
  alignas(64) float tile[16 * kNR] = {};  // every kernel's mr is at most 16
  for (int64_t i0 = 0; i0 < m; i0 += mr) {
    const int64_t rows = std::min<int64_t>(mr, m - i0);
    const float* ar = a + i0 * lda;
    int64_t ld = lda;
    if (rows < mr) {  // the last rows, zero-padded to a whole panel
      edge_rows.assign(static_cast<size_t>(mr * kc), 0.0f);
      for (int64_t r = 0; r < rows; ++r) std::memcpy(&edge_rows[r * kc], ar + r * lda, sizeof(float) * kc);
      ar = edge_rows.data();
      ld = kc;
    }
    for (int64_t j0 = 0; j0 < n; j0 += kNR) {
      const int64_t cols = std::min<int64_t>(kNR, n - j0);
      const float* bp = b.data + j0;
      int64_t ldb = b.ldb;
      if (cols < kNR && !b.padded) {
        edge_panel.assign(static_cast<size_t>(kc * kNR), 0.0f);
        for (int64_t k = 0; k < kc; ++k) std::memcpy(&edge_panel[k * kNR], bp + k * ldb, sizeof(float) * cols);
        bp = edge_panel.data();
        ldb = kNR;
      }
      float* out = c + i0 * ldc + j0;
      if (rows == mr && cols == kNR) {
        kern.run_row_major_a(kc, ar, ld, bp, ldb, out, ldc, accumulate);
        continue;
      }
      if (accumulate)
        for (int64_t r = 0; r < rows; ++r) std::memcpy(tile + r * kNR, out + r * ldc, sizeof(float) * cols);
      kern.run_row_major_a(kc, ar, ld, bp, ldb, tile, kNR, accumulate);
      for (int64_t r = 0; r < rows; ++r) std::memcpy(out + r * ldc, tile + r * kNR, sizeof(float) * cols);
    }
  }
}

}  // namespace detnn::kernels
