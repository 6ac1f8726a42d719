// Strict CUDA convolution: the bits of kernels/cpu/conv2d.cpp (the chains of kernels/conv2d.h).
//
// Tiled path: one implicit-GEMM kernel template, C[m][j] = chain over k of A[m][k] * B[k][j],
// instantiated for the three passes (DESIGN §8b):
//   forward          rows (n, oh, ow)  columns co       K (ci, kh, kw)   A = x patches, B = w
//   backward-data    rows (n, ih, iw)  columns ci       K (co, kh, kw)   A = dy at landing taps, B = w
//   backward-filter  rows co           columns (ci,kh,kw) K (n, oh, ow) of one chunk  A = dy, B = x
// (grid.z walks the groups, and for backward-filter the chunks x groups, times the K-leaves). A
// block owns a BM x BN tile of C for one K-leaf (contract 2, DESIGN §3: leaves of kDotLeaf terms;
// BK divides kDotLeaf, so a leaf is whole K tiles); each thread owns TM x TN outputs in registers,
// each ONE fmaf chain over its leaf, walked in BK-wide tiles in increasing k. With one leaf the
// block stores the outputs; with several, each leaf's results go to its slice of a partial buffer
// (LeafSplit) and combine_chunk_partials_cuda combines the slices pairwise in leaf order, before
// the forward's bias is added (add_channel_bias_kernel): the CPU's LeafCombiner, then + bias. Tiles of A and B are gathered from global memory
// (zeros at padded / non-landing taps, like the CPU's gathered matrices) into double-buffered
// shared memory, with the next tile's loads in flight during the current tile's fmafs. A K tile
// that runs past K stops at K (no extra terms). No thread ever adds into another thread's
// output, so nothing depends on the grid, the tile shape or the number of rows: batch
// invariance by construction.
//
// Direct path: one thread per output, the same chain with the same zero terms (DotLeafChain cuts
// it into K-leaves and combines them pairwise); used for few channels per group (depthwise) where
// a GEMM tile would be mostly empty.
//
// Bias-gradient partials: one block per (chunk, channel); each thread sums whole leaves of 256
// sequentially and combines an aligned power-of-two group of them pairwise; the block combines
// the groups pairwise in shared memory. Aligned power-of-two groups are nodes of the canonical
// pairwise tree (runtime/reduction_rules.h), so this equals canonical_sum_cpu.
//
// All indices are 32-bit: every tensor is checked to hold fewer than 2^30 elements.
// (One file over the usual length: the three passes share the tiled kernel template.)
#include <algorithm>
#include <climits>

#include "kernels/canonical_sum.h"
#include "kernels/conv2d.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

namespace {

// n / d for 0 <= n < 2^31 by a multiply and a shift (m = ceil(2^(32+s) / d), s = ceil(log2 d):
// the error term n * (m*d - 2^(32+s)) < 2^31 * d <= 2^(32+s) keeps the floor exact).
struct FastDiv {
  unsigned long long m = 1ull << 32;
  int s = 0;
  __host__ __device__ int operator()(int n) const {
    return static_cast<int>((static_cast<unsigned long long>(n) * m) >> (32 + s));
  }
};

FastDiv make_fast_div(int d) {
  FastDiv f;
  while ((1ll << f.s) < d) ++f.s;
  f.m = ((1ull << (32 + f.s)) + d - 1) / d;
  return f;
}

struct Geom {
  int N, C, H, W, Co, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, G, Cig, Cog;
  int HW, OHW, KHW;
  FastDiv div_W, div_HW, div_OW, div_OHW, div_KW, div_KHW;
};

Geom make_geom(const Conv2dParams& p) {
  p.validate();
  const int64_t limit = INT_MAX / 2;
  DETNN_CHECK(p.input_size() < limit && p.output_size() < limit && p.weight_size() < limit,
              unsupported, "conv2d (CUDA): tensors must hold fewer than 2^30 elements (input ",
              p.input_size(), ", output ", p.output_size(), ", weight ", p.weight_size(), ")");
  Geom g;
  g.N = static_cast<int>(p.batch), g.C = static_cast<int>(p.in_channels);
  g.H = static_cast<int>(p.in_h), g.W = static_cast<int>(p.in_w);
  g.Co = static_cast<int>(p.out_channels), g.OH = static_cast<int>(p.out_h()), g.OW = static_cast<int>(p.out_w());
  g.KH = static_cast<int>(p.kernel_h), g.KW = static_cast<int>(p.kernel_w);
  g.sh = static_cast<int>(p.stride_h), g.sw = static_cast<int>(p.stride_w);
  g.ph = static_cast<int>(p.pad_h), g.pw = static_cast<int>(p.pad_w);
  g.dh = static_cast<int>(p.dilation_h), g.dw = static_cast<int>(p.dilation_w);
  g.G = static_cast<int>(p.groups), g.Cig = g.C / g.G, g.Cog = g.Co / g.G;
  g.HW = g.H * g.W, g.OHW = g.OH * g.OW, g.KHW = g.KH * g.KW;
  g.div_W = make_fast_div(g.W), g.div_HW = make_fast_div(g.HW), g.div_OW = make_fast_div(g.OW);
  g.div_OHW = make_fast_div(g.OHW), g.div_KW = make_fast_div(g.KW), g.div_KHW = make_fast_div(g.KHW);
  return g;
}

constexpr int kDeadRow = -(1 << 29);  // an offset that makes every bounds check fail

// ---------------------------------------------------------------------------------------------
// The three passes as operand gathers for the tiled kernel. Each provides:
//   M, N, K (set on the host), begin(z) for grid.z,
//   a_row(m) / b_col(j): per-thread constants of one A row / B column (invalid ones give zeros),
//   k_info(k): per-k constants (int4), computed once per tile into shared memory,
//   a(row, ki), b(ki, col): the operand values, out_row(m) + store(row, j, acc): the epilogue.
// kAFastK / kBFastK: whether consecutive threads of a loader walk k (else rows / columns), to
// make the global reads coalesced.

// Where a block's results go when the product has several K-leaves: slice `leaf` of `partials`,
// at the output's own index (each slice is the size of the whole output).
struct LeafSplit {
  int leaves = 1;
  float* __restrict__ partials = nullptr;  // leaves > 1
  int64_t slice = 0;

