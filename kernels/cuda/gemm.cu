// Strict CUDA GEMM: the same bits as kernels/cpu/gemm.cpp for every shape and launch tile.
//
// Contract 2 (DESIGN §3): K is cut into K-leaves of kDotLeaf terms. With K <= kDotLeaf the kernel
// below computes C directly. Otherwise the leaves are a batched GEMM of their own (leaf l reads
// the A and B slices at k = l * kDotLeaf, writes its own [m, n] slice of a partial buffer; the
// short last leaf is one more call), combine_chunk_partials_cuda combines the slices pairwise in
// leaf order, and leaf_epilogue_kernel adds the bias and stores into C.
//
// Inside a leaf each C element is one fmaf chain from 0.0f over its k in order, owned by one
// thread from start to end: no split of a leaf, no atomics. The classic SIMT SGEMM structure:
//  - a block computes a BM x BN tile of C; K is walked in tiles of BK, staged through shared
//    memory (A as [BK][BM], B as [BK][BN]), double buffered: the next tile's global loads are
//    in registers while the current one is multiplied, one __syncthreads per K tile;
//  - a thread owns TM x TN outputs, as (TM/4) x (TN/4) groups of 4 x 4 spread over the tile so
//    a warp's shared reads are 16-byte, conflict-free or broadcast;
//  - 16-byte global loads when every operand row is 16-byte aligned (VEC), otherwise scalar
//    loads; elements past m, n, k are loaded as zero, and the last, partial K tile runs only
//    its valid k (a zero product would turn an accumulator of -0 into +0);
//  - the epilogue adds the bias after the chain (c = acc + bias[n]) and stores in bounds only.
// Tiles are visited in groups of kGroupM tile rows so neighbouring blocks share A and B in L2.
// Three block tiles (BM x BN x BK, threads, outputs per thread): 128x128x8, 256, 8x8 for large
// products; 64x64x16, 64, 8x8 and 32x32x32, 64, 4x4 when the large tile would leave SMs idle
// (deeper K tiles there: few warps per SM, so each K tile's load latency must buy more work).
// How fast each tile runs, measured: docs/benchmarks.md ("Measurements behind code choices").
#include <algorithm>

#include "kernels/canonical_sum.h"
#include "kernels/gemm.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

namespace {

struct GemmArgs {
  int64_t m, n, k;
  const float* a;
  int64_t lda, stride_a;
  const float* b;
  int64_t ldb, stride_b;
  float* c;
  int64_t ldc, stride_c;
  const float* bias;
  int64_t batch;
  int tiles_m, tiles_n;
  bool c_vec;  // C rows 16-byte aligned: float4 stores
};

constexpr int kGroupM = 8;
constexpr int kPad = 4;  // floats of padding per shared row: conflict-free transposed stores

template <int BM, int BN, int BK, int TM, int TN>
struct Tile {
  static constexpr int kThreadsM = BM / TM, kThreadsN = BN / TN;
  static constexpr int kThreads = kThreadsM * kThreadsN;
  // Blocks per SM to keep resident, which caps the registers: 128 for the 256-thread tile;
  // the small tiles are chosen only when there are at most ~4 blocks per SM anyway.
  static constexpr int kMinBlocks = kThreads >= 256 ? 2 : 4;
  // A warp is 4 thread rows x 8 thread columns.
  static constexpr int kLaneN = 8, kLaneM = 4;
  static constexpr int kWarpsN = kThreadsN / kLaneN;
  static constexpr int kGroupsM = TM / 4, kGroupsN = TN / 4;
  static constexpr int kStrideM = BM / kGroupsM, kStrideN = BN / kGroupsN;
  // 4-element chunks of the A and B tiles, and how many each thread loads.
  static constexpr int kChunksA = BM * BK / 4, kChunksB = BN * BK / 4;
  static constexpr int kLoadsA = (kChunksA + kThreads - 1) / kThreads;
  static constexpr int kLoadsB = (kChunksB + kThreads - 1) / kThreads;
  static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "4-wide groups");
  static_assert(kThreadsN % kLaneN == 0 && (kThreadsM * kThreadsN) % 32 == 0, "whole warps");
  static_assert(kThreadsM % kLaneM == 0, "whole warps");
};

