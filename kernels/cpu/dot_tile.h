// The CPU microkernels every dot product runs on (GEMM and the three convolution passes). A
// microkernel computes one mr x nr tile of C = A·B over kc terms:
//   for each output (r, c): acc = 0.0f; acc = fmaf(ap[k * mr + r], b[k * ldb + c], acc) for
//   k = 0..kc-1 in order; c[r * ldc + c] = acc.
// ap is a packed A panel ([kc][mr]); b is any kc rows of nr readable floats ldb apart (a packed
// panel has ldb = nr). That is one chain of the contract (DESIGN §3) per output, vectorized
// across the nr columns only, so every variant gives the same bits; they differ in speed.
// The variants live in their own files, each compiled for its instruction set whatever the
// build's -march, and are picked at run time (runtime/cpu_isa.h).
#pragma once

#include <cstdint>

namespace detnn {
enum class CpuIsa;  // runtime/cpu_isa.h (not included: the ISA files include nothing shared)
}

namespace detnn::kernels {

using DotTileFn = void (*)(int64_t kc, const float* ap, const float* b, int64_t ldb, float* c,
                           int64_t ldc);
// The same tile with B row k at rows[k] + col: an implicit GEMM whose rows are shifted windows
// of zero-bordered planes (the stride-1 convolution passes), so no gathered matrix is built.
using DotTileRowsFn = void (*)(int64_t kc, const float* ap, const float* const* rows, int64_t col,
                               float* c, int64_t ldc);

// The same tile with A read in place, row r at a + r * lda (terms contiguous), so an operand
// stored terms-contiguous needs no transposing pack; `accumulate` continues every chain from the
// value in c (a float stored and reloaded is the same float), so a leaf whose terms lie in
// several places is several calls.
using DotTileRowMajorAFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, int64_t ldb,
                                    float* c, int64_t ldc, bool accumulate);

struct DotTileKernel {
  int mr = 0;  // rows of a tile (and of a packed A panel)
  int nr = 0;  // columns of a tile (and of a packed B panel)
  DotTileFn run = nullptr;
  DotTileRowsFn run_rows = nullptr;
  DotTileRowMajorAFn run_row_major_a = nullptr;
};

// Every variant has this many columns, so a packed B serves any of them.
inline constexpr int kDotTileColumns = 16;

DotTileKernel dot_tile_portable();
#if defined(__x86_64__) || defined(__i386__)
DotTileKernel dot_tile_avx2();    // dot_tile_avx2.cpp: -mavx2 -mfma
DotTileKernel dot_tile_avx512();  // dot_tile_avx512.cpp: -mavx512f
#endif

// The variant of `isa`, or of the active path (cpu_isa_active()).
DotTileKernel dot_tile_kernel(CpuIsa isa);
DotTileKernel dot_tile_kernel();

}  // namespace detnn::kernels
