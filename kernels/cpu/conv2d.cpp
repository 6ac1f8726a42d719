// CPU convolution: the reference the strict CUDA kernels match bit for bit (kernels/conv2d.h).
//
// Every pass is "gather a matrix, then run one fmaf chain per output over its K":
//  - forward:         Y[co][p]  = chain_k W[co][k] * Col[k][p],   k = (ci, kh, kw)  (im2col)
//  - backward-data:   DX[ci][q] = chain_k Wt[ci][k] * D[k][q],     k = (co, kh, kw), D[k][q] =
//                     dy where pixel q's tap lands, 0 where it lands on no output (gather_dy)
//  - backward-filter: DWt[k][co] = chain_{s,p} Col_s[k][p] * dy_s[co][p] over the chunk's samples
// The gathered zeros (padding, non-landing taps) are the zero products of the contract.
// Contract 2 (DESIGN §3): "chain" above is the K-leaf rule — the K terms in that order cut into
// leaves of kDotLeaf, each leaf one chain from 0.0f, the leaves combined pairwise per output
// (LeafCombiner); the bias is added to the combined value. A leaf is one dot_block on the
// microkernels (kernels/cpu/dot_block.h), which vectorize across output columns only. Threads
// split outputs (samples, pixel blocks, chunks, K rows of the filter gradient), never a leaf.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/canonical_sum.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/dot_block.h"
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
// the input value at the tap, 0 in the padding. `k_begin..k_end` selects rows of Col; rows are
// `ld` floats apart (0: the row length).
void im2col(const Geometry& g, const float* x_sample, int64_t grp, int64_t oh0, int64_t oh1,
            int64_t k_begin, int64_t k_end, float* col, int64_t ld = 0) {
  const int64_t width = ld > 0 ? ld : (oh1 - oh0) * g.OW;
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
    const int64_t shift = kw * g.dw - g.pw;  // output column ow lands on input column ow*sw + shift
    for (int64_t ih = ih0; ih < ih1; ++ih) {
      float* out = row + (ih - ih0) * g.W;
      const int64_t th = ih + g.ph - kh * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH || lo >= hi) {
        std::fill(out, out + g.W, 0.0f);
        continue;
      }
      const float* in = plane + (th / g.sh) * g.OW;
      if (g.sw == 1) {
        std::fill(out, out + lo + shift, 0.0f);
        std::memcpy(out + lo + shift, in + lo, sizeof(float) * (hi - lo));
        std::fill(out + hi + shift, out + g.W, 0.0f);
      } else {
        std::fill(out, out + g.W, 0.0f);
        for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.sw + shift] = in[ow];
      }
    }
  }
}

// Rows per block so that a gathered block (k_rows x rows*width) stays around 256 KiB.
int64_t rows_per_block(int64_t k_rows, int64_t width, int64_t total_rows) {
  const int64_t target = std::max<int64_t>(65536 / std::max<int64_t>(k_rows, 1), 64);
  return std::clamp<int64_t>(target / width, 1, total_rows);
}

// The A operand of forward and backward-data: each group's rows x K matrix (row-major, rows k
// apart) packed for the microkernel, one set of panels per K-leaf.
class PackedRows {
 public:
  PackedRows(const DotTileKernel& kern, const float* a, int64_t groups, int64_t rows, int64_t k)
      : leaves_(ceil_div(k, kDotLeaf)), leaf_stride_(packed_a_size(rows, std::min(k, kDotLeaf), kern.mr)) {
    data_.resize(static_cast<size_t>(groups * leaves_ * leaf_stride_));
    for (int64_t grp = 0; grp < groups; ++grp)
      for (int64_t l = 0; l < leaves_; ++l) {
        const int64_t k0 = l * kDotLeaf, kl = std::min(kDotLeaf, k - k0);
        pack_a_panels(a + grp * rows * k + k0, k, false, rows, kl, kern.mr, leaf(grp, l), kl * kern.mr);
      }
  }
  int64_t leaves() const { return leaves_; }
  const float* leaf(int64_t grp, int64_t l) const { return data_.data() + (grp * leaves_ + l) * leaf_stride_; }