// This thread's share of one operand's BK-deep tiles: kLoads chunks of 4 floats each, chunk
// index tid + l * kThreads. Pointers and bounds are set up once and stepped by one K tile, so
// the K loop carries little index arithmetic (registers go to the accumulators).
//  - kAlongK: the stored operand is contiguous along k (A for N, B for T): a chunk is 4
//    consecutive k of one of the tile's BO rows (m or n);
//  - otherwise it is contiguous along m/n (A for T, B for N): a chunk is 4 consecutive
//    columns of one of the tile's BK k rows.
// Elements outside the operand are loaded as zero and never read through their pointer.
template <int BO, int BK, bool kAlongK, bool kVec, int kLoads, int kChunks, int kThreads>
struct TileLoader {
  const float* p[kLoads];  // the chunk's first element in the current K tile
  int koff[kLoads];        // the chunk's k offset inside the tile
  int valid[kLoads];       // kAlongK: 1 when the row exists; else: how many of the 4 columns do
  int64_t step;            // elements from one K tile to the next

  __device__ __forceinline__ bool active(int l, int tid) const {
    return kChunks % kThreads == 0 || tid + l * kThreads < kChunks;
  }

  __device__ __forceinline__ void init(const float* base, int64_t ld, int64_t outer, int64_t outer0,
                                       int tid) {
    step = kAlongK ? BK : BK * ld;
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      const int idx = tid + l * kThreads;
      if (kAlongK) {
        const int64_t row = outer0 + idx / (BK / 4);
        koff[l] = (idx % (BK / 4)) * 4;
        valid[l] = row < outer;
        p[l] = base + (valid[l] ? row : 0) * ld + koff[l];
      } else {
        const int64_t col = outer0 + (idx % (BO / 4)) * 4;
        koff[l] = idx / (BO / 4);
        valid[l] = static_cast<int>(min(max(outer - col, int64_t(0)), int64_t(4)));
        p[l] = base + koff[l] * ld + (valid[l] > 0 ? col : 0);
      }
    }
  }

  // Loads the chunks of the K tile starting at k0 (< K) and steps to the next tile.
  __device__ __forceinline__ void load(float4 (&v)[kLoads], int k0, int K, int tid) {
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      if (!active(l, tid)) continue;
      v[l] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      const float* q = p[l];
      if (kAlongK) {
        const int k = k0 + koff[l];
        if (valid[l]) {
          if (kVec && k + 3 < K) {
            v[l] = __ldg(reinterpret_cast<const float4*>(q));
          } else {
            if (k < K) v[l].x = __ldg(q);
            if (k + 1 < K) v[l].y = __ldg(q + 1);
            if (k + 2 < K) v[l].z = __ldg(q + 2);
            if (k + 3 < K) v[l].w = __ldg(q + 3);
          }
        }
      } else if (k0 + koff[l] < K) {
        if (kVec && valid[l] == 4) {
          v[l] = __ldg(reinterpret_cast<const float4*>(q));
        } else {
          if (valid[l] > 0) v[l].x = __ldg(q);
          if (valid[l] > 1) v[l].y = __ldg(q + 1);
          if (valid[l] > 2) v[l].z = __ldg(q + 2);
          if (valid[l] > 3) v[l].w = __ldg(q + 3);
        }
      }
      p[l] += step;
    }
  }

  // Stores the chunks into the shared tile s[BK][BO + kPad] (k-major).
  __device__ __forceinline__ void store(const float4 (&v)[kLoads], float (*s)[BO + kPad],
                                        int tid) const {
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      if (!active(l, tid)) continue;
      const int idx = tid + l * kThreads;
      if (kAlongK) {
        const int r = idx / (BK / 4), kk = koff[l];
        s[kk + 0][r] = v[l].x;
        s[kk + 1][r] = v[l].y;
        s[kk + 2][r] = v[l].z;
        s[kk + 3][r] = v[l].w;
      } else {
        *reinterpret_cast<float4*>(&s[koff[l]][(idx % (BO / 4)) * 4]) = v[l];
      }
    }
  }
};

