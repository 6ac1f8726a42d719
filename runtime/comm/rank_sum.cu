// Strict CUDA rank sum (runtime/comm/rank_sum_cuda.h). Each thread owns 4 consecutive elements (16-byte
// loads) or 1 and combines the ranks' values with the register counter of
// runtime/comm/rank_sum_counter.h, whose additions are those of the pairwise rule in rank order, each
// one __fadd_rn. Which thread, block or path computes an element never changes its bits.
#include <algorithm>

#include "runtime/comm/rank_sum_counter.h"
#include "runtime/comm/rank_sum_cuda.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn {

namespace {

using rank_counter::combine_ranks;
using rank_counter::Lanes;

// Rank r's V lanes at p + r * stride, read through the read-only cache.
template <int V>
struct RowLoad {
  const float* __restrict__ p;
  int64_t stride;
  __device__ __forceinline__ Lanes<V> operator()(unsigned r) const {
    const float* q = p + static_cast<int64_t>(r) * stride;
    Lanes<V> x;
    if constexpr (V == 4) {
      const float4 f = __ldg(reinterpret_cast<const float4*>(q));
      x.v[0] = f.x;
      x.v[1] = f.y;
      x.v[2] = f.z;
      x.v[3] = f.w;
    } else {
      x.v[0] = __ldg(q);
    }
    return x;
  }
};

// head: elements [0, head) one by one; quads: 4-element groups from element `head` (16-byte
// aligned in every row); then elements [head + 4*quads, count) one by one.
template <int L>
__global__ void rank_sum_kernel(const float* __restrict__ rows, unsigned ranks, int64_t stride, int64_t count,
                                int64_t head, int64_t quads, bool vector_store, float* __restrict__ out) {
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = tid; q < quads; q += step) {
    const int64_t i = head + 4 * q;
    const Lanes<4> s = combine_ranks<L, 4>(ranks, RowLoad<4>{rows + i, stride});
    if (vector_store) {
      *reinterpret_cast<float4*>(out + i) = make_float4(s.v[0], s.v[1], s.v[2], s.v[3]);
    } else {
#pragma unroll
      for (int k = 0; k < 4; ++k) out[i + k] = s.v[k];
    }
  }
  const int64_t tail_begin = head + 4 * quads;
  const int64_t scalars = head + (count - tail_begin);
  for (int64_t k = tid; k < scalars; k += step) {
    const int64_t i = k < head ? k : tail_begin + (k - head);
    out[i] = combine_ranks<L, 1>(ranks, RowLoad<1>{rows + i, stride}).v[0];
  }
}

int float_offset(const void* p) { return static_cast<int>((reinterpret_cast<uintptr_t>(p) >> 2) & 3); }

// Blocks for `work` threads: the work's own count, capped at what fills every SM of the current
// device (by 2048 resident threads per SM) and at launch.max_blocks. The SM count is asked once
// per thread and device: this runs for every gradient bucket of every step.
unsigned rank_sum_blocks(int64_t work, const RankSumLaunch& launch) {
  static thread_local int cached_device = -1, sms = 0;
  int device = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&device));
  if (device != cached_device) {
    DETNN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    cached_device = device;
  }
  int64_t blocks = (work + launch.block_size - 1) / launch.block_size;
  blocks = std::min<int64_t>(blocks, int64_t{sms} * std::max(1, 2048 / launch.block_size));
  if (launch.max_blocks > 0) blocks = std::min<int64_t>(blocks, launch.max_blocks);
  return static_cast<unsigned>(std::max<int64_t>(blocks, 1));
}

// One IEEE addition per element, left + right in that order, as the CPU adds; out may be left or
// right, element by element.
__global__ void add_left_right_kernel(const float* left, const float* right, float* out, int64_t count) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    out[i] = __fadd_rn(left[i], right[i]);
}

}  // namespace

