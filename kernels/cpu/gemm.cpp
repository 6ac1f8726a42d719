// CPU GEMM: the bit-exact reference for every layout, blocked for speed (the BLIS loop nest).
//
// Contract 2 (DESIGN §3): K is cut into leaves of kDotLeaf terms; each leaf is its own product
// of the A and B slices it covers (gemm_chains below), and the leaf results are combined per
// output by the pairwise rule (LeafCombiner), then the bias is added. K <= kDotLeaf is one leaf.
//
// Inside a leaf every C element is one fmaf chain from 0.0f over its k in order:
//  - B is packed for all of K into panels of kNR columns, A per task into panels of kMR rows;
//  - K is cut into blocks of kKC; the microkernel starts block 0 from zero and every later
//    block from the float accumulators the previous block stored into C, so the chain goes on
//    unchanged (a float stored and reloaded is the same float);
//  - the microkernel vectorizes across the kNR output columns, one fmadd per output per k;
//  - threads take (row block, column group) tasks, never a part of K;
//  - edge tiles run the same microkernel on a zero-padded tile copied in and out of C;
//  - the bias is added after the last K block (c = acc + bias[n]).
// So the bits depend on neither the thread count, the blocking, m, nor the instruction set
// (the AVX2 and the portable microkernel compute the same IEEE operations).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm_kernel.h"
#include "kernels/cpu/leaf_combiner.h"
#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/thread_pool.h"

namespace detnn::kernels {

namespace {

const char* trans_name(Trans t) { return t == Trans::N ? "N" : "T"; }

}  // namespace

void validate_gemm_args(const char* op, Trans ta, Trans tb, int64_t m, int64_t n, int64_t k,
                        const float* a, int64_t lda, const float* b, int64_t ldb, const float* c,
                        int64_t ldc) {
  DETNN_CHECK(m >= 0, invalid_argument, op, ": m must be >= 0, got ", m);
  DETNN_CHECK(n >= 0, invalid_argument, op, ": n must be >= 0, got ", n);
  DETNN_CHECK(k >= 0, invalid_argument, op, ": k must be >= 0, got ", k);
  // The stored A is [m, k] (N) or [k, m] (T); its rows are lda apart.
  const int64_t a_cols = ta == Trans::N ? k : m;
  const int64_t b_cols = tb == Trans::N ? n : k;
  DETNN_CHECK(lda >= a_cols, invalid_argument, op, ": lda must be >= ", ta == Trans::N ? "k" : "m",
              " (", a_cols, ") for ta=", trans_name(ta), ", got ", lda);
  DETNN_CHECK(ldb >= b_cols, invalid_argument, op, ": ldb must be >= ", tb == Trans::N ? "n" : "k",
              " (", b_cols, ") for tb=", trans_name(tb), ", got ", ldb);
  DETNN_CHECK(ldc >= n, invalid_argument, op, ": ldc must be >= n (", n, "), got ", ldc);
  DETNN_CHECK(a != nullptr || m == 0 || k == 0, invalid_argument, op,
              ": a is null but op(A) is ", m, "x", k);
  DETNN_CHECK(b != nullptr || k == 0 || n == 0, invalid_argument, op,
              ": b is null but op(B) is ", k, "x", n);
  DETNN_CHECK(c != nullptr || m == 0 || n == 0, invalid_argument, op, ": c is null but C is ", m,
              "x", n);
}

void validate_gemm_batched_args(const char* op, Trans ta, Trans tb, int64_t m, int64_t n,
                                int64_t k, const float* a, int64_t lda, int64_t stride_a,
                                const float* b, int64_t ldb, int64_t stride_b, const float* c,
                                int64_t ldc, int64_t stride_c, int64_t batch) {
  DETNN_CHECK(batch >= 0, invalid_argument, op, ": batch must be >= 0, got ", batch);
  DETNN_CHECK(stride_a >= 0, invalid_argument, op, ": stride_a must be >= 0, got ", stride_a);
  DETNN_CHECK(stride_b >= 0, invalid_argument, op, ": stride_b must be >= 0, got ", stride_b);
  DETNN_CHECK(stride_c >= 0, invalid_argument, op, ": stride_c must be >= 0, got ", stride_c);
  if (batch == 0) return;
  validate_gemm_args(op, ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  if (batch > 1 && m > 0 && n > 0) {
    const int64_t c_span = (m - 1) * ldc + n;
    DETNN_CHECK(stride_c >= c_span, invalid_argument, op,
                ": stride_c must be >= (m-1)*ldc+n (", c_span,
                ") so the C matrices do not overlap, got ", stride_c);
  }
}

namespace {

using gemm_detail::kMR;
using gemm_detail::kNR;

constexpr int64_t kKC = 256;          // K block: a B micro-panel (kKC x kNR) stays in L1
constexpr int64_t kMC = 120;          // row block: a packed A block (kMC x kKC) stays in L2
constexpr int64_t kPackedB = 1 << 22;  // floats of packed B per column block (16 MiB)

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A[i0 : i0+mc, p0 : p0+kc] of op(A) into kMR-row panels, each [kc][kMR], rows past mc zero.
void pack_a(Trans ta, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float* dst) {
  for (int64_t ir = 0; ir < mc; ir += kMR) {
    const int64_t rows = std::min<int64_t>(kMR, mc - ir);
    float* d = dst + ir * kc;
    if (ta == Trans::N) {
      for (int64_t r = 0; r < rows; ++r) {
        const float* src = a + (i0 + ir + r) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) d[p * kMR + r] = src[p];
      }
      for (int64_t r = rows; r < kMR; ++r)
        for (int64_t p = 0; p < kc; ++p) d[p * kMR + r] = 0.0f;
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ir;
        for (int64_t r = 0; r < rows; ++r) d[p * kMR + r] = src[r];
        for (int64_t r = rows; r < kMR; ++r) d[p * kMR + r] = 0.0f;
      }
    }
  }
}

// Panel `panel` (columns j, j+kNR) of op(B)[p0 : p0+kc, :] into [kc][kNR], columns past n zero.
void pack_b_panel(Trans tb, const float* b, int64_t ldb, int64_t n, int64_t j, int64_t p0,
                  int64_t kc, float* d) {
  const int64_t cols = std::min<int64_t>(kNR, n - j);
  if (tb == Trans::N) {
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b + (p0 + p) * ldb + j;
      std::memcpy(d + p * kNR, src, sizeof(float) * cols);
      for (int64_t c = cols; c < kNR; ++c) d[p * kNR + c] = 0.0f;
    }
  } else {
    for (int64_t c = 0; c < cols; ++c) {
      const float* src = b + (j + c) * ldb + p0;
      for (int64_t p = 0; p < kc; ++p) d[p * kNR + c] = src[p];
    }
    for (int64_t c = cols; c < kNR; ++c)
      for (int64_t p = 0; p < kc; ++p) d[p * kNR + c] = 0.0f;
  }
}

