// CPU convolution: the reference the strict CUDA kernels match bit for bit (kernels/conv2d.h).
//
// Every pass is "gather a matrix, then run one fmaf chain per output over its K":
//  - forward:         Y[co][p]  = chain_k W[co][k] * Col[k][p],   k = (ci, kh, kw)  (im2col)
//  - backward-data:   DX[ci][q] = chain_k Wt[ci][k] * D[k][q],     k = (co, kh, kw), D[k][q] =
//                     dy where pixel q's tap lands, 0 where it lands on no output (unit width
//                     stride: row k is a shifted window of a zero-bordered dy row; else gathered)
//  - backward-filter: DWt[k][co] = chain_{n,p} Col_n[k][p] * DYt_n[p][co] over the chunk's samples,
//                     the accumulator kept in memory from one sample to the next.
// The gathered zeros (padding, non-landing taps) are the zero products of the contract.
// Contract 2 (DESIGN §3): "chain" above is the K-leaf rule — the K terms in that order cut into
// leaves of kDotLeaf, each leaf one chain from 0.0f (chain_gemm over the leaf's K range), the
// leaves combined pairwise per output (LeafCombiner); the bias is added to the combined value.
// chain_gemm vectorizes across output columns only; its K loop is sequential. Threads split
// outputs (samples, pixel blocks, chunks, K rows of the filter gradient), never a leaf.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kernels/canonical_sum.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/leaf_combiner.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

// ---------------------------------------------------------------------------------------------
// Parameters

int64_t Conv2dParams::output_extent(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                    int64_t dilation) {
  if (stride < 1) return 0;
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  return span / stride + 1;
}

void Conv2dParams::validate_extents() const {
  // Sizes far beyond any image keep the output-size arithmetic (in + 2 * pad - dilation * ...)
  // inside int64 (a padding of 2^62 once trained silently on wrapped-around sizes).
  constexpr int64_t kMaxExtent = int64_t{1} << 24;
  for (const auto& [name, v] : {std::pair{"in_h", in_h}, {"in_w", in_w}, {"kernel_h", kernel_h}, {"kernel_w", kernel_w},
                                {"stride_h", stride_h}, {"stride_w", stride_w}, {"pad_h", pad_h}, {"pad_w", pad_w},
                                {"dilation_h", dilation_h}, {"dilation_w", dilation_w}})
    DETNN_CHECK(v <= kMaxExtent, invalid_argument, "conv2d: ", name, " must be at most 2^24, got ", v);
}

void Conv2dParams::validate() const {
  validate_extents();
  DETNN_CHECK(batch >= 0, invalid_argument, "conv2d: batch must be >= 0, got ", batch);
  DETNN_CHECK(in_channels >= 1, invalid_argument, "conv2d: in_channels must be >= 1, got ", in_channels);
  DETNN_CHECK(out_channels >= 1, invalid_argument, "conv2d: out_channels must be >= 1, got ", out_channels);
  DETNN_CHECK(in_h >= 1, invalid_argument, "conv2d: in_h must be >= 1, got ", in_h);
  DETNN_CHECK(in_w >= 1, invalid_argument, "conv2d: in_w must be >= 1, got ", in_w);
  DETNN_CHECK(kernel_h >= 1, invalid_argument, "conv2d: kernel_h must be >= 1, got ", kernel_h);
  DETNN_CHECK(kernel_w >= 1, invalid_argument, "conv2d: kernel_w must be >= 1, got ", kernel_w);
  DETNN_CHECK(stride_h >= 1, invalid_argument, "conv2d: stride_h must be >= 1, got ", stride_h);
  DETNN_CHECK(stride_w >= 1, invalid_argument, "conv2d: stride_w must be >= 1, got ", stride_w);
  DETNN_CHECK(pad_h >= 0, invalid_argument, "conv2d: pad_h must be >= 0, got ", pad_h);
  DETNN_CHECK(pad_w >= 0, invalid_argument, "conv2d: pad_w must be >= 0, got ", pad_w);
  DETNN_CHECK(dilation_h >= 1, invalid_argument, "conv2d: dilation_h must be >= 1, got ", dilation_h);
  DETNN_CHECK(dilation_w >= 1, invalid_argument, "conv2d: dilation_w must be >= 1, got ", dilation_w);
  DETNN_CHECK(groups >= 1, invalid_argument, "conv2d: groups must be >= 1, got ", groups);
  DETNN_CHECK(in_channels % groups == 0, invalid_argument, "conv2d: groups (", groups,
              ") must divide in_channels (", in_channels, ")");
  DETNN_CHECK(out_channels % groups == 0, invalid_argument, "conv2d: groups (", groups,
              ") must divide out_channels (", out_channels, ")");
  DETNN_CHECK(out_h() >= 1, invalid_argument, "conv2d: output height must be >= 1, got ", out_h(),
              " (in_h ", in_h, ", kernel_h ", kernel_h, ", stride_h ", stride_h, ", pad_h ", pad_h,
              ", dilation_h ", dilation_h, ")");
  DETNN_CHECK(out_w() >= 1, invalid_argument, "conv2d: output width must be >= 1, got ", out_w(),
              " (in_w ", in_w, ", kernel_w ", kernel_w, ", stride_w ", stride_w, ", pad_w ", pad_w,
              ", dilation_w ", dilation_w, ")");
}

