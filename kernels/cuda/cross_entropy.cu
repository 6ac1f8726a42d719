// Strict CUDA softmax cross-entropy: one block per sample (grid-stride over samples).
//  - the row max: per-thread maxima combined by comparisons (exact in any order), then +0.0f;
//  - the class sums: the row is walked in tiles of kTileLeaves leaves; the block computes
//    exp(z_k - m) (and z_k - m) into shared memory in parallel, thread l sums leaf l of the
//    tile sequentially (the CPU's leaf loop), and thread 0 pushes the leaf sums in class order
//    into a PairwiseStack (runtime/reduction_rules.h) — the CPU's exact shape, for any block size;
//  - the final per-sample arithmetic is xent::sample_loss / xent::grad, shared with the CPU.
#include <algorithm>

#include "kernels/canonical_sum.h"
#include "kernels/cross_entropy.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

namespace {

constexpr int kTileLeaves = 8;
constexpr int kTile = kTileLeaves * static_cast<int>(kReductionLeaf);  // classes per tile
constexpr int kTilePadded = kTile + kTileLeaves;  // one pad float per leaf: no bank conflicts

__device__ __forceinline__ int padded(int j) { return j + j / static_cast<int>(kReductionLeaf); }

__device__ float block_max(float v, float* red) {
  for (int o = 16; o > 0; o /= 2) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();  // red may still be read from the previous row
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float m = red[0];
  for (int w = 1; w < warps; ++w) m = red[w] > m ? red[w] : m;
  return m;
}

template <bool kBackward>
__global__ void cross_entropy_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels,
                                     float* __restrict__ out, int64_t samples, int64_t K,
                                     CrossEntropyScalars c) {
  __shared__ float e_tile[kTilePadded];
  __shared__ float d_tile[kTilePadded];
  __shared__ float leaf_s[kTileLeaves], leaf_d[kTileLeaves];
  __shared__ float red[32];
  __shared__ float row_s;
  const bool need_d = !kBackward && c.eps > 0.0f;
  const int t = threadIdx.x;
  const float nan = __uint_as_float(0x7fc00000u);
  for (int64_t row = blockIdx.x; row < samples; row += gridDim.x) {
    const float* z = logits + row * K;
    const int32_t y = labels[row];
    const bool bad = y < 0 || y >= K;

    float local = -__int_as_float(0x7f800000);
    for (int64_t k = t; k < K; k += blockDim.x) local = z[k] > local ? z[k] : local;
    const float m = block_max(local, red) + 0.0f;

    PairwiseStack s_stack, d_stack;  // used by thread 0 only
    for (int64_t start = 0; start < K; start += kTile) {
      const int count = static_cast<int>(K - start < kTile ? K - start : kTile);
      for (int j = t; j < count; j += blockDim.x) {
        const float dl = z[start + j] - m;
        e_tile[padded(j)] = dmath::exp(dl);
        if (need_d) d_tile[padded(j)] = dl;
      }
      __syncthreads();
      const int leaves = (count + static_cast<int>(kReductionLeaf) - 1) / static_cast<int>(kReductionLeaf);
      if (t < leaves) {
        const int first = t * static_cast<int>(kReductionLeaf);
        const int last = min(first + static_cast<int>(kReductionLeaf), count);
        float s = 0.0f;
        for (int j = first; j < last; ++j) s = s + e_tile[padded(j)];
        leaf_s[t] = s;
        if (need_d) {
          float d = 0.0f;
          for (int j = first; j < last; ++j) d = d + d_tile[padded(j)];
          leaf_d[t] = d;
        }
      }
      __syncthreads();
      if (t == 0) {
        for (int l = 0; l < leaves; ++l) {
          s_stack.push(leaf_s[l]);
          if (need_d) d_stack.push(leaf_d[l]);
        }
      }
      if (start + kTile < K) __syncthreads();  // the next tile overwrites e_tile
    }

    if (!kBackward) {
      if (t == 0)
        out[row] = bad ? nan : xent::sample_loss(s_stack.result(), z[y] - m, need_d ? d_stack.result() : 0.0f, c);
    } else {
      if (t == 0) row_s = s_stack.result();
      __syncthreads();
      const float s = row_s;
      float* g = out + row * K;
      const bool one_tile = K <= kTile;  // e_tile still holds every exp(z_k - m)
      for (int64_t k = t; k < K; k += blockDim.x) {
        const float e = one_tile ? e_tile[padded(static_cast<int>(k))] : dmath::exp(z[k] - m);
        g[k] = bad ? nan : xent::grad(e, s, k == y, c);
      }
    }
    __syncthreads();  // shared tiles and row_s are reused by the next row
  }
}

