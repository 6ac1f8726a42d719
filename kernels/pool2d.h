// 2-D pooling over NCHW tensors: max pooling (with the argmax the backward needs), average
// pooling (PyTorch's count_include_pad semantics) and global average pooling. Forward passes
// are one output per work item; backward passes are GATHERS (one input element per work item,
// summing the windows that cover it in a fixed order), so no atomics and no scatter, and the
// bits never depend on the thread count, the launch shape or the other samples of the call.
//
// Window of output (oh, ow): input rows oh*stride_h - pad_h + [0, kernel_h), columns likewise;
// taps that fall in the padding are skipped. Output size is PyTorch's floor mode:
// out = (in + 2*pad - kernel) / stride + 1. No dilation, no ceil mode.
//
// Max pooling, per window, scanning taps in order (kh, then kw):
//  - the first in-bounds tap starts the maximum; a later tap replaces it only when it is
//    strictly greater, so among equal maxima the FIRST in scan order wins;
//  - NaN propagates: the first NaN in scan order replaces a non-NaN maximum and is never
//    replaced (PyTorch also outputs NaN; its argmax picks the last NaN instead of the first);
//  - argmax[o] = ih * width + iw of the chosen tap (int32, flat index into the input plane).
// Max backward: dx[ih, iw] = 0.0f, then + dy[oh, ow] for every window (oh ascending, then ow
// ascending) whose argmax is (ih, iw) - sequential float additions in that order.
//
// Average pooling: y = s / d, one IEEE division, where s is the sequential sum (from 0.0f) of
// the in-bounds taps in scan order and d = kernel_h * kernel_w (count_include_pad) or the
// number of in-bounds taps (count_include_pad false). Backward: dx[ih, iw] = 0.0f, then
// + (dy[oh, ow] / d(oh, ow)) for every window covering (ih, iw), oh ascending then ow ascending.
//
// Global average pooling: y[n, c] = canonical_sum(x[n, c, :, :]) / (H * W) (DESIGN §3 leaf-blocked
// sum over the plane in (h, w) order, then one IEEE division); dx = dy / (H * W).
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "runtime/host_device.h"

namespace detnn::kernels {

struct PoolParams {
  // Input shape, NCHW.
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // average pooling only; PyTorch's default

  // Square kernel, stride and padding (PyTorch's int arguments).
  static PoolParams square(int64_t batch, int64_t channels, int64_t height, int64_t width,
                           int64_t kernel, int64_t stride, int64_t pad, bool count_include_pad = true) {
    return {batch, channels, height, width, kernel, kernel, stride, stride, pad, pad, count_include_pad};
  }

  // Throws Error(invalid_argument) naming the parameter and its value: sizes (batch, channels
  // >= 0; height, width >= 1), kernel and stride >= 1, 0 <= pad <= kernel / 2 (PyTorch's rule,
  // so every window holds an in-bounds tap), a kernel that fits the padded input, and an input
  // plane of fewer than 2^31 elements (int32 argmax).
  void validate() const;

  int64_t out_h() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  int64_t out_w() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
  int64_t planes() const { return batch * channels; }
  int64_t input_size() const { return planes() * height * width; }
  int64_t output_size() const { return planes() * out_h() * out_w(); }
};

// x: [N, C, H, W]; y, argmax: [N, C, out_h, out_w].
void maxpool2d_forward_cpu(const PoolParams& p, const float* x, float* y, int32_t* argmax);
// dy, argmax: [N, C, out_h, out_w]; dx: [N, C, H, W] (every element written).
void maxpool2d_backward_cpu(const PoolParams& p, const float* dy, const int32_t* argmax, float* dx);

void avgpool2d_forward_cpu(const PoolParams& p, const float* x, float* y);
void avgpool2d_backward_cpu(const PoolParams& p, const float* dy, float* dx);

// x: [N, C, H, W]; y: [N, C] (i.e. [N, C, 1, 1]). Only the shape fields of p are used: pass
// PoolParams{N, C, H, W}.
void global_avgpool2d_forward_cpu(const PoolParams& p, const float* x, float* y);
void global_avgpool2d_backward_cpu(const PoolParams& p, const float* dy, float* dx);

// The per-window rules above, shared by the CPU and CUDA code so both make the same choices.
// I is the integer type of in-plane indices (validate() keeps them below 2^31).
namespace pool_rules {

// Offers tap value v at plane index idx to the running maximum (best, best_index); best_index
// < 0 means no tap yet. First maximum wins; the first NaN wins and stays.
DETNN_HD void max_offer(float v, int32_t idx, float& best, int32_t& best_index) {
  if (best_index < 0 || v > best || (v != v && best == best)) {
    best = v;
    best_index = idx;
  }
}

// Outputs [lo, hi] along one axis whose window covers input position i (empty when lo > hi).
template <typename I>
DETNN_HD void covering_outputs(I i, I kernel, I stride, I pad, I out, I& lo, I& hi) {
  lo = i + pad < kernel ? I(0) : (i + pad - kernel) / stride + 1;
  hi = (i + pad) / stride;
  if (hi > out - 1) hi = out - 1;
}

// In-bounds tap range [begin, end) along one axis of the window starting at `start`.
template <typename I>
DETNN_HD void window_taps(I start, I kernel, I size, I& begin, I& end) {
  begin = start < 0 ? I(0) : start;
  end = start + kernel < size ? start + kernel : size;
}

}  // namespace pool_rules

#ifdef DETNN_HAVE_CUDA
// Strict CUDA versions: the same bits as the CPU functions above. Device pointers, asynchronous
// on `stream`. Outputs must not alias inputs. Global average pooling of planes larger than one
// leaf (H * W > 256) takes a workspace from CudaScratch on `stream`.
void maxpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, int32_t* argmax,
                            cudaStream_t stream);
void maxpool2d_backward_cuda(const PoolParams& p, const float* dy, const int32_t* argmax, float* dx,
                             cudaStream_t stream);
void avgpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, cudaStream_t stream);
void avgpool2d_backward_cuda(const PoolParams& p, const float* dy, float* dx, cudaStream_t stream);
void global_avgpool2d_forward_cuda(const PoolParams& p, const float* x, float* y, cudaStream_t stream);
void global_avgpool2d_backward_cuda(const PoolParams& p, const float* dy, float* dx, cudaStream_t stream);
#endif

}  // namespace detnn::kernels