 private:
  float* leaf(int64_t grp, int64_t l) { return data_.data() + (grp * leaves_ + l) * leaf_stride_; }
  int64_t leaves_, leaf_stride_;
  std::vector<float> data_;
};

// out[r][j] (rows ldo apart) = the K-leaf rule over the K rows of `b` (K x width, row-major) with
// row r of group grp's A, + bias[r] after the leaves are combined (bias may be null).
void leaf_product(const DotTileKernel& kern, const PackedRows& a, int64_t grp, int64_t rows, int64_t width,
                  int64_t k, const float* b, float* out, int64_t ldo, const float* bias) {
  if (a.leaves() == 1) {
    dot_block(kern, rows, width, k, a.leaf(grp, 0), DotB{b, width}, out, ldo);
    if (bias)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < width; ++j) out[r * ldo + j] = out[r * ldo + j] + bias[r];
    return;
  }
  LeafCombiner leaves(rows * width);
  for (int64_t l = 0; l < a.leaves(); ++l) {
    const int64_t k0 = l * kDotLeaf;
    dot_block(kern, rows, width, std::min(kDotLeaf, k - k0), a.leaf(grp, l), DotB{b + k0 * width, width},
              leaves.next_leaf(), width);
    leaves.push();
  }
  const float* sum = leaves.result();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < width; ++j) out[r * ldo + j] = bias ? sum[r * width + j] + bias[r] : sum[r * width + j];
}

// Whether the shifted-window form pays off for out_rows x out_cols outputs per plane on bordered
// rows of wp: K long enough to hide a tile's stores, and few enough dropped virtual columns (a
// 4 x 4 plane computes 32 columns for 16 outputs; the gathered form then runs about 1.4x faster).
// Either form gives the same bits.
bool shifted_pays_off(int64_t k, int64_t out_rows, int64_t out_cols, int64_t wp) {
  const int64_t virtual_cols = (out_rows - 1) * wp + out_cols;
  const int64_t computed = ceil_div(virtual_cols, kDotTileColumns) * kDotTileColumns;
  return k >= 64 && 4 * out_rows * out_cols >= 3 * computed;
}

// Zero-bordered copies of a group's planes: plane p at data + p * hp * wp, the source's (0, 0) at
// row `top`, column `left`. kDotTileColumns floats of slack after the last plane let a
// microkernel read a whole panel past the last virtual column (shifted_product).
struct BorderedPlanes {
  int64_t hp = 0, wp = 0, top = 0, left = 0;
  std::vector<float> data;

  void fill(const float* src, int64_t count, int64_t h, int64_t w) {
    data.assign(static_cast<size_t>(count * hp * wp + kDotTileColumns), 0.0f);
    for (int64_t p = 0; p < count; ++p)
      for (int64_t r = 0; r < h; ++r)
        std::memcpy(&data[(p * hp + top + r) * wp + left], src + (p * h + r) * w, sizeof(float) * w);
  }
  const float* plane(int64_t p) const { return data.data() + p * hp * wp; }
};

