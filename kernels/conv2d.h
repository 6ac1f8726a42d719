// 2-D convolution (PyTorch semantics: NCHW input [N, Ci, H, W], weight [Co, Ci/groups, KH, KW],
// optional bias [Co]; stride, padding and dilation per height/width; groups, depthwise included)
// on the CPU and in strict CUDA, with the same bits on both.
//
// The dot products (DESIGN §3 contract 2, docs/kernels.md). Every result is the K-leaf rule over
// the K order below: leaves of kDotLeaf = 1024 terms, each ONE fmaf chain from 0.0f, combined
// pairwise ("chain over K" below means that; K <= 1024 is one chain):
//  - forward:  y[n,co,oh,ow] = chain over K = (ci, kh, kw), ci within co's group, of
//              x[n, ci, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] * w[co, ci, kh, kw];
//              then `+ bias[co]` as a separate addition.
//  - backward-data: dx[n,ci,ih,iw] = chain over K = (co, kh, kw), co within ci's group, of
//              dy[n, co, oh, ow] * w[co, ci, kh, kw] for the taps that land on an output
//              (ih + ph - kh*dh = oh*sh and iw + pw - kw*dw = ow*sw with 0 <= oh < OH, 0 <= ow < OW).
//  - backward-filter, per reduction chunk c of `chunk_size` samples: dw_partials[c,co,ci,kh,kw] =
//              chain over K = (n, oh, ow), n inside the chunk (increasing), of dy[n,co,oh,ow] * x at
//              the tap; db_partials[c, co] = the leaf-blocked canonical sum (runtime/reduction_rules.h)
//              of dy[n, co, oh, ow] over (n, oh, ow) inside the chunk. combine_chunk_partials_*
//              (kernels/canonical_sum.h) then combines the chunks pairwise in chunk order.
// Taps in the padding (forward, backward-filter) and taps that do not land on an output
// (backward-data) contribute nothing. Both implementations feed them to the chain as a product
// with 0.0f, at the same K positions, so the CPU and CUDA bits agree for every input; for finite
// weights this equals skipping them (docs/kernels.md): the accumulator starts at +0 and adding
// a zero product leaves it unchanged (the only exception is a chain whose value has underflowed
// to -0, which a +0 product turns into +0).
//
// A sample's outputs never depend on the other samples of a call, nor on the CPU thread count
// or the CUDA launch shape.
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace detnn::kernels {

struct Conv2dParams {
  int64_t batch = 1;        // N
  int64_t in_channels = 1;  // Ci
  int64_t in_h = 1, in_w = 1;
  int64_t out_channels = 1;  // Co
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;

  // Throws Error(invalid_argument) naming the parameter and its value: sizes >= 1 (batch >= 0),
  // kernel/stride/dilation >= 1, padding >= 0, groups dividing both channel counts, and an
  // output of at least 1x1.
  void validate() const;

  // floor((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1 (may be < 1 before validate()).
  static int64_t output_extent(int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                               int64_t dilation);
  // Throws Error(invalid_argument) naming a size, stride, padding or dilation above 2^24 (checked
  // first by validate(); out_h()/out_w() are meaningful only below it).
  void validate_extents() const;
  int64_t out_h() const { return output_extent(in_h, kernel_h, stride_h, pad_h, dilation_h); }
  int64_t out_w() const { return output_extent(in_w, kernel_w, stride_w, pad_w, dilation_w); }

  int64_t in_channels_per_group() const { return in_channels / groups; }
  int64_t out_channels_per_group() const { return out_channels / groups; }
  // Length of the forward chain, and the size of one output channel's weights: Ci/g * KH * KW.
  int64_t filter_size() const { return in_channels_per_group() * kernel_h * kernel_w; }

  int64_t input_size() const { return batch * in_channels * in_h * in_w; }
  int64_t output_size() const { return batch * out_channels * out_h() * out_w(); }
  int64_t weight_size() const { return out_channels * filter_size(); }
};

// Number of reduction chunks of `chunk_size` samples in p.batch; throws Error(invalid_argument)
// unless chunk_size >= 1 and the batch is a multiple of it.
int64_t conv2d_chunks(const Conv2dParams& p, int64_t chunk_size);

// --- CPU (host pointers, contiguous) ---

// y = conv(x, w) (+ bias when bias != nullptr).
void conv2d_forward_cpu(const Conv2dParams& p, const float* x, const float* w, const float* bias,
                        float* y);
// dx from dy.
void conv2d_backward_data_cpu(const Conv2dParams& p, const float* dy, const float* w, float* dx);
// dw_partials [chunks, Co, Ci/g, KH, KW]; db_partials [chunks, Co] (skipped when nullptr).
void conv2d_backward_filter_partials_cpu(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                         const float* dy, float* dw_partials, float* db_partials);
// The full gradients of the batch: the partials above combined pairwise over the chunks.
// dw [Co, Ci/g, KH, KW]; db [Co] (skipped when nullptr).
void conv2d_backward_filter_cpu(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                const float* dy, float* dw, float* db);

#ifdef DETNN_HAVE_CUDA
// --- strict CUDA (device pointers, asynchronous on `stream`, same bits as the CPU) ---

// Which kernel runs; exposed so tests can prove every choice gives the CPU's bits.
//  - automatic: the tiled implicit GEMM where it pays (the dense convolutions), the direct
//    one-thread-per-output kernel otherwise (few channels per group, e.g. depthwise);
//  - direct / tiled: that kernel, the tiled one with its tile shape chosen by the problem size;
//  - tile0 .. tile3: the tiled kernel with one fixed tile shape, widest first (backward-filter
//    has three shapes: tile3 means its smallest, as tile2 does).
enum class Conv2dCudaPath { automatic, direct, tiled, tile0, tile1, tile2, tile3 };

void conv2d_forward_cuda(const Conv2dParams& p, const float* x, const float* w, const float* bias,
                         float* y, cudaStream_t stream,
                         Conv2dCudaPath path = Conv2dCudaPath::automatic);
void conv2d_backward_data_cuda(const Conv2dParams& p, const float* dy, const float* w, float* dx,
                               cudaStream_t stream, Conv2dCudaPath path = Conv2dCudaPath::automatic);
// Needs no workspace.
void conv2d_backward_filter_partials_cuda(const Conv2dParams& p, int64_t chunk_size,
                                          const float* x, const float* dy, float* dw_partials,
                                          float* db_partials, cudaStream_t stream,
                                          Conv2dCudaPath path = Conv2dCudaPath::automatic);
// Partials in a CudaScratch (runtime/scratch.h) on `stream`, then combine_chunk_partials_cuda.
void conv2d_backward_filter_cuda(const Conv2dParams& p, int64_t chunk_size, const float* x,
                                 const float* dy, float* dw, float* db, cudaStream_t stream,
                                 Conv2dCudaPath path = Conv2dCudaPath::automatic);
#endif

}  // namespace detnn::kernels