int64_t conv2d_chunks(const Conv2dParams& p, int64_t chunk_size) {
  DETNN_CHECK(chunk_size >= 1, invalid_argument, "conv2d: chunk_size must be >= 1, got ", chunk_size);
  DETNN_CHECK(p.batch % chunk_size == 0, invalid_argument, "conv2d: batch (", p.batch,
              ") must be a multiple of chunk_size (", chunk_size, ")");
  return p.batch / chunk_size;
}

namespace {

// ---------------------------------------------------------------------------------------------
// chain_gemm: C[m][j] = chain over k = 0..K-1 of fmaf(A[m][k], B[k][j], acc), acc starting at
// 0.0f, or at C[m][j] when `accumulate` (continuing a chain across calls); then C = acc + bias[m]
// when bias != nullptr. Vectorized across j; the k loop is the chain.

#if defined(__AVX512F__)
constexpr int kVec = 16;
constexpr int kRows = 8;
using Vec = __m512;
struct Mask {
  __mmask16 m;
};
inline Mask tail_mask(int n) { return {static_cast<__mmask16>((1u << n) - 1u)}; }
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline Vec vload(const float* p, Mask k) { return _mm512_maskz_loadu_ps(k.m, p); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline void vstore(float* p, Vec v, Mask k) { _mm512_mask_storeu_ps(p, k.m, v); }
inline Vec vset1(float x) { return _mm512_set1_ps(x); }
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kVec = 8;
constexpr int kRows = 4;
using Vec = __m256;
struct Mask {
  __m256i m;
};
inline Mask tail_mask(int n) {
  return {_mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))};
}
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline Vec vload(const float* p, Mask k) { return _mm256_maskload_ps(p, k.m); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline void vstore(float* p, Vec v, Mask k) { _mm256_maskstore_ps(p, k.m, v); }
inline Vec vset1(float x) { return _mm256_set1_ps(x); }
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
#else
// Portable fallback: one lane, the same chains.
constexpr int kVec = 1;
constexpr int kRows = 4;
using Vec = float;
struct Mask {
  int n;
};
inline Mask tail_mask(int n) { return {n}; }
inline Vec vload(const float* p) { return *p; }
inline Vec vload(const float* p, Mask k) { return k.n > 0 ? *p : 0.0f; }
inline void vstore(float* p, Vec v) { *p = v; }
inline void vstore(float* p, Vec v, Mask k) {
  if (k.n > 0) *p = v;
}
inline Vec vset1(float x) { return x; }
inline Vec vzero() { return 0.0f; }
inline Vec vfma(Vec a, Vec b, Vec c) { return std::fma(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return a + b; }
#endif

// Row k of the B operand: a dense matrix (base + k * ld), or a table of row pointers (an
// implicit GEMM whose rows are shifted windows of a padded plane).
struct BRows {
  const float* base = nullptr;
  int64_t ld = 0;
  const float* const* table = nullptr;
  const float* row(int64_t k) const { return table ? table[k] : base + k * ld; }
  // The rows from k0 on (a K-leaf's part of the operand).
  BRows from(int64_t k0) const { return table ? BRows{nullptr, 0, table + k0} : BRows{base + k0 * ld, ld, nullptr}; }
};

// R rows x NV vectors of C starting at column j; the last vector is masked to `tail` columns
// when tail > 0.
template <int R, int NV>
void chain_tile(int64_t K, const float* A, int64_t lda, const BRows& B, int64_t j, float* C,
                int64_t ldc, bool accumulate, const float* bias, int tail) {
  const Mask mask = tail_mask(tail > 0 ? tail : kVec);
  auto load = [&](const float* p, int v) { return (tail > 0 && v == NV - 1) ? vload(p, mask) : vload(p); };
  Vec acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = accumulate ? load(C + r * ldc + v * kVec, v) : vzero();
  for (int64_t k = 0; k < K; ++k) {
    const float* brow = B.row(k) + j;
    Vec b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(brow + v * kVec, v);
    for (int r = 0; r < R; ++r) {
      const Vec a = vset1(A[r * lda + k]);
      for (int v = 0; v < NV; ++v) acc[r][v] = vfma(a, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      Vec out = bias ? vadd(acc[r][v], vset1(bias[r])) : acc[r][v];
      if (tail > 0 && v == NV - 1)
        vstore(C + r * ldc + v * kVec, out, mask);
      else
        vstore(C + r * ldc + v * kVec, out);
    }
}

template <int NV>
void chain_rows(int rows, int64_t K, const float* A, int64_t lda, const BRows& B, int64_t j,
                float* C, int64_t ldc, bool accumulate, const float* bias, int tail) {
  static_assert(kRows <= 8);
  switch (rows) {
#define DETNN_CONV_ROWS(R) \
  case R: return chain_tile<R, NV>(K, A, lda, B, j, C, ldc, accumulate, bias, tail);
    DETNN_CONV_ROWS(1) DETNN_CONV_ROWS(2) DETNN_CONV_ROWS(3) DETNN_CONV_ROWS(4)
    DETNN_CONV_ROWS(5) DETNN_CONV_ROWS(6) DETNN_CONV_ROWS(7) DETNN_CONV_ROWS(8)
#undef DETNN_CONV_ROWS
  }
}

void chain_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const BRows& B,
                float* C, int64_t ldc, bool accumulate, const float* bias) {
  constexpr int64_t kCols = 2 * kVec;
  for (int64_t j = 0; j < N; j += kCols) {
    const int64_t width = std::min<int64_t>(kCols, N - j);
    const int nv = static_cast<int>((width + kVec - 1) / kVec);
    const int tail = static_cast<int>(width % kVec);
    for (int64_t m = 0; m < M; m += kRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kRows, M - m));
      const float* a = A + m * lda;
      float* c = C + m * ldc + j;
      const float* bi = bias ? bias + m : nullptr;
      if (nv == 2)
        chain_rows<2>(rows, K, a, lda, B, j, c, ldc, accumulate, bi, tail);
      else
        chain_rows<1>(rows, K, a, lda, B, j, c, ldc, accumulate, bi, tail);
    }
  }
}

// C = the K-leaf rule over k = 0..K-1 of A[m][k] * B[k][j] (+ bias[m] after the combine).
void leaf_gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const BRows& B, float* C,
               int64_t ldc, const float* bias) {
  if (K <= kDotLeaf) {
    chain_gemm(M, N, K, A, lda, B, C, ldc, false, bias);
    return;
  }
  LeafCombiner leaves(M * N);
  for (int64_t k0 = 0; k0 < K; k0 += kDotLeaf) {
    chain_gemm(M, N, std::min(kDotLeaf, K - k0), A + k0, lda, B.from(k0), leaves.next_leaf(), N, false, nullptr);
    leaves.push();
  }
  const float* sum = leaves.result();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < N; ++j) C[m * ldc + j] = bias ? sum[m * N + j] + bias[m] : sum[m * N + j];
}