// One kMR x kNR tile of C (rows x cols of it inside C). `accumulate`: the chain goes on from
// the values in C; `bias` (the tile's first column) is added after the chain.
void run_tile(gemm_detail::MicroKernel kernel, int64_t kc, const float* ap, const float* bp,
              float* c, int64_t ldc, int64_t rows, int64_t cols, bool accumulate,
              const float* bias) {
  if (rows == kMR && cols == kNR) {
    kernel(kc, ap, bp, c, ldc, accumulate, bias);
    return;
  }
  alignas(64) float tile[kMR * kNR] = {};
  alignas(64) float tile_bias[kNR] = {};
  if (accumulate)
    for (int64_t r = 0; r < rows; ++r) std::memcpy(tile + r * kNR, c + r * ldc, sizeof(float) * cols);
  if (bias) std::memcpy(tile_bias, bias, sizeof(float) * cols);
  kernel(kc, ap, bp, tile, kNR, accumulate, bias ? tile_bias : nullptr);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * ldc, tile + r * kNR, sizeof(float) * cols);
}

// k == 0: every chain is empty, c = 0.0f (+ bias).
void fill_empty_product(int64_t m, int64_t n, float* c, int64_t ldc, const float* bias) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = bias ? 0.0f + bias[j] : 0.0f;
}

