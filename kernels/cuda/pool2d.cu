// Strict CUDA pooling: one thread per output (forward) or per input element (backward gather),
// the same window rules as kernels/cpu/pool2d.cpp (kernels/pool2d.h: pool_rules), so the bits
// equal the CPU's for every launch shape. The 2x2 / stride 2 / no-padding max pooling of a
// plane whose width is a multiple of 4 has a vectorized path (16-byte input loads, 8-byte
// output stores) that makes exactly the same per-window choices.
#include <algorithm>

#include "kernels/canonical_sum.h"
#include "kernels/pool2d.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"
#include "runtime/reduction_rules.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

using pool_rules::covering_outputs;
using pool_rules::max_offer;
using pool_rules::window_taps;

namespace {

// In-plane geometry; validate() keeps every in-plane index below 2^31.
struct Geom {
  int h, w, oh, ow, kh, kw, sh, sw, ph, pw;
  bool include_pad;
};

Geom geom_of(const PoolParams& p) {
  return {static_cast<int>(p.height), static_cast<int>(p.width), static_cast<int>(p.out_h()),
          static_cast<int>(p.out_w()),  static_cast<int>(p.kernel_h), static_cast<int>(p.kernel_w),
          static_cast<int>(p.stride_h), static_cast<int>(p.stride_w), static_cast<int>(p.pad_h),
          static_cast<int>(p.pad_w),    p.count_include_pad};
}

constexpr int kBlock = 256;

unsigned grid_for(int64_t items) {
  return static_cast<unsigned>(std::clamp<int64_t>((items + kBlock - 1) / kBlock, 1, int64_t{1} << 20));
}

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

// Grid-stride loop over [0, total) in index type I (uint32_t when the call fits, else int64_t).
#define DETNN_GRID_LOOP(I, i, total)                                             \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < (total); \
       i += static_cast<I>(gridDim.x) * blockDim.x)

__device__ __forceinline__ float avg_divisor(const Geom& g, int h0, int h1, int w0, int w1) {
  return static_cast<float>(g.include_pad ? g.kh * g.kw : (h1 - h0) * (w1 - w0));
}

template <typename I>
__global__ void maxpool_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       int32_t* __restrict__ argmax, Geom g, I total) {
  DETNN_GRID_LOOP(I, o, total) {
    const int ow = static_cast<int>(o % g.ow);
    const I t = o / g.ow;
    const int oh = static_cast<int>(t % g.oh);
    const I plane = t / g.oh;
    const float* xp = x + plane * g.h * g.w;
    int h0, h1, w0, w1;
    window_taps(oh * g.sh - g.ph, g.kh, g.h, h0, h1);
    window_taps(ow * g.sw - g.pw, g.kw, g.w, w0, w1);
    float best = 0.0f;
    int32_t best_index = -1;
    for (int ih = h0; ih < h1; ++ih)
      for (int iw = w0; iw < w1; ++iw) max_offer(xp[ih * g.w + iw], ih * g.w + iw, best, best_index);
    y[o] = best;
    argmax[o] = best_index;
  }
}

// 2x2, stride 2, no padding, w % 4 == 0: item (plane, oh, j) makes outputs (oh, 2j) and
// (oh, 2j + 1) from one float4 of each of the input rows 2oh and 2oh + 1.
template <typename I>
__global__ void maxpool_2x2_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                           int32_t* __restrict__ argmax, Geom g, I total) {
  const int pairs = g.ow / 2;
  DETNN_GRID_LOOP(I, item, total) {
    const int j = static_cast<int>(item % pairs);
    const I t = item / pairs;
    const int oh = static_cast<int>(t % g.oh);
    const I plane = t / g.oh;
    const int r0 = 2 * oh * g.w + 4 * j, r1 = r0 + g.w;
    const float4 a = *reinterpret_cast<const float4*>(x + plane * g.h * g.w + r0);
    const float4 b = *reinterpret_cast<const float4*>(x + plane * g.h * g.w + r1);
    float m0 = 0.0f, m1 = 0.0f;
    int32_t i0 = -1, i1 = -1;
    max_offer(a.x, r0, m0, i0);
    max_offer(a.y, r0 + 1, m0, i0);
    max_offer(b.x, r1, m0, i0);
    max_offer(b.y, r1 + 1, m0, i0);
    max_offer(a.z, r0 + 2, m1, i1);
    max_offer(a.w, r0 + 3, m1, i1);
    max_offer(b.z, r1 + 2, m1, i1);
    max_offer(b.w, r1 + 3, m1, i1);
    const I out = (plane * g.oh + oh) * g.ow + 2 * j;
    *reinterpret_cast<float2*>(y + out) = make_float2(m0, m1);
    *reinterpret_cast<int2*>(argmax + out) = make_int2(i0, i1);
  }
}