// The stride-1 passes as one implicit GEMM over "virtual columns" v = r * wp + c of bordered
// planes: B row k is table[k] + v, a shifted window, so nothing is gathered; the columns with
// c >= out_cols are computed and dropped. out[m * plane_stride + r * out_cols + c] = the K-leaf
// rule over k of A[m][k] * table[k][r * wp + c], + bias[m] when bias is given. The terms and
// their order are those of the gathered matrix (im2col / gather_dy), zeros included.
void shifted_product(const DotTileKernel& kern, const PackedRows& a, int64_t grp, int64_t rows, int64_t k,
                     const std::vector<const float*>& table, int64_t wp, int64_t out_rows, int64_t out_cols,
                     float* out, int64_t plane_stride, const float* bias, std::vector<float>& block_out) {
  constexpr int64_t kBlock = 256;  // virtual columns per dot_block: rows x kBlock results stay in L2
  const int64_t virtual_cols = (out_rows - 1) * wp + out_cols;
  block_out.resize(static_cast<size_t>(rows * kBlock));
  for (int64_t v0 = 0; v0 < virtual_cols; v0 += kBlock) {
    const int64_t vb = std::min(kBlock, virtual_cols - v0);
    const float* c = block_out.data();
    if (a.leaves() == 1) {
      dot_block(kern, rows, vb, k, a.leaf(grp, 0), DotB{nullptr, 0, kDotTileColumns, true, table.data(), v0},
                block_out.data(), vb);
    } else {
      LeafCombiner leaves(rows * vb);
      for (int64_t l = 0; l < a.leaves(); ++l) {
        const int64_t k0 = l * kDotLeaf;
        dot_block(kern, rows, vb, std::min(kDotLeaf, k - k0), a.leaf(grp, l),
                  DotB{nullptr, 0, kDotTileColumns, true, table.data() + k0, v0}, leaves.next_leaf(), vb);
        leaves.push();
      }
      // The combined values outlive `leaves` in block_out.
      const float* sum = leaves.result();
      std::copy(sum, sum + rows * vb, block_out.begin());
    }
    // The block's virtual columns, output row by output row.
    for (int64_t r = v0 / wp; r * wp < v0 + vb; ++r) {
      const int64_t lo = std::max(v0, r * wp), hi = std::min({v0 + vb, r * wp + out_cols});
      if (lo >= hi) continue;
      for (int64_t m = 0; m < rows; ++m) {
        float* dst = out + m * plane_stride + r * out_cols + (lo - r * wp);
        const float* src = c + m * vb + (lo - v0);
        if (bias)
          for (int64_t i = 0; i < hi - lo; ++i) dst[i] = src[i] + bias[m];
        else
          std::memcpy(dst, src, sizeof(float) * (hi - lo));
      }
    }
  }
}

// Forward with unit strides: the input planes bordered by the padding, tap (ci, kh, kw) the
// window at row kh*dh, column kw*dw.
void forward_shifted(const Geometry& g, const DotTileKernel& kern, const PackedRows& packed_w, const float* x,
                     const float* bias, float* y) {
  const int64_t ohw = g.OH * g.OW, kf = g.Cig * g.khw();
  cpu_thread_pool().parallel_for(g.N * g.G, [&](int64_t begin, int64_t end) {
    BorderedPlanes planes{g.H + 2 * g.ph, g.W + 2 * g.pw, g.ph, g.pw, {}};
    std::vector<const float*> table(static_cast<size_t>(kf));
    std::vector<float> block_out;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g.G, grp = item % g.G;
      planes.fill(x + (n * g.C + grp * g.Cig) * g.H * g.W, g.Cig, g.H, g.W);
      for (int64_t k = 0; k < kf; ++k) {
        const int64_t ci = k / g.khw(), kh = (k / g.KW) % g.KH, kw = k % g.KW;
        table[k] = planes.plane(ci) + kh * g.dh * planes.wp + kw * g.dw;
      }
      shifted_product(kern, packed_w, grp, g.Cog, kf, table, planes.wp, g.OH, g.OW, y + (n * g.Co + grp * g.Cog) * ohw,
                      ohw, bias ? bias + grp * g.Cog : nullptr, block_out);
    }
  });
}

// Backward-data with unit strides: the dy planes bordered so that every tap's window lies inside
// (zeros where a tap lands on no output), tap (co, kh, kw) the window that input pixel (ih, iw)
// sees at dy row ih + ph - kh*dh, column iw + pw - kw*dw.
int64_t shifted_dy_left(const Geometry& g) { return std::max<int64_t>(0, (g.KW - 1) * g.dw - g.pw); }
int64_t shifted_dy_width(const Geometry& g) { return std::max(g.OW, g.W + g.pw) + shifted_dy_left(g); }