  __device__ bool store(int leaf, int index, float acc) const {
    if (partials == nullptr) return false;
    partials[leaf * slice + index] = acc;
    return true;
  }
};

struct ForwardOp {
  static constexpr bool kAFastK = false, kBFastK = true;
  const float* __restrict__ x;
  const float* __restrict__ w;
  const float* __restrict__ bias;
  float* __restrict__ y;
  Geom g;
  int M, N, K;
  int grp = 0;
  LeafSplit split;

  __device__ void begin(int z) { grp = z; }
  struct Row {
    int base, ih0, iw0;
  };
  __device__ Row a_row(int m) const {
    if (m >= M) return {0, kDeadRow, kDeadRow};
    const int n = g.div_OHW(m), q = m - n * g.OHW, oh = g.div_OW(q), ow = q - oh * g.OW;
    const int ih0 = oh * g.sh - g.ph, iw0 = ow * g.sw - g.pw;
    return {(n * g.C + grp * g.Cig) * g.HW + ih0 * g.W + iw0, ih0, iw0};
  }
  __device__ int4 k_info(int k) const {  // {x offset, kh*dh, kw*dw, k}
    if (k >= K) return {0, 0, 0, 0};
    const int ci = g.div_KHW(k), r = k - ci * g.KHW, kh = g.div_KW(r), kw = r - kh * g.KW;
    const int dh = kh * g.dh, dw = kw * g.dw;
    return {ci * g.HW + dh * g.W + dw, dh, dw, k};
  }
  __device__ float a(const Row& r, const int4& ki) const {
    const int ih = r.ih0 + ki.y, iw = r.iw0 + ki.z;
    return (static_cast<unsigned>(ih) < static_cast<unsigned>(g.H) &&
            static_cast<unsigned>(iw) < static_cast<unsigned>(g.W))
               ? __ldg(x + r.base + ki.x)
               : 0.0f;
  }
  struct Col {
    int base;
    bool ok;
  };
  __device__ Col b_col(int j) const { return {(grp * g.Cog + j) * K, j < N}; }
  __device__ float b(const int4& ki, const Col& c) const { return c.ok ? __ldg(w + c.base + ki.w) : 0.0f; }
  struct Out {
    int base;
    bool ok;
  };
  __device__ Out out_row(int m) const {
    if (m >= M) return {0, false};
    const int n = g.div_OHW(m), q = m - n * g.OHW;
    return {(n * g.Co + grp * g.Cog) * g.OHW + q, true};
  }
  __device__ void store(const Out& o, int j, float acc, int leaf) const {
    if (!o.ok || j >= N) return;
    const int i = o.base + j * g.OHW;
    if (!split.store(leaf, i, acc)) y[i] = bias ? acc + bias[grp * g.Cog + j] : acc;
  }
};

template <bool kUnitStride>
struct BackwardDataOp {
  static constexpr bool kAFastK = false, kBFastK = true;
  const float* __restrict__ dy;
  const float* __restrict__ w;
  float* __restrict__ dx;
  Geom g;
  int M, N, K;
  int grp = 0;
  LeafSplit split;

