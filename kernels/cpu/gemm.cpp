// CPU GEMM: the bit-exact reference for every layout, on the shared microkernels
// (kernels/cpu/dot_block.h).
//
// Contract 2 (DESIGN §3): K is cut into leaves of kDotLeaf terms; each leaf is its own product
// of the A and B slices it covers (gemm_chains below), and the leaf results are combined per
// output by the pairwise rule (LeafCombiner), then the bias is added. K <= kDotLeaf is one leaf.
// Inside a leaf every C element is one fmaf chain from 0.0f over its k in order: B is packed
// into panels of 16 columns, A per task into panels of the kernel's rows, the microkernel
// vectorizes across the 16 columns, and threads take (row block, column group) tasks, never a
// part of K. So the bits depend on neither the thread count, the blocking, m, nor the
// instruction set (runtime/cpu_isa.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "kernels/cpu/dot_block.h"
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

constexpr int64_t kNR = kDotTileColumns;
constexpr int64_t kRowBlock = 96;        // rows of a task
constexpr int64_t kPackedFloats = 1 << 22;  // floats of packed A, and of packed B, per pass (16 MiB)

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// k == 0: every chain is empty, c = 0.0f (+ bias).
void fill_empty_product(int64_t m, int64_t n, float* c, int64_t ldc, const float* bias) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = bias ? 0.0f + bias[j] : 0.0f;
}

// One fmaf chain per output over the k terms given (one K-leaf, k <= kDotLeaf), then + bias.
// A and B are packed into panels shared by the threads (a few MiB at most per pass over rows
// and columns); the tasks then run the microkernel over their rows and columns.
void gemm_chains(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias) {
  const DotTileKernel kern = dot_tile_kernel();
  const int64_t mr = kern.mr;
  ThreadPool& pool = cpu_thread_pool();
  const int64_t threads = pool.num_threads();
  // Tiny products are not worth waking the pool.
  const bool serial = threads == 1 || m * n * k < (int64_t{1} << 15);
  auto run = [&](int64_t count, const std::function<void(int64_t, int64_t)>& body) {
    if (serial)
      body(0, count);
    else
      pool.parallel_for(count, body);
  };

  const int64_t mc_max = std::max<int64_t>(mr, kPackedFloats / k / mr * mr);
  const int64_t nc_max = std::max<int64_t>(kNR, kPackedFloats / k / kNR * kNR);
  thread_local std::vector<float> packed_a, packed_b;  // the calling thread's; workers only read them
  for (int64_t i_pass = 0; i_pass < m; i_pass += mc_max) {
    const int64_t mp = std::min(mc_max, m - i_pass), row_panels = ceil_div(mp, mr);
    packed_a.resize(static_cast<size_t>(row_panels * mr * k));
    float* const ap = packed_a.data();  // a thread_local named inside the tasks would be the worker's own
    run(row_panels, [&](int64_t begin, int64_t end) {
      for (int64_t ip = begin; ip < end; ++ip) {
        const int64_t i = i_pass + ip * mr;
        pack_a_panels(ta == Trans::N ? a + i * lda : a + i, lda, ta == Trans::T, std::min(mr, m - i), k, kern.mr,
                      ap + ip * mr * k, mr * k);
      }
    });
    // Row blocks of equal size (whole panels), about kRowBlock rows each.
    const int64_t block_panels = ceil_div(row_panels, ceil_div(row_panels * mr, kRowBlock));
    const int64_t m_blocks = ceil_div(row_panels, block_panels);
    for (int64_t j_pass = 0; j_pass < n; j_pass += nc_max) {
      const int64_t np = std::min(nc_max, n - j_pass), panels = ceil_div(np, kNR);
      packed_b.resize(static_cast<size_t>(panels * kNR * k));
      float* const bp = packed_b.data();
      run(panels, [&](int64_t begin, int64_t end) {
        for (int64_t jp = begin; jp < end; ++jp) {
          const int64_t j = j_pass + jp * kNR;
          pack_b_panels(tb == Trans::N ? b + j : b + j * ldb, ldb, tb == Trans::T, std::min(kNR, n - j), k,
                        bp + jp * kNR * k);
        }
      });
      // Tasks: column groups x row blocks, column-group-major, at least 8 per thread where the
      // shape allows, with a multiple of the thread count of column groups: the pool splits the
      // tasks into equal contiguous ranges, so each thread gets whole column groups.
      const int64_t groups =
          serial ? 1 : std::clamp<int64_t>(ceil_div(ceil_div(8 * threads, m_blocks), threads) * threads, 1, panels);
      const int64_t panels_per_group = ceil_div(panels, groups);
      run(m_blocks * groups, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t ip = (t % m_blocks) * block_panels, jp = (t / m_blocks) * panels_per_group;
          const int64_t i = i_pass + ip * mr, j = j_pass + jp * kNR;
          if (i >= i_pass + mp || j >= j_pass + np) continue;
          const int64_t rows = std::min(block_panels * mr, i_pass + mp - i);
          const int64_t cols = std::min(panels_per_group * kNR, j_pass + np - j);
          float* out = c + i * ldc + j;
          dot_block(kern, rows, cols, k, ap + ip * mr * k, DotB{bp + jp * kNR * k, kNR, kNR * k, true}, out, ldc);
          if (bias)
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t q = 0; q < cols; ++q) out[r * ldc + q] = out[r * ldc + q] + bias[j + q];
        }
      });
    }
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