void backward_data_shifted(const Geometry& g, const DotTileKernel& kern, const PackedRows& packed_wt, const float* dy,
                           float* dx) {
  const int64_t hw = g.H * g.W, kd = g.Cog * g.khw();
  const int64_t top = std::max<int64_t>(0, (g.KH - 1) * g.dh - g.ph), left = shifted_dy_left(g);
  const int64_t hp = std::max(g.OH + top, g.H + g.ph + top), wp = shifted_dy_width(g);
  cpu_thread_pool().parallel_for(g.N * g.G, [&](int64_t begin, int64_t end) {
    BorderedPlanes planes{hp, wp, top, left, {}};
    std::vector<const float*> table(static_cast<size_t>(kd));
    std::vector<float> block_out;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g.G, grp = item % g.G;
      planes.fill(dy + (n * g.Co + grp * g.Cog) * g.OH * g.OW, g.Cog, g.OH, g.OW);
      for (int64_t k = 0; k < kd; ++k) {
        const int64_t co = k / g.khw(), kh = (k / g.KW) % g.KH, kw = k % g.KW;
        table[k] = planes.plane(co) + (g.ph - kh * g.dh + top) * wp + (g.pw - kw * g.dw + left);
      }
      shifted_product(kern, packed_wt, grp, g.Cig, kd, table, wp, g.H, g.W, dx + (n * g.C + grp * g.Cig) * hw, hw,
                      nullptr, block_out);
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Forward

void conv2d_forward_cpu(const Conv2dParams& p, const float* x, const float* w, const float* bias,
                        float* y) {
  p.validate();
  if (p.batch == 0) return;
  const Geometry g(p);
  const DotTileKernel kern = dot_tile_kernel();
  const int64_t kf = p.filter_size(), ohw = g.OH * g.OW;
  const PackedRows packed_w(kern, w, g.G, g.Cog, kf);
  if (g.sh == 1 && g.sw == 1 && shifted_pays_off(kf, g.OH, g.OW, g.W + 2 * g.pw)) {
    forward_shifted(g, kern, packed_w, x, bias, y);
    return;
  }
  const int64_t rows = rows_per_block(kf, g.OW, g.OH);
  const int64_t blocks = ceil_div(g.OH, rows);
  cpu_thread_pool().parallel_for(g.N * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> col(static_cast<size_t>(kf * rows * g.OW));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, oh0 = (item % blocks) * rows;
      const int64_t oh1 = std::min(oh0 + rows, g.OH), width = (oh1 - oh0) * g.OW;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        im2col(g, x + n * g.C * g.H * g.W, grp, oh0, oh1, 0, kf, col.data());
        leaf_product(kern, packed_w, grp, g.Cog, width, kf, col.data(), y + (n * g.Co + grp * g.Cog) * ohw + oh0 * g.OW,
                     ohw, bias ? bias + grp * g.Cog : nullptr);
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
  const DotTileKernel kern = dot_tile_kernel();
  const int64_t khw = g.khw(), kd = g.Cog * khw, hw = g.H * g.W;
  // Wt[grp][ci][(co, kh, kw)] = w[grp*Cog + co][ci][kh][kw]: row ci of the backward-data GEMM.
  std::vector<float> wt(static_cast<size_t>(p.weight_size()));
  for (int64_t grp = 0; grp < g.G; ++grp)
    for (int64_t ci = 0; ci < g.Cig; ++ci)
      for (int64_t co = 0; co < g.Cog; ++co)
        std::memcpy(&wt[((grp * g.Cig + ci) * g.Cog + co) * khw],
                    w + ((grp * g.Cog + co) * g.Cig + ci) * khw, sizeof(float) * khw);
  const PackedRows packed_wt(kern, wt.data(), g.G, g.Cig, kd);
  if (g.sh == 1 && g.sw == 1 && shifted_pays_off(kd, g.H, g.W, shifted_dy_width(g))) {
    backward_data_shifted(g, kern, packed_wt, dy, dx);
    return;
  }
  const int64_t rows = rows_per_block(kd, g.W, g.H);
  const int64_t blocks = ceil_div(g.H, rows);
  cpu_thread_pool().parallel_for(g.N * blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> dcol(static_cast<size_t>(kd * rows * g.W));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / blocks, ih0 = (item % blocks) * rows;
      const int64_t ih1 = std::min(ih0 + rows, g.H), width = (ih1 - ih0) * g.W;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        gather_dy(g, dy + n * g.Co * g.OH * g.OW, grp, ih0, ih1, dcol.data());
        leaf_product(kern, packed_wt, grp, g.Cig, width, kd, dcol.data(), dx + (n * g.C + grp * g.Cig) * hw + ih0 * g.W,
                     hw, nullptr);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Backward-filter

void conv2d_backward_filter_partials_cpu(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                         const float* dy, float* dw_partials, float* db_partials) {
  p.validate();
  const int64_t chunks = conv2d_chunks(p, chunk_size);
  const Geometry g(p);
  const DotTileKernel kern = dot_tile_kernel();
  const int64_t kf = p.filter_size(), ohw = g.OH * g.OW;
  // DWt[k][co] over the chunk's terms t = (s, q): rows k = (ci, kh, kw), columns co. Each
  // (chunk, group) is split into blocks of K rows so that every thread has work even with one
  // chunk; a block's packed leaf (k_rows x kDotLeaf) is read once per leaf (dot_block).
  const int64_t units = chunks * g.G;
  const int64_t want_blocks = ceil_div(2 * num_threads(), std::max<int64_t>(units, 1));
  const int64_t k_rows = std::clamp<int64_t>(ceil_div(kf, want_blocks), std::min<int64_t>(kf, 16), 512);
  const int64_t k_blocks = ceil_div(kf, k_rows);
  // The microkernel reads 16 Col rows at once: rows a multiple of 4 KiB apart would all fall in
  // one L1 set, so the row length is padded off such multiples.
  const int64_t ld_col = ohw % 256 == 0 ? ohw + 16 : ohw;
  cpu_thread_pool().parallel_for(units * k_blocks, [&](int64_t begin, int64_t end) {
    std::vector<float> col(static_cast<size_t>(k_rows * ld_col));
    std::vector<float> dyt(static_cast<size_t>(ohw * g.Cog));
    std::vector<float> single(static_cast<size_t>(k_rows * g.Cog));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t c = item / (g.G * k_blocks), grp = (item / k_blocks) % g.G;
      const int64_t k0 = (item % k_blocks) * k_rows, k1 = std::min(k0 + k_rows, kf), rows = k1 - k0;
      // The chunk's terms in order, cut into K-leaves that may start and end inside a sample: A
      // is the sample's Col rows read in place, B its dy^T; a leaf that goes on into the next
      // sample continues its chains from the stored partial results (accumulate).
      const bool one_leaf = chunk_size * ohw <= kDotLeaf;
      LeafCombiner leaves(one_leaf ? 0 : rows * g.Cog);
      float* leaf = one_leaf ? single.data() : leaves.next_leaf();
      int64_t filled = 0;  // terms of the current leaf so far
      for (int64_t s = 0; s < chunk_size; ++s) {
        const int64_t n = c * chunk_size + s;
        im2col(g, x + n * g.C * g.H * g.W, grp, 0, g.OH, k0, k1, col.data(), ld_col);
        transpose_matrix(dy + (n * g.Co + grp * g.Cog) * ohw, g.Cog, ohw, ohw, dyt.data(), g.Cog);
        for (int64_t q0 = 0; q0 < ohw;) {
          const int64_t take = std::min(ohw - q0, kDotLeaf - filled);
          dot_block_row_major_a(kern, rows, g.Cog, take, col.data() + q0, ld_col, DotB{dyt.data() + q0 * g.Cog, g.Cog},
                                leaf, g.Cog, filled > 0);
          filled += take;
          q0 += take;
          if (filled == kDotLeaf && !one_leaf) {
            leaves.push();
            leaf = leaves.next_leaf();
            filled = 0;
          }
        }
      }
      if (!one_leaf && filled > 0) leaves.push();  // the short last leaf
      const float* acc = one_leaf ? single.data() : leaves.result();
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