// ---------------------------------------------------------------------------------------------
// Gathers

struct Geometry {
  int64_t N, C, H, W, Co, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, G, Cig, Cog;
  explicit Geometry(const Conv2dParams& p)
      : N(p.batch), C(p.in_channels), H(p.in_h), W(p.in_w), Co(p.out_channels), OH(p.out_h()),
        OW(p.out_w()), KH(p.kernel_h), KW(p.kernel_w), sh(p.stride_h), sw(p.stride_w),
        ph(p.pad_h), pw(p.pad_w), dh(p.dilation_h), dw(p.dilation_w), G(p.groups),
        Cig(p.in_channels_per_group()), Cog(p.out_channels_per_group()) {}
  int64_t khw() const { return KH * KW; }
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// First and one-past-last output column ow whose input column ow*sw - pw + off lies in [0, W).
void valid_columns(const Geometry& g, int64_t off, int64_t* lo, int64_t* hi) {
  *lo = std::clamp<int64_t>(ceil_div(std::max<int64_t>(g.pw - off, 0), g.sw), 0, g.OW);
  *hi = std::clamp<int64_t>(floor_div(g.W - 1 + g.pw - off, g.sw) + 1, *lo, g.OW);
}

// Col[k][(oh - oh0) * OW + ow] for k = (ci, kh, kw) of group `grp`, output rows [oh0, oh1):
// the input value at the tap, 0 in the padding. `k_begin..k_end` selects rows of Col.
void im2col(const Geometry& g, const float* x_sample, int64_t grp, int64_t oh0, int64_t oh1,
            int64_t k_begin, int64_t k_end, float* col) {
  const int64_t width = (oh1 - oh0) * g.OW;
  for (int64_t k = k_begin; k < k_end; ++k) {
    const int64_t ci = k / g.khw(), kh = (k / g.KW) % g.KH, kw = k % g.KW;
    const float* plane = x_sample + (grp * g.Cig + ci) * g.H * g.W;
    float* row = col + (k - k_begin) * width;
    int64_t lo, hi;
    valid_columns(g, kw * g.dw, &lo, &hi);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      float* out = row + (oh - oh0) * g.OW;
      const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
      if (ih < 0 || ih >= g.H) {
        std::fill(out, out + g.OW, 0.0f);
        continue;
      }
      const int64_t base = ih * g.W - g.pw + kw * g.dw;  // plane[base + ow*sw], ow in [lo, hi)
      std::fill(out, out + lo, 0.0f);
      if (g.sw == 1)
        std::memcpy(out + lo, plane + base + lo, sizeof(float) * (hi - lo));
      else
        for (int64_t ow = lo; ow < hi; ++ow) out[ow] = plane[base + ow * g.sw];
      std::fill(out + hi, out + g.OW, 0.0f);
    }
  }
}