// One fmaf chain per output over all k given (one K-leaf), then + bias.
void gemm_chains(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias) {
  const gemm_detail::MicroKernel kernel = gemm_detail::best_microkernel();
  ThreadPool& pool = cpu_thread_pool();
  const int64_t threads = pool.num_threads();
  // Tiny products are not worth waking the pool.
  const bool serial = threads == 1 || m * n * k < (int64_t{1} << 15);

  const int64_t k_blocks = ceil_div(k, kKC);
  const int64_t nc_max = std::max<int64_t>(kNR, kPackedB / k / kNR * kNR);
  thread_local std::vector<float> packed_b;  // the calling thread's; workers only read it

  for (int64_t j0 = 0; j0 < n; j0 += nc_max) {
    const int64_t nc = std::min(nc_max, n - j0);
    const int64_t panels = ceil_div(nc, kNR);
    const int64_t ncp = panels * kNR;
    packed_b.resize(static_cast<size_t>(k * ncp));
    float* bp_all = packed_b.data();
    // K block p0 of the column block starts at p0 * ncp; panel jr of it at + jr * kc * kNR.
    auto pack_b = [&](int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) {
        const int64_t pb = u / panels, jr = u % panels;
        const int64_t p0 = pb * kKC, kc = std::min(kKC, k - p0);
        pack_b_panel(tb, b, ldb, n, j0 + jr * kNR, p0, kc, bp_all + p0 * ncp + jr * kc * kNR);
      }
    };
    if (serial)
      pack_b(0, k_blocks * panels);
    else
      pool.parallel_for(k_blocks * panels, pack_b, std::max<int64_t>(1, 4096 / kKC));

    // Tasks: row blocks (of equal size, a multiple of kMR) x column groups, at least 8 per
    // thread where the shape allows: the pool splits them into equal contiguous ranges, so
    // this bounds the imbalance between threads to about 1/8.
    const int64_t mc_even = ceil_div(ceil_div(m, ceil_div(m, kMC)), kMR) * kMR;
    const int64_t m_blocks = ceil_div(m, mc_even);
    const int64_t groups =
        serial ? 1 : std::clamp<int64_t>(ceil_div(8 * threads, m_blocks), 1, panels);
    const int64_t panels_per_group = ceil_div(panels, groups);
    auto compute = [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> packed_a;
      packed_a.resize(static_cast<size_t>(ceil_div(kMC, kMR) * kMR * kKC));
      for (int64_t t = begin; t < end; ++t) {
        const int64_t ib = t / groups, g = t % groups;
        const int64_t i0 = ib * mc_even, mc = std::min(mc_even, m - i0);
        const int64_t jr_begin = g * panels_per_group;
        const int64_t jr_end = std::min(panels, jr_begin + panels_per_group);
        for (int64_t pb = 0; pb < k_blocks; ++pb) {
          const int64_t p0 = pb * kKC, kc = std::min(kKC, k - p0);
          const bool last = pb + 1 == k_blocks;
          pack_a(ta, a, lda, i0, mc, p0, kc, packed_a.data());
          for (int64_t jr = jr_begin; jr < jr_end; ++jr) {
            const int64_t j = j0 + jr * kNR;
            const int64_t cols = std::min<int64_t>(kNR, n - j);
            const float* bp = bp_all + p0 * ncp + jr * kc * kNR;
            for (int64_t ir = 0; ir < mc; ir += kMR) {
              run_tile(kernel, kc, packed_a.data() + ir * kc, bp, c + (i0 + ir) * ldc + j, ldc,
                       std::min<int64_t>(kMR, mc - ir), cols, pb > 0,
                       last && bias ? bias + j : nullptr);
            }
          }
        }
      }
    };
    if (serial)
      compute(0, m_blocks * groups);
    else
      pool.parallel_for(m_blocks * groups, compute);
  }
}

// Contract 2: the K-leaves as separate products, combined pairwise per output, then + bias.
void gemm_unchecked(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                    const float* bias) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    fill_empty_product(m, n, c, ldc, bias);
    return;
  }
  if (k <= kDotLeaf) {
    gemm_chains(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, bias);
    return;
  }
  LeafCombiner leaves(m * n);
  for (int64_t p0 = 0; p0 < k; p0 += kDotLeaf) {
    // Leaf columns p0.. of op(A) and rows p0.. of op(B), wherever they are stored.
    const float* a_leaf = ta == Trans::N ? a + p0 : a + p0 * lda;
    const float* b_leaf = tb == Trans::N ? b + p0 * ldb : b + p0;
    gemm_chains(ta, tb, m, n, std::min(kDotLeaf, k - p0), a_leaf, lda, b_leaf, ldb, leaves.next_leaf(), n,
                nullptr);
    leaves.push();
  }
  const float* sum = leaves.result();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = bias ? sum[i * n + j] + bias[j] : sum[i * n + j];
}

}  // namespace

void gemm_cpu(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias) {
  validate_gemm_args("gemm_cpu", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  gemm_unchecked(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, bias);
}

void gemm_batched_cpu(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                      float* c, int64_t ldc, int64_t stride_c, int64_t batch, const float* bias) {
  validate_gemm_batched_args("gemm_batched_cpu", ta, tb, m, n, k, a, lda, stride_a, b, ldb,
                             stride_b, c, ldc, stride_c, batch);
  // Each matrix is its own GEMM; the threads split inside it (by outputs, as always).
  for (int64_t i = 0; i < batch; ++i)
    gemm_unchecked(ta, tb, m, n, k, a ? a + i * stride_a : a, lda, b ? b + i * stride_b : b, ldb,
                   c ? c + i * stride_c : c, ldc, bias);
}

}  // namespace detnn::kernels