template <typename I>
__global__ void maxpool_backward_kernel(const float* __restrict__ dy, const int32_t* __restrict__ argmax,
                                        float* __restrict__ dx, Geom g, I total) {
  DETNN_GRID_LOOP(I, i, total) {
    const int iw = static_cast<int>(i % g.w);
    const I t = i / g.w;
    const int ih = static_cast<int>(t % g.h);
    const I plane = t / g.h;
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, g.kh, g.sh, g.ph, g.oh, oh0, oh1);
    covering_outputs(iw, g.kw, g.sw, g.pw, g.ow, ow0, ow1);
    const float* gp = dy + plane * g.oh * g.ow;
    const int32_t* ap = argmax + plane * g.oh * g.ow;
    const int32_t self = ih * g.w + iw;
    float acc = 0.0f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow)
        if (ap[oh * g.ow + ow] == self) acc = acc + gp[oh * g.ow + ow];
    dx[i] = acc;
  }
}

// 2x2, stride 2, no padding, w % 4 == 0: item (plane, ih, j) writes input columns 4j .. 4j+3 of
// row ih, covered by outputs (ih / 2, 2j) and (ih / 2, 2j + 1) (none when ih >= 2 * oh).
template <typename I>
__global__ void maxpool_2x2_backward_kernel(const float* __restrict__ dy, const int32_t* __restrict__ argmax,
                                            float* __restrict__ dx, Geom g, I total) {
  const int quads = g.w / 4;
  DETNN_GRID_LOOP(I, item, total) {
    const int j = static_cast<int>(item % quads);
    const I t = item / quads;
    const int ih = static_cast<int>(t % g.h);
    const I plane = t / g.h;
    float4 out = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (ih < 2 * g.oh) {
      const I o = (plane * g.oh + ih / 2) * g.ow + 2 * j;
      const float2 gv = *reinterpret_cast<const float2*>(dy + o);
      const int2 av = *reinterpret_cast<const int2*>(argmax + o);
      const int32_t self = ih * g.w + 4 * j;
      if (av.x == self) out.x = out.x + gv.x;
      if (av.x == self + 1) out.y = out.y + gv.x;
      if (av.y == self + 2) out.z = out.z + gv.y;
      if (av.y == self + 3) out.w = out.w + gv.y;
    }
    *reinterpret_cast<float4*>(dx + (plane * g.h + ih) * g.w + 4 * j) = out;
  }
}

template <typename I>
__global__ void avgpool_forward_kernel(const float* __restrict__ x, float* __restrict__ y, Geom g, I total) {
  DETNN_GRID_LOOP(I, o, total) {
    const int ow = static_cast<int>(o % g.ow);
    const I t = o / g.ow;
    const int oh = static_cast<int>(t % g.oh);
    const I plane = t / g.oh;
    const float* xp = x + plane * g.h * g.w;
    int h0, h1, w0, w1;
    window_taps(oh * g.sh - g.ph, g.kh, g.h, h0, h1);
    window_taps(ow * g.sw - g.pw, g.kw, g.w, w0, w1);
    float sum = 0.0f;
    for (int ih = h0; ih < h1; ++ih)
      for (int iw = w0; iw < w1; ++iw) sum = sum + xp[ih * g.w + iw];
    y[o] = sum / avg_divisor(g, h0, h1, w0, w1);
  }
}

template <typename I>
__global__ void avgpool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx, Geom g, I total) {
  DETNN_GRID_LOOP(I, i, total) {
    const int iw = static_cast<int>(i % g.w);
    const I t = i / g.w;
    const int ih = static_cast<int>(t % g.h);
    const I plane = t / g.h;
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, g.kh, g.sh, g.ph, g.oh, oh0, oh1);
    covering_outputs(iw, g.kw, g.sw, g.pw, g.ow, ow0, ow1);
    const float* gp = dy + plane * g.oh * g.ow;
    float acc = 0.0f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      int h0, h1;
      window_taps(oh * g.sh - g.ph, g.kh, g.h, h0, h1);
      for (int ow = ow0; ow <= ow1; ++ow) {
        int w0, w1;
        window_taps(ow * g.sw - g.pw, g.kw, g.w, w0, w1);
        acc = acc + gp[oh * g.ow + ow] / avg_divisor(g, h0, h1, w0, w1);
      }
    }
    dx[i] = acc;
  }
}

// Planes of at most one leaf: the canonical sum is the sequential sum, one thread per plane.
__global__ void global_avgpool_small_kernel(const float* __restrict__ x, float* __restrict__ y,
                                            int64_t planes, int hw) {
  DETNN_GRID_LOOP(int64_t, plane, planes) {
    const float* xp = x + plane * hw;
    float sum = 0.0f;
    for (int i = 0; i < hw; ++i) sum = sum + xp[i];
    y[plane] = sum / static_cast<float>(hw);
  }
}

__global__ void divide_in_place_kernel(float* __restrict__ y, int64_t n, float d) {
  DETNN_GRID_LOOP(int64_t, i, n) y[i] = y[i] / d;
}

template <typename I>
__global__ void global_avgpool_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                               int hw, I total) {
  const float d = static_cast<float>(hw);
  DETNN_GRID_LOOP(I, i, total) dx[i] = dy[i / hw] / d;
}