// Dcol[k][(ih - ih0) * W + iw] for k = (co, kh, kw) of group `grp`, input rows [ih0, ih1):
// dy at the output the tap lands on, 0 where it lands on none.
void gather_dy(const Geometry& g, const float* dy_sample, int64_t grp, int64_t ih0, int64_t ih1,
               float* dcol) {
  const int64_t width = (ih1 - ih0) * g.W;
  const int64_t kd = g.Cog * g.khw();
  for (int64_t k = 0; k < kd; ++k) {
    const int64_t co = k / g.khw(), kh = (k / g.KW) % g.KH, kw = k % g.KW;
    const float* plane = dy_sample + (grp * g.Cog + co) * g.OH * g.OW;
    float* row = dcol + k * width;
    int64_t lo, hi;  // the output columns the taps of this kw land on
    valid_columns(g, kw * g.dw, &lo, &hi);
    for (int64_t ih = ih0; ih < ih1; ++ih) {
      float* out = row + (ih - ih0) * g.W;
      std::fill(out, out + g.W, 0.0f);
      const int64_t th = ih + g.ph - kh * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
      const float* in = plane + (th / g.sh) * g.OW;
      for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.sw - g.pw + kw * g.dw] = in[ow];
    }
  }
}

// Rows per block so that a gathered block (k_rows x rows*width) stays around 256 KiB.
int64_t rows_per_block(int64_t k_rows, int64_t width, int64_t total_rows) {
  const int64_t target = std::max<int64_t>(65536 / std::max<int64_t>(k_rows, 1), 64);
  return std::clamp<int64_t>(target / width, 1, total_rows);
}

