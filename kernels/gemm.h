// GEMM in the layouts the layers need (NN, NT, TN), with an optional bias added after the dot
// product. DESIGN §3 (contract 2): each C element is the K-leaf rule over k = 0..K-1 — leaves of
// kDotLeaf = 1024 terms, each one fmaf chain from 0.0f, combined pairwise; tiles over K are
// fine, splitting a leaf across threads is not. The bits do not depend on the thread count,
// the launch shape, or on M (a row's result is the same whatever other rows are computed).
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace detnn::kernels {

enum class Trans : uint8_t { N, T };

// C[m, n] = sum_k opA[m, k] * opB[k, n]  (+ bias[n] when bias != nullptr), all row-major.
// opA = A ([m, k], lda >= k) for Trans::N, or A^T (A is [k, m], lda >= m) for Trans::T;
// likewise opB = B ([k, n], ldb >= n) or B^T (B is [n, k], ldb >= k). ldc >= n.
// k == 0 gives C = 0 (+ bias). Throws Error(invalid_argument) naming bad sizes/strides.
// C must not alias A, B or bias.
void gemm_cpu(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias = nullptr);

// `batch` independent GEMMs: matrix i uses a + i*stride_a, b + i*stride_b, c + i*stride_c
// (bias shared). Used for per-chunk weight-gradient partials.
void gemm_batched_cpu(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                      float* c, int64_t ldc, int64_t stride_c, int64_t batch,
                      const float* bias = nullptr);

// Checks the arguments of one GEMM (what gemm_cpu and gemm_cuda check first) and throws
// Error(invalid_argument) naming the bad one: negative sizes, leading dimensions below the
// stored row length, null pointers for operands with elements. `op` prefixes the message.
void validate_gemm_args(const char* op, Trans ta, Trans tb, int64_t m, int64_t n, int64_t k,
                        const float* a, int64_t lda, const float* b, int64_t ldb, const float* c,
                        int64_t ldc);
// The batched checks on top: batch >= 0, strides >= 0, and C matrices that do not overlap
// (stride_c covers one C when batch > 1).
void validate_gemm_batched_args(const char* op, Trans ta, Trans tb, int64_t m, int64_t n,
                                int64_t k, const float* a, int64_t lda, int64_t stride_a,
                                const float* b, int64_t ldb, int64_t stride_b, const float* c,
                                int64_t ldc, int64_t stride_c, int64_t batch);

#ifdef DETNN_HAVE_CUDA
// Strict CUDA versions: the same bits as the CPU. Device pointers, asynchronous on `stream`.
void gemm_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias,
               cudaStream_t stream);
void gemm_batched_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                       float* c, int64_t ldc, int64_t stride_c, int64_t batch, const float* bias,
                       cudaStream_t stream);

// The block tile the CUDA GEMM uses; exposed so tests can show the bits do not depend on it.
struct GemmCudaLaunch {
  int tile = 0;  // 0: chosen from the shape and the device; else 32, 64 or 128 (square tiles)
};
void gemm_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc, const float* bias,
               cudaStream_t stream, const GemmCudaLaunch& launch);
void gemm_batched_cuda(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, const float* a,
                       int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b,
                       float* c, int64_t ldc, int64_t stride_c, int64_t batch, const float* bias,
                       cudaStream_t stream, const GemmCudaLaunch& launch);
#endif

}  // namespace detnn::kernels