void add_left_right_cuda(const float* left, const float* right, float* out, int64_t count, cudaStream_t stream) {
  DETNN_CHECK(count >= 0, invalid_argument, "add_left_right_cuda: ", count, " elements");
  if (count == 0) return;
  constexpr int kBlock = 256;
  const int64_t blocks = std::min<int64_t>((count + kBlock - 1) / kBlock, 65535);
  add_left_right_kernel<<<static_cast<unsigned>(blocks), kBlock, 0, stream>>>(left, right, out, count);
  DETNN_CUDA_CHECK(cudaGetLastError());
}

void rank_sum_cuda(const float* rows, int ranks, int64_t row_stride, int64_t count, float* out,
                   cudaStream_t stream, const RankSumLaunch& launch) {
  DETNN_CHECK(launch.block_size >= 32 && launch.block_size <= 1024 && launch.block_size % 32 == 0, invalid_argument,
              "rank_sum: block_size must be a multiple of 32 in [32, 1024], got ", launch.block_size);
  DETNN_CHECK(launch.max_blocks >= 0, invalid_argument, "rank_sum: max_blocks must be >= 0, got ", launch.max_blocks);
  DETNN_CHECK(ranks >= 1 && ranks <= kRankSumMaxRanks, invalid_argument, "rank_sum: ranks must be in [1, ",
              kRankSumMaxRanks, "], got ", ranks);
  DETNN_CHECK(count >= 0, invalid_argument, "rank_sum: count must be >= 0, got ", count);
  DETNN_CHECK(ranks == 1 || row_stride >= count, invalid_argument, "rank_sum: row_stride (", row_stride,
              ") must be >= count (", count, ") so that the rows do not overlap");
  if (count == 0) return;
  DETNN_CHECK(rows != nullptr && out != nullptr, invalid_argument, "rank_sum: null pointer");
  DETNN_CHECK(reinterpret_cast<uintptr_t>(rows) % 4 == 0 && reinterpret_cast<uintptr_t>(out) % 4 == 0,
              invalid_argument, "rank_sum: misaligned float pointer");
  const uintptr_t rows_begin = reinterpret_cast<uintptr_t>(rows);
  const uintptr_t rows_end = reinterpret_cast<uintptr_t>(rows + (static_cast<int64_t>(ranks) - 1) * row_stride + count);
  const uintptr_t out_begin = reinterpret_cast<uintptr_t>(out), out_end = reinterpret_cast<uintptr_t>(out + count);
  DETNN_CHECK(out_end <= rows_begin || out_begin >= rows_end, invalid_argument, "rank_sum: out overlaps the rows");

  // Every row shares the first row's offset within its 16-byte line when the stride is a
  // multiple of 4 floats: then the body goes by float4, after a scalar head up to the boundary.
  const int first = float_offset(rows);
  const bool vector_loads = ranks == 1 || row_stride % 4 == 0;
  int64_t head = count, quads = 0;
  if (vector_loads) {
    head = std::min<int64_t>((4 - first) & 3, count);
    quads = (count - head) / 4;
  }
  const bool vector_store = vector_loads && float_offset(out) == first;
  const int64_t scalars = count - 4 * quads;
  const unsigned grid = rank_sum_blocks(std::max(quads, scalars), launch);
  const int block = launch.block_size;
  const auto n = static_cast<unsigned>(ranks);
  switch (rank_counter::levels_for(n)) {
    case 4:
      rank_sum_kernel<4><<<grid, block, 0, stream>>>(rows, n, row_stride, count, head, quads, vector_store, out);
      break;
    case 8:
      rank_sum_kernel<8><<<grid, block, 0, stream>>>(rows, n, row_stride, count, head, quads, vector_store, out);
      break;
    case 12:
      rank_sum_kernel<12><<<grid, block, 0, stream>>>(rows, n, row_stride, count, head, quads, vector_store, out);
      break;
    default:
      rank_sum_kernel<16><<<grid, block, 0, stream>>>(rows, n, row_stride, count, head, quads, vector_store, out);
      break;
  }
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn
