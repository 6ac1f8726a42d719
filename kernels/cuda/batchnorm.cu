// Strict CUDA batch normalization: the same bits as kernels/cpu/batchnorm.cpp for every launch
// shape (formulas: kernels/batchnorm.h, batchnorm_rules).
//
// Segment sums (DESIGN §3, §8b): a segment (chunk k, channel c) of `length` elements is cut into
// leaves of 256; a NODE is an aligned group of 32 consecutive leaves, one warp's task. The warp
// stages its 32 leaves 32 elements at a time through shared memory (coalesced, 16-byte loads
// when H*W % 4 == 0 and the tensor is 16-byte aligned), lane t sums leaf t sequentially, then
// the 32 leaf partials are combined by the pairwise rule with shuffles. A node is a node of the
// segment's pairwise tree (runtime/reduction_rules.h), so the finishing kernel combines a segment's
// node values with PairwiseStack and gets the CPU's bits. Warps loop over (segment, node)
// tasks, so block and grid sizes change nothing but speed.
//
// Kernels per call: training forward = nodes(x) -> mean, nodes((x - mean)^2) -> var and invstd,
// normalize (5 launches, x read 3 times); backward = nodes(dy, dy * xhat) in one read -> the two
// partials and a = gamma * invstd / n, then dx (x and dy read twice).
#include <algorithm>

#include "kernels/batchnorm.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"

namespace detnn::kernels {

namespace rules = batchnorm_rules;

namespace {

constexpr int kWarp = 32;
constexpr int kLeaf = static_cast<int>(kReductionLeaf);         // 256
constexpr int kLeavesPerNode = kWarp;                          // one leaf per lane
constexpr int kNodeElements = kLeavesPerNode * kLeaf;          // 8192
constexpr int kStep = 32;                                       // elements of each leaf per stage
constexpr int kSteps = kLeaf / kStep;                           // 8 stages per leaf
constexpr int kPitch = kStep + 1;                               // smem row pitch: no bank conflicts
constexpr int kTileFloats = kLeavesPerNode * kPitch;            // one staged tensor, one warp
constexpr int kBlock = 256;                                     // elementwise kernels

// Segment (k, c), element i (0 <= i < length, (n, h, w) order) lives at
// k * chunk_stride + c * hw + (i / hw) * sample_stride + i % hw.
struct Segments {
  int64_t chunk_stride;   // chunk_size * C * hw
  int64_t sample_stride;  // C * hw
  int64_t segs;           // chunks * C
  int hw;
  int channels;
  int length;  // chunk_size * hw < 2^30 (validated)
  int leaves;  // ceil(length / 256)
  int nodes;   // ceil(leaves / 32), per segment
  bool vec4;   // 16-byte staging: hw % 4 == 0 and the tensors 16-byte aligned
};

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

Segments segments_of(const BatchNormParams& p, bool vec4) {
  Segments s;
  s.hw = static_cast<int>(p.hw());
  s.channels = static_cast<int>(p.channels);
  s.sample_stride = p.channels * p.hw();
  s.chunk_stride = p.chunk_size * s.sample_stride;
  s.segs = p.chunks() * p.channels;
  s.length = static_cast<int>(p.count());
  s.leaves = static_cast<int>((p.count() + kReductionLeaf - 1) / kReductionLeaf);
  s.nodes = (s.leaves + kLeavesPerNode - 1) / kLeavesPerNode;
  s.vec4 = vec4 && p.hw() % 4 == 0;
  return s;
}

enum class SumMode { values, squared_deviations, backward };

template <SumMode M>
constexpr int kSums = M == SumMode::backward ? 2 : 1;

__device__ __forceinline__ int64_t element_offset(const Segments& s, int64_t base, int i) {
  return base + static_cast<int64_t>(i / s.hw) * s.sample_stride + i % s.hw;
}

// tile[t * kPitch + e] = segment element first + t * 256 + e (0.0f past the segment's end), for
// the 32 leaves t and e < 32. In the vector path lanes 8j..8j+7 read 128 contiguous bytes of
// leaf r*4 + j: four full 128-byte lines per instruction.
__device__ __forceinline__ void stage(const float* __restrict__ src, const Segments& s, int64_t base,
                                      int first, float* tile, int lane) {
  if (s.vec4) {
#pragma unroll
    for (int r = 0; r < kLeavesPerNode * kStep / (4 * kWarp); ++r) {
      const int q = r * kWarp + lane;
      const int t = q / (kStep / 4), e = (q % (kStep / 4)) * 4;
      const int i = first + t * kLeaf + e;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      // length % 4 == 0 and i % 4 == 0: the four elements are in the segment and in one plane.
      if (i < s.length) v = *reinterpret_cast<const float4*>(src + element_offset(s, base, i));
      float* d = tile + t * kPitch + e;
      d[0] = v.x;
      d[1] = v.y;
      d[2] = v.z;
      d[3] = v.w;
    }
  } else {
#pragma unroll 4
    for (int t = 0; t < kLeavesPerNode; ++t) {
      const int i = first + t * kLeaf + lane;
      tile[t * kPitch + lane] = i < s.length ? src[element_offset(s, base, i)] : 0.0f;
    }
  }
}

// Pairwise rule over the lanes' values v[0..count), as runtime/reduction_rules.h; lane 0 gets the result.
__device__ __forceinline__ float warp_pairwise(float v, int count, int lane) {
#pragma unroll
  for (int stride = 1; stride < kWarp; stride *= 2) {
    const float other = __shfl_down_sync(0xffffffffu, v, stride);
    if ((lane & (2 * stride - 1)) == 0 && lane + stride < count) v = v + other;
  }
  return v;
}

// nodes[v * segs * s.nodes + seg * s.nodes + node] = node value of sum v of segment seg.
template <SumMode M>
__global__ void segment_nodes_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                     const float* __restrict__ mean, const float* __restrict__ invstd,
                                     Segments s, float* __restrict__ nodes) {
  extern __shared__ float smem[];
  constexpr int NV = kSums<M>;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  float* xt = smem + warp * NV * kTileFloats;
  float* gt = xt + kTileFloats;  // dy tile (backward only)
  const int64_t tasks = s.segs * s.nodes;
  for (int64_t task = static_cast<int64_t>(blockIdx.x) * warps + warp; task < tasks;
       task += static_cast<int64_t>(gridDim.x) * warps) {
    const int64_t seg = task / s.nodes;
    const int node = static_cast<int>(task % s.nodes);
    const int64_t base = (seg / s.channels) * s.chunk_stride + (seg % s.channels) * s.hw;
    const float m = M == SumMode::values ? 0.0f : mean[seg];
    const float is = M == SumMode::backward ? invstd[seg] : 0.0f;
    float a0 = 0.0f, a1 = 0.0f;
    for (int step = 0; step < kSteps; ++step) {
      const int first = node * kNodeElements + step * kStep;
      if (first >= s.length) break;  // every leaf of the node has ended (warp-uniform)
      stage(x, s, base, first, xt, lane);
      if (M == SumMode::backward) stage(dy, s, base, first, gt, lane);
      __syncwarp();
      const int valid = min(max(s.length - (first + lane * kLeaf), 0), kStep);
      const float* xr = xt + lane * kPitch;
      const float* gr = gt + lane * kPitch;
      for (int e = 0; e < valid; ++e) {
        if (M == SumMode::values) {
          a0 = a0 + xr[e];
        } else if (M == SumMode::squared_deviations) {
          const float d = xr[e] - m;
          a0 = a0 + d * d;
        } else {
          const float g = gr[e];
          a0 = a0 + g;
          a1 = a1 + g * rules::xhat(xr[e], m, is);
        }
      }
      __syncwarp();  // the tiles are overwritten by the next stage
    }
    const int count = min(kLeavesPerNode, s.leaves - node * kLeavesPerNode);
    a0 = warp_pairwise(a0, count, lane);
    if (NV == 2) a1 = warp_pairwise(a1, count, lane);
    if (lane == 0) {
      nodes[task] = a0;
      if (NV == 2) nodes[tasks + task] = a1;
    }
  }
}

// Combines each segment's node values (PairwiseStack == the pairwise rule over them) and applies
// the per-segment formula: mean; var and invstd; or the two backward partials and a.
template <SumMode M>
__global__ void finish_segments_kernel(const float* __restrict__ nodes, Segments s, float n, float eps,
                                       const float* __restrict__ gamma, const float* __restrict__ invstd,
                                       float* __restrict__ out0, float* __restrict__ out1,
                                       float* __restrict__ out2) {
  const int64_t tasks = s.segs * s.nodes;
  for (int64_t seg = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; seg < s.segs;
       seg += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    PairwiseStack first;
    for (int j = 0; j < s.nodes; ++j) first.push(nodes[seg * s.nodes + j]);
    const float sum = first.result();
    if (M == SumMode::values) {
      out0[seg] = sum / n;
    } else if (M == SumMode::squared_deviations) {
      const float var = sum / n;
      out0[seg] = var;
      out1[seg] = rules::invstd(var, eps);
    } else {
      PairwiseStack second;
      for (int j = 0; j < s.nodes; ++j) second.push(nodes[tasks + seg * s.nodes + j]);
      out0[seg] = sum;              // dbeta partial
      out1[seg] = second.result();  // dgamma partial
      out2[seg] = rules::grad_scale(gamma[seg % s.channels], invstd[seg], n);
    }
  }
}

// Where element i (flat NCHW index) finds its channel and segment.
struct Planes {
  int hw;
  int channels;
  int chunk_size;
};

template <typename I>
__device__ __forceinline__ void locate(const Planes& pl, I i, int& c, I& seg) {
  const I plane = i / pl.hw;
  c = static_cast<int>(plane % pl.channels);
  seg = (plane / pl.channels / pl.chunk_size) * pl.channels + c;
}

#define DETNN_GRID_LOOP(I, i, total)                                             \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < (total); \
       i += static_cast<I>(gridDim.x) * blockDim.x)

// y = normalize(x) with the segment's statistics (training) or the channel's running ones
// (inference: stat = running_var, turned into invstd per element with the same formula).
// kVec: item = 4 consecutive elements of one plane, 16-byte loads and stores.
template <typename I, bool kVec, bool kInference>
__global__ void normalize_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                 const float* __restrict__ beta, const float* __restrict__ mean,
                                 const float* __restrict__ stat, float eps, Planes pl,
                                 float* __restrict__ y, I items) {
  DETNN_GRID_LOOP(I, item, items) {
    const I i = kVec ? item * 4 : item;
    int c;
    I seg;
    locate(pl, i, c, seg);
    const I at = kInference ? static_cast<I>(c) : seg;
    const float m = mean[at];
    const float is = kInference ? rules::invstd(stat[c], eps) : stat[seg];
    const float g = gamma[c], b = beta[c];
    if (kVec) {
      const float4 v = *reinterpret_cast<const float4*>(x + i);
      *reinterpret_cast<float4*>(y + i) =
          make_float4(rules::normalize(v.x, m, is, g, b), rules::normalize(v.y, m, is, g, b),
                      rules::normalize(v.z, m, is, g, b), rules::normalize(v.w, m, is, g, b));
    } else {
      y[i] = rules::normalize(x[i], m, is, g, b);
    }
  }
}

template <typename I, bool kVec>
__global__ void input_grad_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                  const float* __restrict__ mean, const float* __restrict__ invstd,
                                  const float* __restrict__ scale, const float* __restrict__ dbeta,
                                  const float* __restrict__ dgamma, float n, Planes pl,
                                  float* __restrict__ dx, I items) {
  DETNN_GRID_LOOP(I, item, items) {
    const I i = kVec ? item * 4 : item;
    int c;
    I seg;
    locate(pl, i, c, seg);
    const float m = mean[seg], is = invstd[seg], a = scale[seg], db = dbeta[seg], dg = dgamma[seg];
    if (kVec) {
      const float4 v = *reinterpret_cast<const float4*>(x + i);
      const float4 g = *reinterpret_cast<const float4*>(dy + i);
      *reinterpret_cast<float4*>(dx + i) = make_float4(
          rules::input_grad(g.x, rules::xhat(v.x, m, is), a, n, db, dg),
          rules::input_grad(g.y, rules::xhat(v.y, m, is), a, n, db, dg),
          rules::input_grad(g.z, rules::xhat(v.z, m, is), a, n, db, dg),
          rules::input_grad(g.w, rules::xhat(v.w, m, is), a, n, db, dg));
    } else {
      dx[i] = rules::input_grad(dy[i], rules::xhat(x[i], m, is), a, n, db, dg);
    }
  }
}

__global__ void running_stat_sums_kernel(const float* __restrict__ mean, const float* __restrict__ var,
                                         int64_t chunks, int64_t channels, float n, float* __restrict__ sums) {
  DETNN_GRID_LOOP(int64_t, c, channels) {
    PairwiseStack m, v;
    for (int64_t k = 0; k < chunks; ++k) {
      m.push(mean[k * channels + c]);
      v.push(rules::unbiased_var(var[k * channels + c], n));
    }
    sums[c] = m.result();
    sums[channels + c] = v.result();
  }
}

__global__ void update_running_stats_kernel(const float* __restrict__ sums, float chunks, int64_t channels,
                                            float momentum, float* __restrict__ running_mean,
                                            float* __restrict__ running_var) {
  DETNN_GRID_LOOP(int64_t, c, channels) {
    running_mean[c] = rules::running_update(running_mean[c], sums[c] / chunks, momentum);
    running_var[c] = rules::running_update(running_var[c], sums[channels + c] / chunks, momentum);
  }
}

unsigned grid_for(int64_t items, int per_block, int max_blocks = 0) {
  int64_t g = std::clamp<int64_t>((items + per_block - 1) / per_block, 1, int64_t{1} << 20);
  if (max_blocks > 0) g = std::min<int64_t>(g, max_blocks);
  return static_cast<unsigned>(g);
}

void check_launch(const BatchNormLaunch& launch) {
  DETNN_CHECK(launch.warps_per_block >= 1 && launch.warps_per_block <= 8, invalid_argument,
              "batchnorm launch: warps_per_block must be in [1, 8], got ", launch.warps_per_block);
  DETNN_CHECK(launch.max_blocks >= 0, invalid_argument, "batchnorm launch: max_blocks must be >= 0, got ",
              launch.max_blocks);
}

template <SumMode M>
void launch_segment_nodes(const float* x, const float* dy, const float* mean, const float* invstd,
                          const Segments& s, float* nodes, cudaStream_t stream, const BatchNormLaunch& launch) {
  const int warps = launch.warps_per_block;
  const size_t smem = sizeof(float) * kSums<M> * kTileFloats * warps;
  if (smem > 48 * 1024)
    DETNN_CUDA_CHECK(cudaFuncSetAttribute(segment_nodes_kernel<M>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(smem)));
  segment_nodes_kernel<M><<<grid_for(s.segs * s.nodes, warps, launch.max_blocks), warps * kWarp, smem, stream>>>(
      x, dy, mean, invstd, s, nodes);
  DETNN_CUDA_CHECK_LAUNCH();
}

template <SumMode M>
void launch_finish(const float* nodes, const Segments& s, float n, float eps, const float* gamma,
                   const float* invstd, float* out0, float* out1, float* out2, cudaStream_t stream) {
  finish_segments_kernel<M><<<grid_for(s.segs, kBlock), kBlock, 0, stream>>>(nodes, s, n, eps, gamma, invstd,
                                                                             out0, out1, out2);
  DETNN_CUDA_CHECK_LAUNCH();
}