template <int BM, int BN, int BK, int TM, int TN, Trans TA, Trans TB, bool kVec>
__global__ void __launch_bounds__(Tile<BM, BN, BK, TM, TN>::kThreads,
                                  Tile<BM, BN, BK, TM, TN>::kMinBlocks)
    gemm_kernel(GemmArgs g) {
  using T = Tile<BM, BN, BK, TM, TN>;
  constexpr bool kAAlongK = TA == Trans::N, kBAlongK = TB == Trans::T;
  __shared__ __align__(16) float As[2][BK][BM + kPad];
  __shared__ __align__(16) float Bs[2][BK][BN + kPad];

  // Tile coordinates: groups of kGroupM tile rows, column-major inside a group.
  const int64_t tile = blockIdx.x;
  const int64_t per_group = int64_t(kGroupM) * g.tiles_n;
  const int64_t first_m = (tile / per_group) * kGroupM;
  const int64_t group_rows = min(int64_t(g.tiles_m) - first_m, int64_t(kGroupM));
  const int64_t tile_m = first_m + (tile % per_group) % group_rows;
  const int64_t tile_n = (tile % per_group) / group_rows;
  const int64_t m0 = tile_m * BM, n0 = tile_n * BN;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int ty = (warp / T::kWarpsN) * T::kLaneM + lane / T::kLaneN;
  const int tx = (warp % T::kWarpsN) * T::kLaneN + lane % T::kLaneN;
  const int K = static_cast<int>(g.k);  // the host checks k < 2^31 - BK
  const int k_tiles = (K + BK - 1) / BK;

  {
    const int64_t z = blockIdx.y;  // the matrix of the batch (the host launches <= 65535)
    const float* __restrict__ a = g.a + z * g.stride_a;
    const float* __restrict__ b = g.b + z * g.stride_b;
    float* __restrict__ c = g.c + z * g.stride_c;

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    TileLoader<BM, BK, kAAlongK, kVec, T::kLoadsA, T::kChunksA, T::kThreads> la;
    TileLoader<BN, BK, kBAlongK, kVec, T::kLoadsB, T::kChunksB, T::kThreads> lb;
    la.init(a, g.lda, g.m, m0, tid);
    lb.init(b, g.ldb, g.n, n0, tid);
    float4 ra[T::kLoadsA], rb[T::kLoadsB];
    auto load_tile = [&](int t) {
      la.load(ra, t * BK, K, tid);
      lb.load(rb, t * BK, K, tid);
    };
    auto store_tile = [&](int buf) {
      la.store(ra, As[buf], tid);
      lb.store(rb, Bs[buf], tid);
    };
    // One k step: the thread's TM values of A and TN of B, then TM x TN fmaf.
    auto step = [&](int buf, int kk) {
      float av[TM], bv[TN];
#pragma unroll
      for (int gm = 0; gm < T::kGroupsM; ++gm) {
        const float4 v = *reinterpret_cast<const float4*>(&As[buf][kk][ty * 4 + gm * T::kStrideM]);
        av[gm * 4 + 0] = v.x, av[gm * 4 + 1] = v.y, av[gm * 4 + 2] = v.z, av[gm * 4 + 3] = v.w;
      }
#pragma unroll
      for (int gn = 0; gn < T::kGroupsN; ++gn) {
        const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * 4 + gn * T::kStrideN]);
        bv[gn * 4 + 0] = v.x, bv[gn * 4 + 1] = v.y, bv[gn * 4 + 2] = v.z, bv[gn * 4 + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    };

    if (k_tiles > 0) {
      load_tile(0);
      store_tile(0);
    }
    __syncthreads();
    for (int t = 0; t < k_tiles; ++t) {
      const int buf = t & 1;
      const bool more = t + 1 < k_tiles;
      if (more) load_tile(t + 1);  // in flight while this tile is multiplied
      const int k_left = K - t * BK;
      if (k_left >= BK) {
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) step(buf, kk);
      } else {
        // The last, partial tile: only its valid k, so no extra (zero) term joins a chain.
#pragma unroll 1
        for (int kk = 0; kk < k_left; ++kk) step(buf, kk);
      }
      // buf ^ 1 was last read in iteration t - 1, which every thread finished before the
      // __syncthreads ending it; this one's __syncthreads publishes it for iteration t + 1.
      if (more) store_tile(buf ^ 1);
      __syncthreads();
    }

    // Epilogue: c = acc (+ bias), in bounds only. Offsets are taken from this thread's first
    // row and column so the checks are 32-bit compares against constants.
    {
      const int64_t row0 = m0 + ty * 4, col0 = n0 + tx * 4;
      const int rows_left = static_cast<int>(min(g.m - row0, int64_t(BM)));
      const int cols_left = static_cast<int>(min(g.n - col0, int64_t(BN)));
      float* ct = c + row0 * g.ldc + col0;
      const float* bt = g.bias ? g.bias + col0 : nullptr;
      const bool vec_ok = g.c_vec;
#pragma unroll
      for (int gn = 0; gn < T::kGroupsN; ++gn) {
        const int co = gn * T::kStrideN;
        float bb[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (bt) {
#pragma unroll
          for (int q = 0; q < 4; ++q)
            if (co + q < cols_left) bb[q] = bt[co + q];
        }
#pragma unroll
        for (int i = 0; i < TM; ++i) {
          const int ro = (i / 4) * T::kStrideM + i % 4;
          if (ro >= rows_left) continue;
          float v[4];
#pragma unroll
          for (int q = 0; q < 4; ++q) v[q] = bt ? acc[i][gn * 4 + q] + bb[q] : acc[i][gn * 4 + q];
          float* p = ct + ro * g.ldc + co;
          if (vec_ok && co + 3 < cols_left) {
            *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
          } else {
#pragma unroll
            for (int q = 0; q < 4; ++q)
              if (co + q < cols_left) p[q] = v[q];
          }
        }
      }
    }
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <int BM, int BN, int BK, int TM, int TN, Trans TA, Trans TB>
void launch_layout(GemmArgs g, bool vec, cudaStream_t stream) {
  using T = Tile<BM, BN, BK, TM, TN>;
  const int64_t tiles = int64_t(g.tiles_m) * g.tiles_n;
  DETNN_CHECK(tiles <= 0x7fffffff, invalid_argument, "gemm_cuda: too many tiles (", tiles,
              ") for m=", g.m, " n=", g.n);
  // grid.y is the matrix of the batch: launches of at most 65535 matrices each.
  constexpr int64_t kMaxBatch = 65535;
  for (int64_t first = 0; first < g.batch; first += kMaxBatch) {
    GemmArgs part = g;
    part.a = g.a ? g.a + first * g.stride_a : nullptr;
    part.b = g.b ? g.b + first * g.stride_b : nullptr;
    part.c = g.c + first * g.stride_c;
    part.batch = std::min(kMaxBatch, g.batch - first);
    const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(part.batch));
    if (vec)
      gemm_kernel<BM, BN, BK, TM, TN, TA, TB, true><<<grid, T::kThreads, 0, stream>>>(part);
    else
      gemm_kernel<BM, BN, BK, TM, TN, TA, TB, false><<<grid, T::kThreads, 0, stream>>>(part);
    DETNN_CUDA_CHECK_LAUNCH();
  }
}

template <int BM, int BN, int BK, int TM, int TN>
void launch_tile(Trans ta, Trans tb, GemmArgs g, bool vec, cudaStream_t stream) {
  g.tiles_m = static_cast<int>((g.m + BM - 1) / BM);
  g.tiles_n = static_cast<int>((g.n + BN - 1) / BN);
  if (ta == Trans::N && tb == Trans::N)
    launch_layout<BM, BN, BK, TM, TN, Trans::N, Trans::N>(g, vec, stream);
  else if (ta == Trans::N)
    launch_layout<BM, BN, BK, TM, TN, Trans::N, Trans::T>(g, vec, stream);
  else if (tb == Trans::N)
    launch_layout<BM, BN, BK, TM, TN, Trans::T, Trans::N>(g, vec, stream);
  else
    launch_layout<BM, BN, BK, TM, TN, Trans::T, Trans::T>(g, vec, stream);
}

int sm_count() {
  int device = 0, sms = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&device));
  DETNN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