  __device__ void begin(int z) { grp = z; }
  struct Row {
    int base, th0, tw0;  // th0 = ih + ph, tw0 = iw + pw
  };
  __device__ Row a_row(int m) const {
    if (m >= M) return {0, kDeadRow, kDeadRow};
    const int n = g.div_HW(m), q = m - n * g.HW, ih = g.div_W(q), iw = q - ih * g.W;
    return {(n * g.Co + grp * g.Cog) * g.OHW, ih + g.ph, iw + g.pw};
  }
  __device__ int4 k_info(int k) const {  // {dy plane offset, kh*dh, kw*dw, weight offset}
    if (k >= K) return {0, 0, 0, 0};
    const int co = g.div_KHW(k), r = k - co * g.KHW, kh = g.div_KW(r), kw = r - kh * g.KW;
    return {co * g.OHW, kh * g.dh, kw * g.dw, (grp * g.Cog + co) * g.Cig * g.KHW + r};
  }
  __device__ float a(const Row& r, const int4& ki) const {
    int oh = r.th0 - ki.y, ow = r.tw0 - ki.z;
    if (oh < 0 || ow < 0) return 0.0f;
    if (!kUnitStride) {
      if (oh % g.sh != 0 || ow % g.sw != 0) return 0.0f;
      oh /= g.sh, ow /= g.sw;
    }
    if (oh >= g.OH || ow >= g.OW) return 0.0f;
    return __ldg(dy + r.base + ki.x + oh * g.OW + ow);
  }
  struct Col {
    int off;
    bool ok;
  };
  __device__ Col b_col(int j) const { return {j * g.KHW, j < N}; }
  __device__ float b(const int4& ki, const Col& c) const { return c.ok ? __ldg(w + ki.w + c.off) : 0.0f; }
  struct Out {
    int base;
    bool ok;
  };
  __device__ Out out_row(int m) const {
    if (m >= M) return {0, false};
    const int n = g.div_HW(m), q = m - n * g.HW;
    return {(n * g.C + grp * g.Cig) * g.HW + q, true};
  }
  __device__ void store(const Out& o, int j, float acc, int leaf) const {
    if (!o.ok || j >= N) return;
    const int i = o.base + j * g.HW;
    if (!split.store(leaf, i, acc)) dx[i] = acc;
  }
};

struct BackwardFilterOp {
  static constexpr bool kAFastK = true, kBFastK = true;
  const float* __restrict__ x;
  const float* __restrict__ dy;
  float* __restrict__ dw_partials;
  Geom g;
  int M, N, K;
  int chunk_size;
  int grp = 0, chunk = 0;
  LeafSplit split;

