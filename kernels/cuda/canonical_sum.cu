// Strict CUDA canonical sums. Same bits as kernels/cpu/canonical_sum.cpp for every launch shape:
//  - stage 1: one thread per leaf sums its <= 256 elements sequentially (the CPU's leaf_sum);
//  - each block then reduces an aligned group of blockDim leaf partials with the pairwise rule
//    in shared memory; an aligned power-of-two group is a node of the global pairwise tree
//    (runtime/reduction_rules.h), so any power-of-two block size gives the same node values;
//  - later passes reduce aligned groups of those nodes the same way until one value is left.
// The grid loops over (output, group) pairs, so the grid size changes nothing but speed.
#include <algorithm>

#include "kernels/canonical_sum.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"

namespace detnn::kernels {

namespace {

// s[0..count) -> s[0] by the pairwise rule; count <= blockDim.x, blockDim.x a power of two.
__device__ void block_pairwise(float* s, int count) {
  for (int stride = 1; stride < blockDim.x; stride *= 2) {
    __syncthreads();
    const int t = threadIdx.x;
    if ((t & (2 * stride - 1)) == 0 && t + stride < count) s[t] = s[t] + s[t + stride];
  }
  __syncthreads();
}

// How many of group g's blockDim.x slots hold values when there are n values in all.
__device__ int group_count(int64_t n, int64_t g) {
  const int64_t rem = n - g * blockDim.x;
  return rem < blockDim.x ? static_cast<int>(rem) : static_cast<int>(blockDim.x);
}

__global__ void leaf_sum_kernel(const float* __restrict__ x, float* __restrict__ groups_out,
                                SumLayout l, int64_t leaves, int64_t groups) {
  extern __shared__ float s[];
  const int64_t pairs = l.outputs * groups;
  for (int64_t p = blockIdx.x; p < pairs; p += gridDim.x) {
    const int64_t o = p / groups, g = p % groups;
    const int64_t leaf = g * blockDim.x + threadIdx.x;
    float acc = 0.0f;
    if (leaf < leaves) {
      const float* base = x + o * l.output_stride;
      const int64_t first = leaf * kReductionLeaf;
      const int64_t last = first + kReductionLeaf < l.length ? first + kReductionLeaf : l.length;
      int64_t outer = first / l.inner, in = first % l.inner;
      for (int64_t i = first; i < last; ++i) {
        acc = acc + base[outer * l.outer_stride + in];
        if (++in == l.inner) {
          in = 0;
          ++outer;
        }
      }
    }
    s[threadIdx.x] = acc;
    const int count = group_count(leaves, g);
    block_pairwise(s, count);
    if (threadIdx.x == 0) groups_out[p] = s[0];
    __syncthreads();  // s is reused by the next pair
  }
}

// in is [outputs, n] node values; out is [outputs, ceil(n / blockDim)] (or the final result).
__global__ void pairwise_pass_kernel(const float* __restrict__ in, float* __restrict__ out,
                                     int64_t outputs, int64_t n, int64_t groups) {
  extern __shared__ float s[];
  const int64_t pairs = outputs * groups;
  for (int64_t p = blockIdx.x; p < pairs; p += gridDim.x) {
    const int64_t o = p / groups, g = p % groups;
    const int64_t i = g * blockDim.x + threadIdx.x;
    s[threadIdx.x] = i < n ? in[o * n + i] : 0.0f;
    const int count = group_count(n, g);
    block_pairwise(s, count);
    if (threadIdx.x == 0) out[p] = s[0];
    __syncthreads();
  }
}

__global__ void fill_zero_kernel(float* out, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = 0.0f;
}

__global__ void combine_chunks_kernel(const float* __restrict__ partials, int64_t chunks,
                                      int64_t size, float* __restrict__ out) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < size;
       j += (int64_t)gridDim.x * blockDim.x) {
    PairwiseStack stack;
    for (int64_t c = 0; c < chunks; ++c) stack.push(partials[c * size + j]);
    out[j] = stack.result();
  }
}

void check_launch(const ReduceLaunch& launch) {
  const int b = launch.block_size;
  DETNN_CHECK(b >= 32 && b <= 1024 && (b & (b - 1)) == 0, invalid_argument,
              "reduce launch: block_size must be a power of two in [32, 1024], got ", b);
  DETNN_CHECK(launch.max_blocks >= 0, invalid_argument, "reduce launch: max_blocks must be >= 0, got ",
              launch.max_blocks);
}

unsigned grid_for(int64_t work, const ReduceLaunch& launch) {
  int64_t g = std::max<int64_t>(work, 1);
  g = std::min<int64_t>(g, 1 << 20);
  if (launch.max_blocks > 0) g = std::min<int64_t>(g, launch.max_blocks);
  return static_cast<unsigned>(g);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

size_t canonical_sum_cuda_workspace_bytes(const SumLayout& l, const ReduceLaunch& launch) {
  validate_sum_layout(l);
  check_launch(launch);
  const int64_t leaves = ceil_div(l.length, kReductionLeaf);
  const int64_t groups = ceil_div(leaves, launch.block_size);
  // Two ping-pong buffers of the first pass's size.
  return static_cast<size_t>(2 * l.outputs * std::max<int64_t>(groups, 1)) * sizeof(float);
}

void canonical_sum_cuda(const float* x, float* out, const SumLayout& l, void* workspace,
                        cudaStream_t stream, const ReduceLaunch& launch) {
  validate_sum_layout(l);
  check_launch(launch);
  if (l.outputs == 0) return;
  const int b = launch.block_size;
  const size_t smem = sizeof(float) * b;
  const int64_t leaves = ceil_div(l.length, kReductionLeaf);
  if (leaves == 0) {
    fill_zero_kernel<<<grid_for(ceil_div(l.outputs, 256), launch), 256, 0, stream>>>(out, l.outputs);
    DETNN_CUDA_CHECK_LAUNCH();
    return;
  }
  int64_t n = ceil_div(leaves, b);
  float* buf[2] = {static_cast<float*>(workspace), static_cast<float*>(workspace) + l.outputs * n};
  float* cur = n == 1 ? out : buf[0];
  leaf_sum_kernel<<<grid_for(l.outputs * n, launch), b, smem, stream>>>(x, cur, l, leaves, n);
  DETNN_CUDA_CHECK_LAUNCH();
  int which = 0;
  while (n > 1) {
    const int64_t groups = ceil_div(n, b);
    float* next = groups == 1 ? out : buf[1 - which];
    pairwise_pass_kernel<<<grid_for(l.outputs * groups, launch), b, smem, stream>>>(cur, next, l.outputs, n, groups);
    DETNN_CUDA_CHECK_LAUNCH();
    cur = next;
    which = 1 - which;
    n = groups;
  }
}

void combine_chunk_partials_cuda(const float* partials, int64_t chunks, int64_t size, float* out,
                                 cudaStream_t stream, const ReduceLaunch& launch) {
  check_launch(launch);
  DETNN_CHECK(chunks >= 0 && size >= 0, invalid_argument, "combine_chunk_partials: chunks (",
              chunks, ") and size (", size, ") must be non-negative");
  if (size == 0) return;
  const int b = launch.block_size;
  combine_chunks_kernel<<<grid_for(ceil_div(size, b), launch), b, 0, stream>>>(partials, chunks, size, out);
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