int64_t tiles_of(int64_t m, int64_t n, int64_t batch, int t) {
  return ((m + t - 1) / t) * ((n + t - 1) / t) * batch;
}

// The largest tile that still gives every SM a block (the bits are the same for all).
int choose_tile(int64_t m, int64_t n, int64_t batch) {
  const int64_t sms = sm_count();
  if (tiles_of(m, n, batch, 128) >= sms) return 128;
  if (tiles_of(m, n, batch, 64) >= sms) return 64;
  return 32;
}

// One launch: every chain over all of k (k <= kDotLeaf, or one leaf of a longer product).
void gemm_chains_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                       int64_t stride_b, float* c, int64_t ldc, int64_t stride_c, int64_t batch,
                       const float* bias, cudaStream_t stream, const GemmCudaLaunch& launch) {
  DETNN_CHECK(launch.tile == 0 || launch.tile == 32 || launch.tile == 64 || launch.tile == 128,
              invalid_argument, "gemm_cuda: launch.tile must be 0, 32, 64 or 128, got ",
              launch.tile);
  if (batch == 0 || m == 0 || n == 0) return;
  DETNN_CHECK(k <= 0x7fffffff - 64, invalid_argument, "gemm_cuda: k must be < 2^31 - 64, got ", k);
  GemmArgs g{};
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.lda = lda, g.stride_a = stride_a;
  g.b = b, g.ldb = ldb, g.stride_b = stride_b;
  g.c = c, g.ldc = ldc, g.stride_c = stride_c;
  g.bias = bias;
  g.batch = batch;
  // 16-byte loads need every row of every matrix 16-byte aligned (k == 0 reads nothing).
  const bool a_vec = k == 0 || (aligned16(a) && lda % 4 == 0 && (batch == 1 || stride_a % 4 == 0));
  const bool b_vec = k == 0 || (aligned16(b) && ldb % 4 == 0 && (batch == 1 || stride_b % 4 == 0));
  const bool vec = a_vec && b_vec;
  g.c_vec = aligned16(c) && ldc % 4 == 0 && (batch == 1 || stride_c % 4 == 0);
  const int tile = launch.tile != 0 ? launch.tile : choose_tile(m, n, batch);
  if (tile == 128)
    launch_tile<128, 128, 8, 8, 8>(ta, tb, g, vec, stream);
  else if (tile == 64)
    launch_tile<64, 64, 16, 8, 8>(ta, tb, g, vec, stream);
  else
    launch_tile<32, 32, 32, 4, 4>(ta, tb, g, vec, stream);
}