  __device__ void begin(int z) { chunk = z / g.G, grp = z - (z / g.G) * g.G; }
  struct Row {
    int off;
    bool ok;
  };
  __device__ Row a_row(int m) const { return {(grp * g.Cog + m) * g.OHW, m < M}; }
  __device__ int4 k_info(int k) const {  // {dy offset, x offset at (ih0, iw0), ih0, iw0}
    if (k >= K) return {0, 0, kDeadRow, kDeadRow};
    const int nl = g.div_OHW(k), q = k - nl * g.OHW, oh = g.div_OW(q), ow = q - oh * g.OW;
    const int n = chunk * chunk_size + nl;
    const int ih0 = oh * g.sh - g.ph, iw0 = ow * g.sw - g.pw;
    return {n * g.Co * g.OHW + q, (n * g.C + grp * g.Cig) * g.HW + ih0 * g.W + iw0, ih0, iw0};
  }
  __device__ float a(const Row& r, const int4& ki) const { return r.ok ? __ldg(dy + ki.x + r.off) : 0.0f; }
  struct Col {
    int off, dh, dw;
  };
  __device__ Col b_col(int j) const {
    if (j >= N) return {0, kDeadRow, kDeadRow};
    const int ci = g.div_KHW(j), r = j - ci * g.KHW, kh = g.div_KW(r), kw = r - kh * g.KW;
    const int dh = kh * g.dh, dw = kw * g.dw;
    return {ci * g.HW + dh * g.W + dw, dh, dw};
  }
  __device__ float b(const int4& ki, const Col& c) const {
    const int ih = ki.z + c.dh, iw = ki.w + c.dw;
    return (static_cast<unsigned>(ih) < static_cast<unsigned>(g.H) &&
            static_cast<unsigned>(iw) < static_cast<unsigned>(g.W))
               ? __ldg(x + ki.y + c.off)
               : 0.0f;
  }
  struct Out {
    int base;
    bool ok;
  };
  __device__ Out out_row(int m) const { return {(chunk * g.Co + grp * g.Cog + m) * N, m < M}; }
  __device__ void store(const Out& o, int j, float acc, int leaf) const {
    if (!o.ok || j >= N) return;
    const int i = o.base + j;
    if (!split.store(leaf, i, acc)) dw_partials[i] = acc;
  }
};

// ---------------------------------------------------------------------------------------------
// The tiled implicit GEMM.

// Shared-memory row padding that makes a loader's stores bank-conflict free: a warp stores
// lanes_k consecutive k x (32 / lanes_k) consecutive rows when the loader walks k first.
constexpr int smem_pad(int rows, int lanes_k, bool fast_k) {
  if (!fast_k || lanes_k == 1) return 0;
  return ((32 / lanes_k) - rows % 32 + 32) % 32;
}

// v[0..F) = s[0..F) for F in {1, 2, 4}, with one shared-memory access.
template <int F>
__device__ __forceinline__ void load_fragment(const float* s, float* v) {
  if constexpr (F == 4) {
    const float4 t = *reinterpret_cast<const float4*>(s);
    v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
  } else if constexpr (F == 2) {
    const float2 t = *reinterpret_cast<const float2*>(s);
    v[0] = t.x, v[1] = t.y;
  } else {
    v[0] = s[0];
  }
}

template <class Op, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    implicit_gemm_kernel(Op op) {
  constexpr int kThreads = (BM / TM) * (BN / TN);
  constexpr int LA = kThreads / BM, LB = kThreads / BN;  // loader lanes along k
  constexpr int EA = BK / LA, EB = BK / LB;              // loads per thread per tile
  constexpr int FA = TM < 4 ? TM : 4, FB = TN < 4 ? TN : 4;  // shared-memory fragment widths
  constexpr int SA = BM + smem_pad(BM, LA, Op::kAFastK), SB = BN + smem_pad(BN, LB, Op::kBFastK);
  static_assert(kThreads % BM == 0 && kThreads % BN == 0, "each loader thread owns one row/column");
  static_assert(BK % LA == 0 && BK % LB == 0 && kThreads >= BK, "tile shape");
  static_assert(LA <= 8 && LB <= 8, "conflict-free padding needs <= 8 lanes along k");
  static_assert(TM % FA == 0 && TN % FB == 0, "fragments");
  __shared__ __align__(16) float As[2][BK][SA];
  __shared__ __align__(16) float Bs[2][BK][SB];
  __shared__ int4 ktab[2][BK];

  static_assert(kDotLeaf % BK == 0, "a K-leaf is whole K tiles");
  const int leaf = static_cast<int>(blockIdx.z) % op.split.leaves;
  op.begin(static_cast<int>(blockIdx.z) / op.split.leaves);
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int tid = threadIdx.x;
  const int ar = Op::kAFastK ? tid / LA : tid % BM, ak = Op::kAFastK ? tid % LA : tid / BM;
  const int br = Op::kBFastK ? tid / LB : tid % BN, bk = Op::kBFastK ? tid % LB : tid / BN;
  const auto arow = op.a_row(m0 + ar);
  const auto bcol = op.b_col(n0 + br);
  // This block's K-leaf: k in [k0, k1).
  const int k0 = leaf * static_cast<int>(kDotLeaf);
  const int k1 = min(op.K, k0 + static_cast<int>(kDotLeaf));
  const int tiles = k1 > k0 ? (k1 - k0 + BK - 1) / BK : 0;

  float a_reg[EA], b_reg[EB];
  auto fetch = [&](int t, int buf) {
#pragma unroll
    for (int e = 0; e < EA; ++e) {
      const int kk = ak + e * LA;
      a_reg[e] = k0 + t * BK + kk < k1 ? op.a(arow, ktab[buf][kk]) : 0.0f;
    }
#pragma unroll
    for (int e = 0; e < EB; ++e) {
      const int kk = bk + e * LB;
      b_reg[e] = k0 + t * BK + kk < k1 ? op.b(ktab[buf][kk], bcol) : 0.0f;
    }
  };

  if (tid < BK) ktab[0][tid] = op.k_info(k0 + tid);
  __syncthreads();
  if (tiles > 0) fetch(0, 0);

  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  auto step = [&](int buf, int kk) {
    float a[TM], b[TN];
#pragma unroll
    for (int f = 0; f < TM / FA; ++f) load_fragment<FA>(&As[buf][kk][f * (BM / (TM / FA)) + ty * FA], a + f * FA);
#pragma unroll
    for (int f = 0; f < TN / FB; ++f) load_fragment<FB>(&Bs[buf][kk][f * (BN / (TN / FB)) + tx * FB], b + f * FB);
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  };

  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    // Buffer `buf` was last read two iterations ago, before the barrier of the last iteration.
#pragma unroll
    for (int e = 0; e < EA; ++e) As[buf][ak + e * LA][ar] = a_reg[e];
#pragma unroll
    for (int e = 0; e < EB; ++e) Bs[buf][bk + e * LB][br] = b_reg[e];
    if (t + 1 < tiles && tid < BK) ktab[buf ^ 1][tid] = op.k_info(k0 + (t + 1) * BK + tid);
    __syncthreads();
    if (t + 1 < tiles) fetch(t + 1, buf ^ 1);
    const int kc = k1 - (k0 + t * BK);
    if (kc >= BK) {
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) step(buf, kk);
    } else {
      for (int kk = 0; kk < kc; ++kk) step(buf, kk);  // the chain ends at the leaf's end: no padding terms
    }
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + (i / FA) * (BM / (TM / FA)) + ty * FA + i % FA;
    const auto out = op.out_row(m);
#pragma unroll
    for (int j = 0; j < TN; ++j) op.store(out, n0 + (j / FB) * (BN / (TN / FB)) + tx * FB + j % FB, acc[i][j], leaf);
  }
}

