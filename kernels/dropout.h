// Dropout in training mode (DESIGN §4), on CPU and strict CUDA.
//
// Element e of the sample at position s of the GLOBAL batch keeps its value when
//   u >= p,  u = random_uniform(philox_stream_key(seed, RandomPurpose::dropout),
//                               index = s * sample_size + e, a = step, b = layer_hash)
// (runtime/philox.h: u = (bits >> 8) * 2^-24, so P(drop) = ceil(p * 2^24) / 2^24). The mask is a
// pure function of (seed, step, layer path, global position, element): it does not depend on
// how the batch is cut into calls, chunks or ranks — a call covers samples
// [first_sample, first_sample + samples) and may start anywhere.
//
//   forward   y  = keep ? x * scale : +0      scale = 1 / (1 - p), one IEEE division on the host
//   backward  dx = keep ? dy * scale : +0     the mask is recomputed from Philox, not stored:
//                                             it costs no memory and no extra read, and the
//                                             draw is cheap next to the memory traffic
// p == 0 keeps everything (x * 1 == x). Evaluation mode is the identity and never calls this.
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/canonical_sum.h"  // ReduceLaunch: the launch-shape knobs tests vary
#endif

#include "runtime/host_device.h"
#include "runtime/philox.h"

namespace detnn::kernels {

struct DropoutParams {
  float p = 0.0f;            // drop probability, in [0, 1)
  uint64_t seed = 0;         // the run's seed
  uint64_t step = 0;         // training step (must fit in 32 bits: the Philox `a` word)
  uint32_t layer_hash = 0;   // stable_name_hash(layer path)
  int64_t sample_size = 0;   // elements per sample (C*H*W), >= 0
  int64_t first_sample = 0;  // position in the global batch of the call's first sample, >= 0
  int64_t samples = 0;       // samples in this call, >= 0
  // CUDA only: when set, the kernel reads the step from this device address instead of `step`
  // (the session's step counter on the device), so that a training step captured in a CUDA
  // Graph draws the mask of the step it is replayed for. The value must fit in 32 bits (the
  // session checks it when it writes the counter). The CPU ignores it.
  const int64_t* step_on_device = nullptr;

  // Throws Error(invalid_argument) naming the bad field and its value.
  void validate() const;
  int64_t elements() const { return samples * sample_size; }
  // 1 / (1 - p) as a float, computed once on the host (IEEE division).
  float scale() const { return 1.0f / (1.0f - p); }
};

namespace dropout_detail {
// Philox draw `block` covers global element indices [4*block, 4*block + 4); word w is index
// 4*block + w. Applies the mask to those of them inside the call, [base, base + n), where
// local element i = global index - base.
DETNN_HD void apply_block(PhiloxKey key, uint64_t block, uint32_t step, uint32_t layer_hash,
                          uint64_t base, uint64_t n, float p, float scale, const float* in,
                          float* out) {
  const PhiloxBlock d = philox_draw(key, block, step, layer_hash);
  for (int w = 0; w < 4; ++w) {
    const uint64_t g = 4 * block + w;
    if (g < base || g - base >= n) continue;
    const uint64_t i = g - base;
    out[i] = uint_to_unit_float(d.w[w]) >= p ? in[i] * scale : 0.0f;
  }
}
}  // namespace dropout_detail

// x, y: [samples, sample_size]. y may alias x.
void dropout_forward_cpu(const float* x, float* y, const DropoutParams& params);
// dy, dx: [samples, sample_size]; the same params as the forward. dx may alias dy.
void dropout_backward_cpu(const float* dy, float* dx, const DropoutParams& params);

#ifdef DETNN_HAVE_CUDA
// Device pointers, asynchronous on `stream`; the same bits as the CPU for any launch shape
// (block_size: a multiple of 32 in [32, 1024]; max_blocks: 0 = default).
void dropout_forward_cuda(const float* x, float* y, const DropoutParams& params, cudaStream_t stream,
                          const ReduceLaunch& launch = {});
void dropout_backward_cuda(const float* dy, float* dx, const DropoutParams& params,
                           cudaStream_t stream, const ReduceLaunch& launch = {});
#endif

}  // namespace detnn::kernels