// C[i * ldc + j] = sum[i * n + j] (+ bias[j]): the combined leaves, then the bias, as on the CPU.
__global__ void leaf_epilogue_kernel(const float* __restrict__ sum, int64_t m, int64_t n,
                                     const float* __restrict__ bias, float* __restrict__ c, int64_t ldc) {
  const int64_t total = m * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / n, col = i - row * n;
    c[row * ldc + col] = bias ? sum[i] + bias[col] : sum[i];
  }
}

// One product (batch 1) with k > kDotLeaf: the leaves into a partial buffer, combined pairwise.
void gemm_leaves_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias,
                      cudaStream_t stream, const GemmCudaLaunch& launch) {
  const int64_t full = k / kDotLeaf, rest = k - full * kDotLeaf, leaves = full + (rest > 0 ? 1 : 0);
  const int64_t slice = m * n;
  CudaScratch scratch(static_cast<size_t>((leaves + 1) * slice) * sizeof(float), stream);
  float* partials = scratch.as<float>();
  float* sum = partials + leaves * slice;
  // Leaf l of op(A) starts at column l * kDotLeaf (A stored [m, k]) or row l * kDotLeaf ([k, m]);
  // of op(B) at row l * kDotLeaf ([k, n]) or column l * kDotLeaf ([n, k]).
  const int64_t step_a = ta == Trans::N ? kDotLeaf : kDotLeaf * lda;
  const int64_t step_b = tb == Trans::N ? kDotLeaf * ldb : kDotLeaf;
  gemm_chains_cuda(ta, tb, m, n, kDotLeaf, a, lda, step_a, b, ldb, step_b, partials, n, slice, full, nullptr,
                   stream, launch);
  if (rest > 0)
    gemm_chains_cuda(ta, tb, m, n, rest, a + full * step_a, lda, 0, b + full * step_b, ldb, 0,
                     partials + full * slice, n, slice, 1, nullptr, stream, launch);
  combine_chunk_partials_cuda(partials, leaves, slice, sum, stream);
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>((slice + 255) / 256, 1, 1 << 16));
  leaf_epilogue_kernel<<<blocks, 256, 0, stream>>>(sum, m, n, bias, c, ldc);
  DETNN_CUDA_CHECK_LAUNCH();
}