template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct Tile {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int kThreads = (BM / TM) * (BN / TN);
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class T, class Op>
void launch_tiled(const Op& op, int z, cudaStream_t stream) {
  const int64_t gx = ceil_div(op.M, T::BM), gy = ceil_div(op.N, T::BN);
  DETNN_CHECK(gy <= 65535 && z <= 65535, unsupported, "conv2d (CUDA): grid too large (", gy, " x ", z, ")");
  if (gx == 0 || gy == 0 || z == 0) return;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(z));
  implicit_gemm_kernel<Op, T::BM, T::BN, T::BK, T::TM, T::TN><<<grid, T::kThreads, 0, stream>>>(op);
  DETNN_CUDA_CHECK_LAUNCH();
}

int sm_count() {
  int device = 0, sms = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&device));
  DETNN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

// Forward and backward-data: many rows (pixels), columns = channels of a group. The widest
// tile that still fills the GPU, or tile `forced` (0 = widest) when forced >= 0.
template <class Op>
void launch_rows_gemm(const Op& op, int z, cudaStream_t stream, int forced) {
  using Wide = Tile<128, 128, 8, 8, 8>;
  using Mid = Tile<128, 64, 8, 8, 8>;
  using Narrow = Tile<128, 32, 8, 8, 4>;
  using Small = Tile<64, 32, 8, 4, 4>;
  if (forced < 0) {
    const int64_t sms = sm_count();
    auto blocks = [&](int bm, int bn) { return ceil_div(op.M, bm) * ceil_div(op.N, bn) * z; };
    forced = op.N > 64 && blocks(128, 128) >= sms ? 0
             : op.N > 32 && blocks(128, 64) >= sms ? 1
             : blocks(128, 32) >= sms              ? 2
                                                   : 3;
  }
  switch (forced) {
    case 0: return launch_tiled<Wide>(op, z, stream);
    case 1: return launch_tiled<Mid>(op, z, stream);
    case 2: return launch_tiled<Narrow>(op, z, stream);
    default: return launch_tiled<Small>(op, z, stream);
  }
}

// Backward-filter: few outputs with long chains (K = chunk * OH * OW). At least 2 x 2 outputs
// per thread, since with one output per thread the shared-memory reads (two per fmaf) would
// bound the speed; wide K tiles amortize the barrier.
void launch_filter_gemm(const BackwardFilterOp& op, int z, cudaStream_t stream, int forced) {
  using Large = Tile<64, 64, 32, 4, 4>;
  using Mid = Tile<32, 32, 32, 4, 4>;
  using Small = Tile<16, 16, 32, 2, 2>;
  using Deep = Tile<16, 16, 64, 2, 2>;
  if (forced < 0) {
    const int64_t sms = sm_count();
    auto blocks = [&](int bm, int bn) { return ceil_div(op.M, bm) * ceil_div(op.N, bn) * z; };
    // The 64 x 64 tile runs about twice as fast as the 32 x 32 one once there are enough blocks,
    // so it is taken as soon as it covers half the SMs. With under a quarter of the SMs busy even
    // in 16 x 16 tiles (mnist_cnn's first layer: 32 x 9 outputs per chunk of 25,088 terms, 8
    // blocks of 2 warps), the tile twice as deep makes half the trips through the loads and
    // barriers. It gains little, because what bounds it is each chain's own length (one fmaf per
    // term, in order) with two warps per SM to hide the latencies, not the trips. The
    // measurements: docs/benchmarks.md ("Measurements behind code choices").
    forced = blocks(64, 64) * 2 >= sms ? 0 : blocks(32, 32) >= 2 * sms ? 1 : blocks(16, 16) * 4 >= sms ? 2 : 3;
  }
  switch (forced) {
    case 0: return launch_tiled<Large>(op, z, stream);
    case 1: return launch_tiled<Mid>(op, z, stream);
    case 2: return launch_tiled<Small>(op, z, stream);
    default: return launch_tiled<Deep>(op, z, stream);
  }
}

// ---------------------------------------------------------------------------------------------
// The direct path: one thread per output.

