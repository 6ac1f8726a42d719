// Canonical sums (DESIGN §3) on CPU and CUDA: many independent sums over strided data, and the
// chunk-partial pairwise combine. CUDA results are bit-identical to the CPU for every launch
// configuration.
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace detnn::kernels {

// `outputs` independent sums of `length` elements each. Element i (in documented linear order)
// of output o is x[o * output_stride + (i / inner) * outer_stride + i % inner].
struct SumLayout {
  int64_t outputs = 1;
  int64_t length = 0;
  int64_t inner = 1;
  int64_t outer_stride = 1;
  int64_t output_stride = 0;

  // One sum over a contiguous vector.
  static SumLayout vector(int64_t n) { return {1, n, n > 0 ? n : 1, 0, 0}; }
  // One sum per row of a row-major [rows, cols] matrix.
  static SumLayout rows(int64_t rows, int64_t cols) { return {rows, cols, cols > 0 ? cols : 1, 0, cols}; }
  // One sum per channel of an NCHW tensor, over (n, h, w) in that order.
  static SumLayout channels(int64_t n, int64_t c, int64_t hw) {
    return {c, n * hw, hw > 0 ? hw : 1, c * hw, hw};
  }
};

// Checks the layout (non-negative sizes, inner >= 1) and throws Error(invalid_argument) if not.
void validate_sum_layout(const SumLayout& layout);

// out[o] = canonical sum of output o's elements (leaves of 256 summed sequentially, leaf
// partials combined pairwise). Threads split the leaves and outputs, never a leaf.
void canonical_sum_cpu(const float* x, float* out, const SumLayout& layout);
float canonical_sum_cpu(const float* x, int64_t n);

// partials is [chunks, size] row-major (chunk-major): out[j] = pairwise combine over the chunks
// of partials[c * size + j], in chunk order. chunks == 0 gives zeros.
void combine_chunk_partials_cpu(const float* partials, int64_t chunks, int64_t size, float* out);

#ifdef DETNN_HAVE_CUDA
// Launch shape knobs: exposed so tests can prove the bits do not depend on them.
struct ReduceLaunch {
  int block_size = 256;  // threads per block: a power of two in [32, 1024]
  int max_blocks = 0;    // grid size cap (0: as many as the work needs)
};

// Device scratch the CUDA canonical sum needs for `layout` and `launch`, in bytes.
size_t canonical_sum_cuda_workspace_bytes(const SumLayout& layout, const ReduceLaunch& launch = {});

// Device pointers. `workspace` holds at least canonical_sum_cuda_workspace_bytes bytes.
void canonical_sum_cuda(const float* x, float* out, const SumLayout& layout, void* workspace,
                        cudaStream_t stream, const ReduceLaunch& launch = {});

void combine_chunk_partials_cuda(const float* partials, int64_t chunks, int64_t size, float* out,
                                 cudaStream_t stream, const ReduceLaunch& launch = {});

// canonical_sum_cuda with its workspace from the caching allocator (runtime/scratch.h), on `stream`.
void canonical_sum_cuda(const float* x, float* out, const SumLayout& layout, cudaStream_t stream);
#endif

}  // namespace detnn::kernels
