// cuBLASLt GEMM for the fast and off modes (DESIGN §1): the row-major C[m, n] = opA(A) opB(B)
// (+ bias[n]) of kernels/gemm.h on contiguous operands, with one algorithm pinned per plan (the
// heuristic's first for this shape, a fixed workspace; cuBLAS gives the same bits on every run
// with the same algorithm, workspace, GPU model and version). FP32 compute, or TF32 tensor cores
// when the mode allows them. Like the convolution plans, fast runs a plan per reduction chunk.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/vendor/algorithm_choice.h"
#include "runtime/determinism.h"

namespace detnn::kernels {

struct GemmShape {
  Trans ta = Trans::N, tb = Trans::N;
  int64_t m = 0, n = 0, k = 0;
  bool bias = false;
  // The byte alignment every call's pointers keep (16 at most; a power of two): the plan asks
  // cuBLASLt only for algorithms that work with it.
  int alignment = 16;
};

class CublasLtGemm {
 public:
  // Throws Error(unsupported) naming `call` when cuBLASLt offers no algorithm.
  CublasLtGemm(const GemmShape& shape, ComputeMode mode, const std::string& call, cudaStream_t stream);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  // Row-major contiguous: A is [m, k] (N) or [k, m] (T), B is [k, n] (N) or [n, k] (T), C [m, n].
  // Throws Error(internal) when a pointer breaks the plan's alignment.
  void run(const float* a, const float* b, float* c, const float* bias, cudaStream_t stream);

  void collect_choice(const std::string& layer, const std::string& op, std::vector<KernelChoice>& out) const;

 private:
  struct Impl;
  GemmShape shape_;
  std::unique_ptr<Impl> impl_;
};

// The largest power of two up to 16 that divides `bytes` (the alignment of base + bytes for a
// 512-byte-aligned base).
int alignment_of_offset(int64_t bytes);

// "m=32 n=10 k=128 NT +bias align=16".
std::string gemm_shape_text(const GemmShape& s);

}  // namespace detnn::kernels
#endif