__global__ void forward_direct_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                      const float* __restrict__ bias, float* __restrict__ y, Geom g) {
  const int64_t total = static_cast<int64_t>(g.N) * g.Co * g.OHW;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int idx = static_cast<int>(i);
    const int q = idx % g.OHW, nc = idx / g.OHW, co = nc % g.Co, n = nc / g.Co;
    const int oh = q / g.OW, ow = q % g.OW, grp = co / g.Cog;
    const float* xs = x + (n * g.C + grp * g.Cig) * g.HW;
    const float* ws = w + co * g.Cig * g.KHW;
    DotLeafChain dot;
    for (int ci = 0; ci < g.Cig; ++ci)
      for (int kh = 0; kh < g.KH; ++kh) {
        const int ih = oh * g.sh - g.ph + kh * g.dh;
        for (int kw = 0; kw < g.KW; ++kw) {
          const int iw = ow * g.sw - g.pw + kw * g.dw;
          const bool in = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
          dot.add(in ? xs[ci * g.HW + ih * g.W + iw] : 0.0f, ws[(ci * g.KH + kh) * g.KW + kw]);
        }
      }
    const float acc = dot.result();
    y[idx] = bias ? acc + bias[co] : acc;
  }
}

template <bool kUnitStride>
__global__ void backward_data_direct_kernel(const float* __restrict__ dy, const float* __restrict__ w,
                                            float* __restrict__ dx, Geom g) {
  const int64_t total = static_cast<int64_t>(g.N) * g.C * g.HW;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int idx = static_cast<int>(i);
    const int q = idx % g.HW, nc = idx / g.HW, ci = nc % g.C, n = nc / g.C;
    const int ih = q / g.W, iw = q % g.W, grp = ci / g.Cig, cil = ci % g.Cig;
    DotLeafChain dot;
    for (int col = 0; col < g.Cog; ++col) {
      const int co = grp * g.Cog + col;
      const float* dys = dy + (n * g.Co + co) * g.OHW;
      const float* ws = w + (co * g.Cig + cil) * g.KHW;
      for (int kh = 0; kh < g.KH; ++kh) {
        const int th = ih + g.ph - kh * g.dh;  // = oh * sh when the tap lands
        const int oh = kUnitStride ? th : th / g.sh;
        const bool row_ok = th >= 0 && (kUnitStride || th % g.sh == 0) && oh < g.OH;
        for (int kw = 0; kw < g.KW; ++kw) {
          const int tw = iw + g.pw - kw * g.dw;
          const int ow = kUnitStride ? tw : tw / g.sw;
          const bool lands = row_ok && tw >= 0 && (kUnitStride || tw % g.sw == 0) && ow < g.OW;
          dot.add(lands ? dys[oh * g.OW + ow] : 0.0f, ws[kh * g.KW + kw]);
        }
      }
    }
    dx[idx] = dot.result();
  }
}

__global__ void backward_filter_direct_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                              float* __restrict__ dw_partials, Geom g, int chunk_size,
                                              int chunks) {
  const int kf = g.Cig * g.KHW;
  const int64_t total = static_cast<int64_t>(chunks) * g.Co * kf;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int idx = static_cast<int>(i);
    const int j = idx % kf, cc = idx / kf, co = cc % g.Co, c = cc / g.Co;
    const int ci = j / g.KHW, kh = (j / g.KW) % g.KH, kw = j % g.KW, grp = co / g.Cog;
    DotLeafChain dot;
    for (int n = c * chunk_size; n < (c + 1) * chunk_size; ++n) {
      const float* dys = dy + (n * g.Co + co) * g.OHW;
      const float* xs = x + (n * g.C + grp * g.Cig + ci) * g.HW;
      for (int oh = 0; oh < g.OH; ++oh) {
        const int ih = oh * g.sh - g.ph + kh * g.dh;
        for (int ow = 0; ow < g.OW; ++ow) {
          const int iw = ow * g.sw - g.pw + kw * g.dw;
          const bool in = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
          dot.add(dys[oh * g.OW + ow], in ? xs[ih * g.W + iw] : 0.0f);
        }
      }
    }
    dw_partials[idx] = dot.result();
  }
}

unsigned direct_grid(int64_t total) {
  return static_cast<unsigned>(std::clamp<int64_t>(ceil_div(total, 256), 1, 1 << 20));
}

// ---------------------------------------------------------------------------------------------
// Bias-gradient partials.

constexpr int kBiasThreads = 256;  // a power of two: the in-block pairwise tree relies on it