// Backward-data for unit width stride: B row (co, kh, kw) of input row ih is a shifted window
// of dy row oh = (ih + ph - kh*dh) / sh, read from a zero-bordered copy of the group's dy planes
// (a zero row where the tap lands on no output row). No gathered matrix.
void backward_data_shifted(const Geometry& g, const float* dy, const float* wt, float* dx) {
  const int64_t kd = g.Cog * g.khw(), hw = g.H * g.W;
  const int64_t left = std::max<int64_t>(0, (g.KW - 1) * g.dw - g.pw);
  const int64_t right = std::max<int64_t>(0, g.W + g.pw - g.OW);
  const int64_t row_len = left + g.OW + right;
  const int64_t units = g.N * g.G;
  const int64_t splits = std::clamp<int64_t>(ceil_div(2 * num_threads(), std::max<int64_t>(units, 1)), 1, g.H);
  const int64_t rows = ceil_div(g.H, splits);
  const int64_t blocks = ceil_div(g.H, rows);
  cpu_thread_pool().parallel_for(units * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(static_cast<size_t>((g.Cog * g.OH + 1) * row_len));
    std::vector<const float*> table(static_cast<size_t>(kd));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / (g.G * blocks), grp = (item / blocks) % g.G;
      const int64_t ih0 = (item % blocks) * rows, ih1 = std::min(ih0 + rows, g.H);
      std::fill(padded.begin(), padded.end(), 0.0f);  // the last row stays all zeros
      const float* zero_row = &padded[g.Cog * g.OH * row_len];
      for (int64_t co = 0; co < g.Cog; ++co)
        for (int64_t oh = 0; oh < g.OH; ++oh)
          std::memcpy(&padded[(co * g.OH + oh) * row_len + left],
                      dy + ((n * g.Co + grp * g.Cog + co) * g.OH + oh) * g.OW, sizeof(float) * g.OW);
      for (int64_t ih = ih0; ih < ih1; ++ih) {
        const float** entry = table.data();  // k = (co, kh, kw) in order
        for (int64_t co = 0; co < g.Cog; ++co)
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            const int64_t th = ih + g.ph - kh * g.dh;
            const bool lands = th >= 0 && th % g.sh == 0 && th / g.sh < g.OH;
            const float* row = lands ? &padded[(co * g.OH + th / g.sh) * row_len] : zero_row;
            for (int64_t kw = 0; kw < g.KW; ++kw)
              *entry++ = row + left + g.pw - kw * g.dw;  // element iw: dy column iw + pw - kw*dw
          }
        leaf_gemm(g.Cig, g.W, kd, wt + grp * g.Cig * kd, kd, BRows{nullptr, 0, table.data()},
                  dx + (n * g.C + grp * g.Cig) * hw + ih * g.W, hw, nullptr);
      }
    }
  });
}

