// The memory-bound elementwise launcher shared by the activation, optimizer and clipping
// kernels: a grid-stride loop over NI input and NO output float streams that applies an op to
// each element independently.
//
// Vector path: when every operand has the same offset modulo 16 bytes, the first (up to 3)
// elements are handled one by one until the operands are 16-byte aligned, the body with
// float4 loads and stores, the last (up to 3) one by one again. Otherwise every element is
// handled one by one. The op sees one element at a time either way, so the bits never depend
// on the path, the grid or the block size. In-place use (an output equal to an input) is fine:
// each element is read before it is written, by the same thread.
//
// An op is a struct with `__device__ void operator()(const float (&in)[NI], float (&out)[NO],
// float runtime) const`; `runtime` is *runtime_scalar read once per thread (1.0f when the
// pointer is null), for a factor that lives on the device (the gradient-clip scale).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/canonical_sum.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn::kernels::elementwise {

template <int NI, int NO>
struct Operands {
  const float* in[NI > 0 ? NI : 1];
  float* out[NO];
};

template <int NI, int NO, class Op>
__device__ __forceinline__ void apply_one(const Operands<NI, NO>& o, int64_t i, const Op& op, float rt) {
  float x[NI > 0 ? NI : 1], y[NO];
#pragma unroll
  for (int k = 0; k < NI; ++k) x[k] = o.in[k][i];
  op(x, y, rt);
#pragma unroll
  for (int k = 0; k < NO; ++k) o.out[k][i] = y[k];
}

// head: elements [0, head) one by one; quads: float4 groups starting at element `head`;
// then elements [head + 4*quads, n) one by one. vector == false: all n one by one.
template <int NI, int NO, class Op>
__global__ void elementwise_kernel(Operands<NI, NO> o, int64_t n, int64_t head, int64_t quads,
                                   Op op, const float* runtime_scalar) {
  const float rt = runtime_scalar ? *runtime_scalar : 1.0f;
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = tid; q < quads; q += stride) {
    float4 vin[NI > 0 ? NI : 1], vout[NO];
#pragma unroll
    for (int k = 0; k < NI; ++k) vin[k] = reinterpret_cast<const float4*>(o.in[k] + head)[q];
#pragma unroll
    for (int lane = 0; lane < 4; ++lane) {
      float x[NI > 0 ? NI : 1], y[NO];
#pragma unroll
      for (int k = 0; k < NI; ++k) x[k] = reinterpret_cast<const float*>(&vin[k])[lane];
      op(x, y, rt);
#pragma unroll
      for (int k = 0; k < NO; ++k) reinterpret_cast<float*>(&vout[k])[lane] = y[k];
    }
#pragma unroll
    for (int k = 0; k < NO; ++k) reinterpret_cast<float4*>(o.out[k] + head)[q] = vout[k];
  }
  // The scalar head and tail (all of it when quads == 0 and head == 0 covers nothing).
  const int64_t tail_begin = head + 4 * quads;
  for (int64_t i = tid; i < head + (n - tail_begin); i += stride)
    apply_one(o, i < head ? i : tail_begin + (i - head), op, rt);
}

inline void check_launch(const ReduceLaunch& launch, const char* op) {
  const int b = launch.block_size;
  DETNN_CHECK(b >= 32 && b <= 1024 && b % 32 == 0, invalid_argument, op,
              ": block_size must be a multiple of 32 in [32, 1024], got ", b);
  DETNN_CHECK(launch.max_blocks >= 0, invalid_argument, op, ": max_blocks must be >= 0, got ",
              launch.max_blocks);
}

// Blocks for `work` items: enough to fill the device (resident blocks of every SM) unless the
// work is smaller, capped by launch.max_blocks.
inline unsigned grid_blocks(int64_t work, const ReduceLaunch& launch) {
  static thread_local int sms = 0, device = -1;
  int dev = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev != device) {
    DETNN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    device = dev;
  }
  const int64_t per_sm = std::max(1, 2048 / launch.block_size);
  int64_t g = std::min<int64_t>((work + launch.block_size - 1) / launch.block_size, sms * per_sm);
  if (launch.max_blocks > 0) g = std::min<int64_t>(g, launch.max_blocks);
  return static_cast<unsigned>(std::max<int64_t>(g, 1));
}

// Runs op over n elements of the operands on `stream`.
template <int NI, int NO, class Op>
void launch(const char* name, const Operands<NI, NO>& o, int64_t n, const Op& op,
            const float* runtime_scalar, cudaStream_t stream, const ReduceLaunch& launch_shape) {
  check_launch(launch_shape, name);
  DETNN_CHECK(n >= 0, invalid_argument, name, ": n must be >= 0, got ", n);
  if (n == 0) return;
  // Offset of each operand within its 16-byte line, in floats; all equal -> vector path.
  const auto offset = [](const void* p) { return static_cast<int>((reinterpret_cast<uintptr_t>(p) >> 2) & 3); };
  bool aligned = true;
  for (int k = 0; k < NO; ++k) DETNN_CHECK(reinterpret_cast<uintptr_t>(o.out[k]) % 4 == 0, invalid_argument, name, ": misaligned float pointer");
  for (int k = 0; k < NI; ++k) DETNN_CHECK(reinterpret_cast<uintptr_t>(o.in[k]) % 4 == 0, invalid_argument, name, ": misaligned float pointer");
  const int first = offset(o.out[0]);
  for (int k = 0; k < NO; ++k) aligned = aligned && offset(o.out[k]) == first;
  for (int k = 0; k < NI; ++k) aligned = aligned && offset(o.in[k]) == first;
  int64_t head = 0, quads = 0;
  if (aligned) {
    head = std::min<int64_t>((4 - first) & 3, n);
    quads = (n - head) / 4;
  } else {
    head = n;  // everything one by one, as "head"
  }
  const int64_t scalar = n - 4 * quads;
  const unsigned grid = grid_blocks(std::max(quads, scalar), launch_shape);
  elementwise_kernel<NI, NO, Op><<<grid, launch_shape.block_size, 0, stream>>>(o, n, head, quads, op, runtime_scalar);
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels::elementwise