// Element i of (chunk c, channel co): dy[c*chunk + i / OHW][co][i % OHW]. Thread t owns leaves
// [t*G, (t+1)*G), G a power of two with kBiasThreads * G >= leaves.
__global__ void bias_partials_kernel(const float* __restrict__ dy, float* __restrict__ db_partials,
                                     Geom g, int chunk_size, int chunks, int leaves_per_thread) {
  __shared__ float s[kBiasThreads];
  const int64_t length = static_cast<int64_t>(chunk_size) * g.OHW;
  const int64_t leaves = (length + kReductionLeaf - 1) / kReductionLeaf;
  for (int pair = blockIdx.x; pair < chunks * g.Co; pair += gridDim.x) {
    const int c = pair / g.Co, co = pair % g.Co;
    PairwiseStack stack;
    const int64_t first_leaf = static_cast<int64_t>(threadIdx.x) * leaves_per_thread;
    const int64_t last_leaf = min(first_leaf + leaves_per_thread, leaves);
    for (int64_t leaf = first_leaf; leaf < last_leaf; ++leaf) {
      const int64_t first = leaf * kReductionLeaf, last = min(first + kReductionLeaf, length);
      int n = static_cast<int>(first / g.OHW), q = static_cast<int>(first % g.OHW);
      const float* plane = dy + ((static_cast<int64_t>(c) * chunk_size + n) * g.Co + co) * g.OHW;
      float acc = 0.0f;
      for (int64_t i = first; i < last; ++i) {
        acc = acc + plane[q];
        if (++q == g.OHW) {
          q = 0;
          plane += static_cast<int64_t>(g.Co) * g.OHW;
        }
      }
      stack.push(acc);
    }
    s[threadIdx.x] = stack.result();
    const int count = static_cast<int>((leaves + leaves_per_thread - 1) / leaves_per_thread);
    for (int stride = 1; stride < kBiasThreads; stride *= 2) {
      __syncthreads();
      const int t = threadIdx.x;
      if ((t & (2 * stride - 1)) == 0 && t + stride < count) s[t] = s[t] + s[t + stride];
    }
    __syncthreads();
    if (threadIdx.x == 0) db_partials[pair] = s[0];
    __syncthreads();  // s is reused by the next pair
  }
}

void launch_bias_partials(const Geom& g, int chunk_size, int chunks, const float* dy, float* db_partials,
                          cudaStream_t stream) {
  const int64_t length = static_cast<int64_t>(chunk_size) * g.OHW;
  const int64_t leaves = ceil_div(length, kReductionLeaf);
  int64_t per_thread = 1;
  while (per_thread * kBiasThreads < leaves) per_thread *= 2;
  const int64_t pairs = static_cast<int64_t>(chunks) * g.Co;
  if (pairs == 0) return;
  bias_partials_kernel<<<static_cast<unsigned>(std::min<int64_t>(pairs, 1 << 20)), kBiasThreads, 0, stream>>>(
      dy, db_partials, g, chunk_size, chunks, static_cast<int>(per_thread));
  DETNN_CUDA_CHECK_LAUNCH();
}

// y[n][co][q] = y[n][co][q] + bias[co]: the forward's bias after the K-leaves are combined.
__global__ void add_channel_bias_kernel(float* __restrict__ y, const float* __restrict__ bias, int64_t total,
                                        int channels, int plane) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = y[i] + bias[(i / plane) % channels];
}

int leaf_count(int K) { return K > kDotLeaf ? static_cast<int>(ceil_div(K, kDotLeaf)) : 1; }

// Runs a tiled pass whose K may span several leaves: with one leaf `launch(op, z)` stores into the
// output; otherwise every leaf stores its slice of a partial buffer, combined pairwise into `out`
// (`out_size` elements). grid.z becomes z x leaves.
template <class Op, class Launch>
void run_leaves(Op op, int z, float* out, int64_t out_size, cudaStream_t stream, Launch launch) {
  const int leaves = leaf_count(op.K);
  if (leaves == 1) {
    launch(op, z);
    return;
  }
  DETNN_CHECK(static_cast<int64_t>(z) * leaves <= 65535, unsupported, "conv2d (CUDA): ", z, " groups/chunks x ",
              leaves, " K-leaves exceed the grid");
  CudaScratch scratch(static_cast<size_t>(leaves * out_size) * sizeof(float), stream);
  op.split = LeafSplit{leaves, scratch.as<float>(), out_size};
  launch(op, z * leaves);
  combine_chunk_partials_cuda(scratch.as<float>(), leaves, out_size, out, stream);
}

bool use_tiled(Conv2dCudaPath path, int columns) {
  if (path == Conv2dCudaPath::automatic) return columns >= 8;
  return path != Conv2dCudaPath::direct;
}