// 32-bit indexing when every flat index of the call (inputs and outputs) stays below 2^31, so a
// grid-stride step (at most 2^28) cannot wrap a uint32_t.
bool fits_u32(const PoolParams& p) { return std::max(p.input_size(), p.output_size()) < (int64_t{1} << 31); }

// Calls launch(I{}) with I = uint32_t when every index of p fits 32 bits (cheaper index
// arithmetic in the kernels), else with I = int64_t; the kernels give the same bits either way.
template <typename Launch>
void with_index_type(const PoolParams& p, Launch&& launch) {
  if (fits_u32(p))
    launch(uint32_t{});
  else
    launch(int64_t{});
}

bool vector_2x2(const PoolParams& p) {
  return p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 0 &&
         p.pad_w == 0 && p.width % 4 == 0;
}

}  // namespace

void maxpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, int32_t* argmax,
                            cudaStream_t stream) {
  p.validate();
  const int64_t total = p.output_size();
  if (total == 0) return;
  const Geom g = geom_of(p);
  const bool vector = vector_2x2(p) && aligned(x, 16) && aligned(y, 8) && aligned(argmax, 8);
  with_index_type(p, [&](auto zero) {
    using I = decltype(zero);
    if (vector)
      maxpool_2x2_forward_kernel<I><<<grid_for(total / 2), kBlock, 0, stream>>>(x, y, argmax, g,
                                                                               static_cast<I>(total / 2));
    else
      maxpool_forward_kernel<I><<<grid_for(total), kBlock, 0, stream>>>(x, y, argmax, g, static_cast<I>(total));
  });
  DETNN_CUDA_CHECK_LAUNCH();
}

void maxpool2d_backward_cuda(const PoolParams& p, const float* dy, const int32_t* argmax, float* dx,
                             cudaStream_t stream) {
  p.validate();
  const int64_t total = p.input_size();
  if (total == 0) return;
  const Geom g = geom_of(p);
  const bool vector = vector_2x2(p) && aligned(dy, 8) && aligned(argmax, 8) && aligned(dx, 16);
  with_index_type(p, [&](auto zero) {
    using I = decltype(zero);
    if (vector)
      maxpool_2x2_backward_kernel<I><<<grid_for(total / 4), kBlock, 0, stream>>>(dy, argmax, dx, g,
                                                                                static_cast<I>(total / 4));
    else
      maxpool_backward_kernel<I><<<grid_for(total), kBlock, 0, stream>>>(dy, argmax, dx, g, static_cast<I>(total));
  });
  DETNN_CUDA_CHECK_LAUNCH();
}

void avgpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, cudaStream_t stream) {
  p.validate();
  const int64_t total = p.output_size();
  if (total == 0) return;
  const Geom g = geom_of(p);
  with_index_type(p, [&](auto zero) {
    using I = decltype(zero);
    avgpool_forward_kernel<I><<<grid_for(total), kBlock, 0, stream>>>(x, y, g, static_cast<I>(total));
  });
  DETNN_CUDA_CHECK_LAUNCH();
}

void avgpool2d_backward_cuda(const PoolParams& p, const float* dy, float* dx, cudaStream_t stream) {
  p.validate();
  const int64_t total = p.input_size();
  if (total == 0) return;
  const Geom g = geom_of(p);
  with_index_type(p, [&](auto zero) {
    using I = decltype(zero);
    avgpool_backward_kernel<I><<<grid_for(total), kBlock, 0, stream>>>(dy, dx, g, static_cast<I>(total));
  });
  DETNN_CUDA_CHECK_LAUNCH();
}

void global_avgpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, cudaStream_t stream) {
  p.validate();
  const int64_t planes = p.planes(), hw = p.height * p.width;
  if (planes == 0) return;
  if (hw <= kReductionLeaf) {
    global_avgpool_small_kernel<<<grid_for(planes), kBlock, 0, stream>>>(x, y, planes, static_cast<int>(hw));
    DETNN_CUDA_CHECK_LAUNCH();
    return;
  }
  const SumLayout layout = SumLayout::rows(planes, hw);
  CudaScratch workspace(canonical_sum_cuda_workspace_bytes(layout), stream);
  canonical_sum_cuda(x, y, layout, workspace.get(), stream);
  divide_in_place_kernel<<<grid_for(planes), kBlock, 0, stream>>>(y, planes, static_cast<float>(hw));
  DETNN_CUDA_CHECK_LAUNCH();
}

void global_avgpool2d_backward_cuda(const PoolParams& p, const float* dy, float* dx, cudaStream_t stream) {
  p.validate();
  const int64_t total = p.input_size();
  if (total == 0) return;
  const int hw = static_cast<int>(p.height * p.width);
  with_index_type(p, [&](auto zero) {
    using I = decltype(zero);
    global_avgpool_backward_kernel<I><<<grid_for(total), kBlock, 0, stream>>>(dy, dx, hw, static_cast<I>(total));
  });
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