int block_size_for(int64_t K, const CrossEntropyLaunch& launch) {
  if (launch.block_size != 0) {
    const int b = launch.block_size;
    DETNN_CHECK(b >= 32 && b <= 1024 && (b & (b - 1)) == 0, invalid_argument,
                "cross_entropy launch: block_size must be 0 or a power of two in [32, 1024], got ", b);
    return b;
  }
  int b = 32;
  while (b < 256 && b < K) b *= 2;
  return b;
}

template <bool kBackward>
void launch_cross_entropy(const float* logits, const int32_t* labels, float* out,
                          const CrossEntropyParams& p, cudaStream_t stream, const CrossEntropyLaunch& launch) {
  const CrossEntropyScalars c = cross_entropy_scalars(p);
  DETNN_CHECK(launch.max_blocks >= 0, invalid_argument,
              "cross_entropy launch: max_blocks must be >= 0, got ", launch.max_blocks);
  if (p.samples == 0) return;
  const int b = block_size_for(p.classes, launch);
  int64_t grid = std::min<int64_t>(p.samples, 1 << 20);
  if (launch.max_blocks > 0) grid = std::min<int64_t>(grid, launch.max_blocks);
  cross_entropy_kernel<kBackward><<<static_cast<unsigned>(grid), b, 0, stream>>>(logits, labels, out, p.samples,
                                                                                p.classes, c);
  DETNN_CUDA_CHECK_LAUNCH();
}

__global__ void divide_kernel(float* x, float divisor) { *x = *x / divisor; }

}  // namespace

void cross_entropy_forward_cuda(const float* logits, const int32_t* labels, float* losses,
                                const CrossEntropyParams& params, cudaStream_t stream,
                                const CrossEntropyLaunch& launch) {
  launch_cross_entropy<false>(logits, labels, losses, params, stream, launch);
}

void cross_entropy_backward_cuda(const float* logits, const int32_t* labels, float* dlogits,
                                 const CrossEntropyParams& params, cudaStream_t stream,
                                 const CrossEntropyLaunch& launch) {
  launch_cross_entropy<true>(logits, labels, dlogits, params, stream, launch);
}

size_t cross_entropy_batch_loss_cuda_workspace_bytes(int64_t n) {
  DETNN_CHECK(n >= 0, invalid_argument, "cross_entropy batch loss: n must be >= 0, got ", n);
  return canonical_sum_cuda_workspace_bytes(SumLayout::vector(n));
}

void cross_entropy_batch_loss_cuda(const float* losses, int64_t n, int64_t global_batch, float* loss,
                                   void* workspace, cudaStream_t stream) {
  DETNN_CHECK(global_batch >= 1 && global_batch <= (int64_t{1} << 24), invalid_argument,
              "cross_entropy batch loss: global_batch must be in [1, 2^24], got ", global_batch);
  const size_t bytes = cross_entropy_batch_loss_cuda_workspace_bytes(n);
  CudaScratch scratch(workspace ? 0 : bytes, stream);
  canonical_sum_cuda(losses, loss, SumLayout::vector(n), workspace ? workspace : scratch.get(), stream);
  divide_kernel<<<1, 1, 0, stream>>>(loss, static_cast<float>(global_batch));
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