void gemm_cuda_checked(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                       int64_t stride_b, float* c, int64_t ldc, int64_t stride_c, int64_t batch,
                       const float* bias, cudaStream_t stream, const GemmCudaLaunch& launch) {
  if (k <= kDotLeaf || batch == 0 || m == 0 || n == 0) {
    gemm_chains_cuda(ta, tb, m, n, k, a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, batch, bias, stream,
                     launch);
    return;
  }
  // Each matrix of the batch is its own product (batched calls with k > kDotLeaf are rare: the
  // per-chunk weight gradients of linear layers have k = the chunk size).
  for (int64_t i = 0; i < batch; ++i)
    gemm_leaves_cuda(ta, tb, m, n, k, a + i * stride_a, lda, b + i * stride_b, ldb, c + i * stride_c, ldc, bias,
                     stream, launch);
}

}  // namespace

void gemm_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias,
               cudaStream_t stream, const GemmCudaLaunch& launch) {
  validate_gemm_args("gemm_cuda", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  gemm_cuda_checked(ta, tb, m, n, k, a, lda, 0, b, ldb, 0, c, ldc, 0, 1, bias, stream, launch);
}

void gemm_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias,
               cudaStream_t stream) {
  gemm_cuda(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, bias, stream, GemmCudaLaunch{});
}

void gemm_batched_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                       float* c, int64_t ldc, int64_t stride_c, int64_t batch, const float* bias,
                       cudaStream_t stream, const GemmCudaLaunch& launch) {
  validate_gemm_batched_args("gemm_batched_cuda", ta, tb, m, n, k, a, lda, stride_a, b, ldb,
                             stride_b, c, ldc, stride_c, batch);
  gemm_cuda_checked(ta, tb, m, n, k, a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, batch,
                    bias, stream, launch);
}

void gemm_batched_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                       float* c, int64_t ldc, int64_t stride_c, int64_t batch, const float* bias,
                       cudaStream_t stream) {
  gemm_batched_cuda(ta, tb, m, n, k, a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, batch,
                    bias, stream, GemmCudaLaunch{});
}

}  // namespace detnn::kernels
