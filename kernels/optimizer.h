// Optimizer updates over the flat parameter buffer (DESIGN §5: parameters, gradients and each
// optimizer state live in one contiguous buffer, so an update is one fused elementwise pass),
// and the global gradient norm with its clip factor. CPU and strict CUDA, the same bits.
//
// The host computes the step scalars once per step (sgd_step_scalars / adam_step_scalars, with
// dmath::pow for the bias corrections, DESIGN §2.5); the kernels apply, per element i, in this
// order (g = grads[i] * grad_scale, exact when grad_scale == 1):
//
// SGD (PyTorch semantics; momentum buffer `buf`):
//   d   = weight_decay != 0 ? fmaf(weight_decay, p, g) : g
//   if momentum != 0:
//     buf = first_step ? d : fmaf(momentum, buf, one_minus_dampening * d)
//     d   = nesterov ? fmaf(momentum, buf, d) : buf
//   p   = fmaf(-lr, d, p)
// Adam (decoupled = false: L2 decay added to the gradient, PyTorch's Adam) and AdamW
// (decoupled = true: PyTorch's AdamW); m = exp_avg, v = exp_avg_sq:
//   Adam:  if weight_decay != 0: g = fmaf(weight_decay, p, g)
//   AdamW: p = p * decay                                    decay = 1 - lr * weight_decay
//   m     = fmaf(beta1, m, one_minus_beta1 * g)
//   v     = fmaf(beta2, v, (one_minus_beta2 * g) * g)
//   denom = dmath::sqrt(v) / sqrt_bc2 + eps                 sqrt_bc2 = sqrt(1 - beta2^t)
//   p     = fmaf(-step_size, m / denom, p)                  step_size = lr / (1 - beta1^t)
// Host scalars (float, IEEE): one_minus_x = 1 - x; bc = 1 - dmath::pow(beta, float(t)).
//
// Global gradient norm: sqrt of the canonical sum (DESIGN §3: leaves of 256 consecutive
// elements in index order summed sequentially, leaf sums combined pairwise) of the values
// g_i * g_i (each square rounded, then added). Clip factor (PyTorch's clip_grad_norm_):
//   f = max_norm / (norm + 1e-6f); f = f > 1 ? 1 : f       (NaN norm -> NaN, inf norm -> 0)
// and it is applied as grad_scale of the update (fused; the gradients are not rewritten).
//
// Buffers may not overlap each other (params, grads and each state are distinct).
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/canonical_sum.h"  // ReduceLaunch: the launch-shape knobs tests vary
#endif

#include "runtime/dmath.h"
#include "runtime/host_device.h"

namespace detnn::kernels {

struct SgdParams {
  float lr = 0.0f;            // >= 0
  float momentum = 0.0f;      // >= 0
  float dampening = 0.0f;     // in [0, 1]; 0 when nesterov
  float weight_decay = 0.0f;  // >= 0
  bool nesterov = false;      // needs momentum > 0 and dampening == 0 (as PyTorch)
  void validate() const;      // Error(invalid_argument) naming the field and value
};

struct SgdStep {
  float lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, first_step;
};
// step: 1 for the first update (the momentum buffer is then initialized to d).
SgdStep sgd_step_scalars(const SgdParams& params, int64_t step);

struct AdamParams {
  float lr = 1e-3f;           // >= 0
  float beta1 = 0.9f;         // in [0, 1)
  float beta2 = 0.999f;       // in [0, 1)
  float eps = 1e-8f;          // >= 0
  float weight_decay = 0.0f;  // >= 0
  bool decoupled = false;     // false: Adam (L2 in the gradient); true: AdamW
  void validate() const;
};

struct AdamStep {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  float step_size;     // lr / (1 - beta1^t)
  float sqrt_bc2;      // sqrt(1 - beta2^t)
  float weight_decay;  // the L2 coefficient (Adam)
  float decay;         // 1 - lr * weight_decay (AdamW)
  bool decoupled;
};
// step t >= 1 (the count including this update).
AdamStep adam_step_scalars(const AdamParams& params, int64_t step);

namespace optim {
DETNN_HD void sgd_element(float& p, float grad, float* buf, const SgdStep& s, float grad_scale) {
  const float g = grad * grad_scale;
  float d = s.weight_decay != 0.0f ? fmaf(s.weight_decay, p, g) : g;
  if (s.momentum != 0.0f) {
    const float b = s.first_step ? d : fmaf(s.momentum, *buf, s.one_minus_dampening * d);
    *buf = b;
    d = s.nesterov ? fmaf(s.momentum, b, d) : b;
  }
  p = fmaf(-s.lr, d, p);
}

DETNN_HD void adam_element(float& p, float grad, float& m, float& v, const AdamStep& s, float grad_scale) {
  float g = grad * grad_scale;
  if (s.decoupled) {
    p = p * s.decay;
  } else if (s.weight_decay != 0.0f) {
    g = fmaf(s.weight_decay, p, g);
  }
  m = fmaf(s.beta1, m, s.one_minus_beta1 * g);
  v = fmaf(s.beta2, v, (s.one_minus_beta2 * g) * g);
  const float denom = dmath::sqrt(v) / s.sqrt_bc2 + s.eps;
  p = fmaf(-s.step_size, m / denom, p);
}

DETNN_HD float clip_factor(float norm, float max_norm) {
  const float f = max_norm / (norm + 1e-6f);
  return f > 1.0f ? 1.0f : f;
}
}  // namespace optim

// params, grads, momentum_buf: n floats (momentum_buf unused, may be null, when momentum == 0).
void sgd_update_cpu(float* params, const float* grads, float* momentum_buf, int64_t n,
                    const SgdStep& step, float grad_scale = 1.0f);
void adam_update_cpu(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                     const AdamStep& step, float grad_scale = 1.0f);

// sqrt(canonical sum of grads[i]^2), see above.
float global_grad_norm_cpu(const float* grads, int64_t n);
// Throws Error(invalid_argument) unless max_norm > 0, then optim::clip_factor.
float clip_factor_cpu(float norm, float max_norm);

#ifdef DETNN_HAVE_CUDA
// Device pointers, asynchronous on `stream`. grad_scale: a device float (the clip factor) or
// nullptr for 1. Bits equal the CPU's for every launch shape and pointer alignment.
void sgd_update_cuda(float* params, const float* grads, float* momentum_buf, int64_t n,
                     const SgdStep& step, const float* grad_scale, cudaStream_t stream,
                     const ReduceLaunch& launch = {});
void adam_update_cuda(float* params, const float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                      const AdamStep& step, const float* grad_scale, cudaStream_t stream,
                      const ReduceLaunch& launch = {});

// *norm (device) = global_grad_norm of grads[0, n). workspace: at least
// global_grad_norm_cuda_workspace_bytes(n) bytes (nullptr: taken from CudaScratch). It holds
// the n squares, summed by canonical_sum_cuda.
size_t global_grad_norm_cuda_workspace_bytes(int64_t n);
void global_grad_norm_cuda(const float* grads, int64_t n, float* norm, void* workspace,
                           cudaStream_t stream);
// *factor (device) = optim::clip_factor(*norm, max_norm); max_norm > 0.
void clip_factor_cuda(const float* norm, float max_norm, float* factor, cudaStream_t stream);
#endif

}  // namespace detnn::kernels