// 32-bit indexing when every flat index stays below 2^31 (a grid-stride step, at most 2^28,
// cannot wrap a uint32_t).
bool fits_u32(const BatchNormParams& p) { return p.size() < (int64_t{1} << 31); }

Planes planes_of(const BatchNormParams& p) {
  return {static_cast<int>(p.hw()), static_cast<int>(p.channels),
          p.chunk_size > 0 ? static_cast<int>(p.chunk_size) : 1};
}

template <bool kInference>
void launch_normalize(const BatchNormParams& p, const float* x, const float* gamma, const float* beta,
                      const float* mean, const float* stat, float* y, cudaStream_t stream) {
  const Planes pl = planes_of(p);
  const bool vec = p.hw() % 4 == 0 && aligned16(x) && aligned16(y);
  const int64_t items = vec ? p.size() / 4 : p.size();
  const unsigned grid = grid_for(items, kBlock);
  if (fits_u32(p)) {
    if (vec)
      normalize_kernel<uint32_t, true, kInference><<<grid, kBlock, 0, stream>>>(x, gamma, beta, mean, stat, p.eps, pl, y,
                                                                               static_cast<uint32_t>(items));
    else
      normalize_kernel<uint32_t, false, kInference><<<grid, kBlock, 0, stream>>>(x, gamma, beta, mean, stat, p.eps, pl,
                                                                                y, static_cast<uint32_t>(items));
  } else {
    if (vec)
      normalize_kernel<int64_t, true, kInference><<<grid, kBlock, 0, stream>>>(x, gamma, beta, mean, stat, p.eps, pl, y,
                                                                              items);
    else
      normalize_kernel<int64_t, false, kInference><<<grid, kBlock, 0, stream>>>(x, gamma, beta, mean, stat, p.eps, pl,
                                                                               y, items);
  }
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace

size_t batchnorm_cuda_workspace_bytes(const BatchNormParams& p) {
  p.validate();
  const Segments s = segments_of(p, false);
  // Two node values per task (backward) and one scale per segment.
  return sizeof(float) * static_cast<size_t>(2 * s.segs * s.nodes + s.segs);
}

void batchnorm_forward_training_cuda(const BatchNormParams& p, const float* x, const float* gamma,
                                     const float* beta, float* y, float* chunk_mean, float* chunk_var,
                                     float* chunk_invstd, void* workspace, cudaStream_t stream,
                                     const BatchNormLaunch& launch) {
  p.validate();
  check_launch(launch);
  const Segments s = segments_of(p, aligned16(x));
  const float n = static_cast<float>(p.count());
  float* nodes = static_cast<float*>(workspace);
  launch_segment_nodes<SumMode::values>(x, nullptr, nullptr, nullptr, s, nodes, stream, launch);
  launch_finish<SumMode::values>(nodes, s, n, p.eps, nullptr, nullptr, chunk_mean, nullptr, nullptr, stream);
  launch_segment_nodes<SumMode::squared_deviations>(x, nullptr, chunk_mean, nullptr, s, nodes, stream, launch);
  launch_finish<SumMode::squared_deviations>(nodes, s, n, p.eps, nullptr, nullptr, chunk_var, chunk_invstd,
                                             nullptr, stream);
  launch_normalize<false>(p, x, gamma, beta, chunk_mean, chunk_invstd, y, stream);
}

void batchnorm_backward_cuda(const BatchNormParams& p, const float* x, const float* dy, const float* gamma,
                             const float* chunk_mean, const float* chunk_invstd, float* dx,
                             float* dgamma_partials, float* dbeta_partials, void* workspace,
                             cudaStream_t stream, const BatchNormLaunch& launch) {
  p.validate();
  check_launch(launch);
  const Segments s = segments_of(p, aligned16(x) && aligned16(dy));
  const float n = static_cast<float>(p.count());
  float* nodes = static_cast<float*>(workspace);
  float* scale = nodes + 2 * s.segs * s.nodes;
  launch_segment_nodes<SumMode::backward>(x, dy, chunk_mean, chunk_invstd, s, nodes, stream, launch);
  launch_finish<SumMode::backward>(nodes, s, n, p.eps, gamma, chunk_invstd, dbeta_partials, dgamma_partials,
                                   scale, stream);

  const Planes pl = planes_of(p);
  const bool vec = p.hw() % 4 == 0 && aligned16(x) && aligned16(dy) && aligned16(dx);
  const int64_t items = vec ? p.size() / 4 : p.size();
  const unsigned grid = grid_for(items, kBlock);
  if (fits_u32(p)) {
    if (vec)
      input_grad_kernel<uint32_t, true><<<grid, kBlock, 0, stream>>>(x, dy, chunk_mean, chunk_invstd, scale,
                                                                     dbeta_partials, dgamma_partials, n, pl, dx,
                                                                     static_cast<uint32_t>(items));
    else
      input_grad_kernel<uint32_t, false><<<grid, kBlock, 0, stream>>>(x, dy, chunk_mean, chunk_invstd, scale,
                                                                      dbeta_partials, dgamma_partials, n, pl, dx,
                                                                      static_cast<uint32_t>(items));
  } else {
    if (vec)
      input_grad_kernel<int64_t, true><<<grid, kBlock, 0, stream>>>(x, dy, chunk_mean, chunk_invstd, scale,
                                                                    dbeta_partials, dgamma_partials, n, pl, dx, items);
    else
      input_grad_kernel<int64_t, false><<<grid, kBlock, 0, stream>>>(x, dy, chunk_mean, chunk_invstd, scale,
                                                                     dbeta_partials, dgamma_partials, n, pl, dx, items);
  }
  DETNN_CUDA_CHECK_LAUNCH();
}

void batchnorm_forward_inference_cuda(const BatchNormParams& p, const float* x, const float* gamma,
                                      const float* beta, const float* running_mean,
                                      const float* running_var, float* y, cudaStream_t stream) {
  p.validate_inference();
  launch_normalize<true>(p, x, gamma, beta, running_mean, running_var, y, stream);
}

void batchnorm_running_stat_sums_cuda(const float* chunk_mean, const float* chunk_var, int64_t chunks,
                                      int64_t channels, int64_t count, float* sums, cudaStream_t stream) {
  DETNN_CHECK(chunks >= 1, invalid_argument, "batchnorm running stats: chunks must be >= 1, got ", chunks);
  DETNN_CHECK(channels >= 1, invalid_argument, "batchnorm running stats: channels must be >= 1, got ", channels);
  DETNN_CHECK(count >= 2, invalid_argument,
              "batchnorm running stats: count (values per chunk and channel) must be >= 2, got ", count);
  running_stat_sums_kernel<<<grid_for(channels, kBlock), kBlock, 0, stream>>>(chunk_mean, chunk_var, chunks, channels,
                                                                              static_cast<float>(count), sums);
  DETNN_CUDA_CHECK_LAUNCH();
}

void batchnorm_update_running_stats_cuda(const float* sums, int64_t total_chunks, int64_t channels,
                                         float momentum, float* running_mean, float* running_var,
                                         cudaStream_t stream) {
  DETNN_CHECK(total_chunks >= 1, invalid_argument,
              "batchnorm running stats: total_chunks must be >= 1, got ", total_chunks);
  DETNN_CHECK(channels >= 1, invalid_argument, "batchnorm running stats: channels must be >= 1, got ", channels);
  DETNN_CHECK(momentum >= 0.0f && momentum <= 1.0f, invalid_argument,
              "batchnorm running stats: momentum must be in [0, 1], got ", momentum);
  update_running_stats_kernel<<<grid_for(channels, kBlock), kBlock, 0, stream>>>(
      sums, static_cast<float>(total_chunks), channels, momentum, running_mean, running_var);
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