// Backward-data for any stride: dy gathered onto blocks of input pixels (gather_dy).
void backward_data_gathered(const Geometry& g, const float* dy, const float* wt, float* dx) {
  const int64_t kd = g.Cog * g.khw(), hw = g.H * g.W;
  const int64_t rows = rows_per_block(kd, g.W, g.H);
  const int64_t blocks = ceil_div(g.H, rows);
  cpu_thread_pool().parallel_for(g.N * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> dcol(static_cast<size_t>(kd * rows * g.W));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, ih0 = (item % blocks) * rows;
      const int64_t ih1 = std::min(ih0 + rows, g.H), width = (ih1 - ih0) * g.W;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        gather_dy(g, dy + n * g.Co * g.OH * g.OW, grp, ih0, ih1, dcol.data());
        leaf_gemm(g.Cig, width, kd, wt + grp * g.Cig * kd, kd, BRows{dcol.data(), width, nullptr},
                  dx + (n * g.C + grp * g.Cig) * hw + ih0 * g.W, hw, nullptr);
      }
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Forward

void conv2d_forward_cpu(const Conv2dParams& p, const float* x, const float* w, const float* bias,
                        float* y) {
  p.validate();
  const Geometry g(p);
  const int64_t kf = p.filter_size(), ohw = g.OH * g.OW;
  const int64_t rows = rows_per_block(kf, g.OW, g.OH);
  const int64_t blocks = ceil_div(g.OH, rows);
  cpu_thread_pool().parallel_for(g.N * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> col(static_cast<size_t>(kf * rows * g.OW));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, oh0 = (item % blocks) * rows;
      const int64_t oh1 = std::min(oh0 + rows, g.OH), width = (oh1 - oh0) * g.OW;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        im2col(g, x + n * g.C * g.H * g.W, grp, oh0, oh1, 0, kf, col.data());
        leaf_gemm(g.Cog, width, kf, w + grp * g.Cog * kf, kf, BRows{col.data(), width, nullptr},
                  y + (n * g.Co + grp * g.Cog) * ohw + oh0 * g.OW, ohw, bias ? bias + grp * g.Cog : nullptr);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Backward-data

void conv2d_backward_data_cpu(const Conv2dParams& p, const float* dy, const float* w, float* dx) {
  p.validate();
  if (p.batch == 0) return;
  const Geometry g(p);
  const int64_t khw = g.khw();
  // Wt[grp][ci][(co, kh, kw)] = w[grp*Cog + co][ci][kh][kw]: row ci of the backward-data GEMM.
  std::vector<float> wt(static_cast<size_t>(p.weight_size()));
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t ci = 0; ci < g.Cig; ++ci)
      for (int64_t co = 0; co < g.Cog; ++co)
        std::memcpy(&wt[((grp * g.Cig + ci) * g.Cog + co) * khw],
                    w + ((grp * g.Cog + co) * g.Cig + ci) * khw, sizeof(float) * khw);
  if (g.sw == 1)
    backward_data_shifted(g, dy, wt.data(), dx);
  else
    backward_data_gathered(g, dy, wt.data(), dx);
}

// ---------------------------------------------------------------------------------------------
// Backward-filter

void conv2d_backward_filter_partials_cpu(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                         const float* dy, float* dw_partials, float* db_partials) {
  p.validate();
  const int64_t chunks = conv2d_chunks(p, chunk_size);
  const Geometry g(p);
  const int64_t kf = p.filter_size(), ohw = g.OH * g.OW;
  // Split each (chunk, group) into blocks of K rows so that every thread has work even with
  // one chunk; each block gathers only its own rows of Col.
  const int64_t units = chunks * g.G;
  const int64_t want_blocks = ceil_div(2 * num_threads(), std::max<int64_t>(units, 1));
  const int64_t k_rows = std::max<int64_t>(ceil_div(kf, want_blocks), std::min<int64_t>(kf, 16));
  const int64_t k_blocks = ceil_div(kf, k_rows);
  cpu_thread_pool().parallel_for(units * k_blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> col(static_cast<size_t>(k_rows * ohw));
    std::vector<float> dyt(static_cast<size_t>(ohw * g.Cog));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / (g.G * k_blocks), grp = (item / k_blocks) % g.G;
      const int64_t k0 = (item % k_blocks) * k_rows, k1 = std::min(k0 + k_rows, kf);
      // DWt[k][co] of the block: the chunk's terms t = (s, q) in order, cut into K-leaves that
      // may start and end inside a sample; a leaf goes on from one sample to the next.
      LeafCombiner leaves((k1 - k0) * g.Cog);
      float* leaf = leaves.next_leaf();
      int64_t t = 0;
      for (int64_t s = 0; s < chunk_size; ++s) {
        const int64_t n = c * chunk_size + s;
        im2col(g, x + n * g.C * g.H * g.W, grp, 0, g.OH, k0, k1, col.data());
        const float* dy_group = dy + (n * g.Co + grp * g.Cog) * ohw;
        for (int64_t co = 0; co < g.Cog; ++co)
          for (int64_t q = 0; q < ohw; ++q) dyt[q * g.Cog + co] = dy_group[co * ohw + q];
        for (int64_t q0 = 0; q0 < ohw;) {
          const int64_t in_leaf = t % kDotLeaf, q1 = std::min(ohw, q0 + (kDotLeaf - in_leaf));
          chain_gemm(k1 - k0, g.Cog, q1 - q0, col.data() + q0, ohw, BRows{dyt.data() + q0 * g.Cog, g.Cog, nullptr},
                     leaf, g.Cog, in_leaf > 0, nullptr);
          t += q1 - q0;
          q0 = q1;
          if (t % kDotLeaf == 0) {
            leaves.push();
            leaf = leaves.next_leaf();
          }
        }
      }
      if (t % kDotLeaf != 0) leaves.push();  // the short last leaf
      const float* acc = leaves.result();
      float* out = dw_partials + (c * g.Co + grp * g.Cog) * kf;
      for (int64_t co = 0; co < g.Cog; ++co)
        for (int64_t k = k0; k < k1; ++k) out[co * kf + k] = acc[(k - k0) * g.Cog + co];
    }
  });
  if (db_partials) {
    // Element i of channel co inside chunk c: dy[c*chunk + i / ohw][co][i % ohw].
    const SumLayout layout{g.Co, chunk_size * ohw, ohw, g.Co * ohw, ohw};
    for (int64_t c = 0; c < chunks; ++c)
      canonical_sum_cpu(dy + c * chunk_size * g.Co * ohw, db_partials + c * g.Co, layout);
  }
}

void conv2d_backward_filter_cpu(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                const float* dy, float* dw, float* db) {
  p.validate();
  const int64_t chunks = conv2d_chunks(p, chunk_size);
  std::vector<float> dw_partials(static_cast<size_t>(chunks * p.weight_size()));
  std::vector<float> db_partials(db ? static_cast<size_t>(chunks * p.out_channels) : 0);
  conv2d_backward_filter_partials_cpu(p, chunk_size, x, dy, dw_partials.data(),
                                      db ? db_partials.data() : nullptr);
  combine_chunk_partials_cpu(dw_partials.data(), chunks, p.weight_size(), dw);
  if (db) combine_chunk_partials_cpu(db_partials.data(), chunks, p.out_channels, db);
}

}  // namespace detnn::kernels