// The fixed tile a path asks for (0 = widest), or -1 to choose by size.
int forced_tile(Conv2dCudaPath path) {
  return path >= Conv2dCudaPath::tile0 ? static_cast<int>(path) - static_cast<int>(Conv2dCudaPath::tile0) : -1;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void conv2d_forward_cuda(const Conv2dParams& p, const float* x, const float* w, const float* bias,
                         float* y, cudaStream_t stream, Conv2dCudaPath path) {
  const Geom g = make_geom(p);
  if (g.N == 0) return;
  if (use_tiled(path, g.Cog)) {
    ForwardOp op{x, w, bias, y, g, g.N * g.OHW, g.Cog, g.Cig * g.KHW};
    const int forced = forced_tile(path);
    run_leaves(op, g.G, y, p.output_size(), stream,
               [&](const ForwardOp& o, int z) { launch_rows_gemm(o, z, stream, forced); });
    if (bias && leaf_count(op.K) > 1) {
      add_channel_bias_kernel<<<direct_grid(p.output_size()), 256, 0, stream>>>(y, bias, p.output_size(), g.Co, g.OHW);
      DETNN_CUDA_CHECK_LAUNCH();
    }
  } else {
    forward_direct_kernel<<<direct_grid(p.output_size()), 256, 0, stream>>>(x, w, bias, y, g);
    DETNN_CUDA_CHECK_LAUNCH();
  }
}

void conv2d_backward_data_cuda(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                               cudaStream_t stream, Conv2dCudaPath path) {
  const Geom g = make_geom(p);
  if (g.N == 0) return;
  if (use_tiled(path, g.Cig)) {
    const int M = g.N * g.HW, N = g.Cig, K = g.Cog * g.KHW;
    const int forced = forced_tile(path);
    auto launch = [&](const auto& o, int z) { launch_rows_gemm(o, z, stream, forced); };
    if (g.sh == 1 && g.sw == 1)
      run_leaves(BackwardDataOp<true>{dy, w, dx, g, M, N, K}, g.G, dx, p.input_size(), stream, launch);
    else
      run_leaves(BackwardDataOp<false>{dy, w, dx, g, M, N, K}, g.G, dx, p.input_size(), stream, launch);
  } else {
    if (g.sh == 1 && g.sw == 1)
      backward_data_direct_kernel<true><<<direct_grid(p.input_size()), 256, 0, stream>>>(dy, w, dx, g);
    else
      backward_data_direct_kernel<false><<<direct_grid(p.input_size()), 256, 0, stream>>>(dy, w, dx, g);
    DETNN_CUDA_CHECK_LAUNCH();
  }
}

void conv2d_backward_filter_partials_cuda(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                          const float* dy, float* dw_partials, float* db_partials,
                                          cudaStream_t stream, Conv2dCudaPath path) {
  const Geom g = make_geom(p);
  const int64_t chunks = conv2d_chunks(p, chunk_size);
  DETNN_CHECK(chunks * p.weight_size() < INT_MAX / 2, unsupported,
              "conv2d (CUDA): weight partials must hold fewer than 2^30 elements, got ",
              chunks * p.weight_size());
  if (chunks == 0) return;
  const int kf = g.Cig * g.KHW;
  if (use_tiled(path, std::min(g.Cog, kf))) {
    BackwardFilterOp op{x, dy, dw_partials, g, g.Cog, kf, static_cast<int>(chunk_size) * g.OHW,
                        static_cast<int>(chunk_size)};
    const int forced = forced_tile(path);
    run_leaves(op, static_cast<int>(chunks) * g.G, dw_partials, chunks * p.weight_size(), stream,
               [&](const BackwardFilterOp& o, int z) { launch_filter_gemm(o, z, stream, forced); });
  } else {
    backward_filter_direct_kernel<<<direct_grid(chunks * p.weight_size()), 256, 0, stream>>>(
        x, dy, dw_partials, g, static_cast<int>(chunk_size), static_cast<int>(chunks));
    DETNN_CUDA_CHECK_LAUNCH();
  }
  if (db_partials) launch_bias_partials(g, static_cast<int>(chunk_size), static_cast<int>(chunks), dy, db_partials, stream);
}

void conv2d_backward_filter_cuda(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                 const float* dy, float* dw, float* db, cudaStream_t stream,
                                 Conv2dCudaPath path) {
  p.validate();
  const int64_t chunks = conv2d_chunks(p, chunk_size);
  const int64_t wsize = p.weight_size(), bsize = db ? p.out_channels : 0;
  CudaScratch scratch(static_cast<size_t>(chunks * (wsize + bsize)) * sizeof(float), stream);
  float* dw_partials = scratch.as<float>();
  float* db_partials = db ? dw_partials + chunks * wsize : nullptr;
  conv2d_backward_filter_partials_cuda(p, chunk_size, x, dy, dw_partials, db_partials, stream, path);
  combine_chunk_partials_cuda(dw_partials, chunks, wsize, dw, stream);
  if (db) combine_chunk_partials_cuda(db_partials, chunks, bsize, db, stream);
}

}  // namespace detnn::kernels
