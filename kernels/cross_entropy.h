// Softmax cross-entropy with label smoothing (PyTorch's CrossEntropyLoss(label_smoothing=eps,
// reduction='mean') on logits [samples, K] and int32 labels), on CPU and strict CUDA.
//
// Per sample i, with z = logits row i, y = label, K classes:
//   m     = max_k z_k, then m = m + 0.0f (turns -0 into +0, so the order of the max is moot)
//   s     = canonical sum over k of dmath::exp(z_k - m)   (leaves of 256 classes summed in k
//           order, leaf sums combined pairwise: runtime/reduction_rules.h)
//   ls    = dmath::log(s)                                 (log-sum-exp minus m)
//   nll   = ls - (z_y - m)                                (-log p_y)
//   d     = canonical sum over k of (z_k - m)             (only when eps > 0)
//   sm    = ls - d / float(K)                             (mean_k -log p_k; 0 when eps == 0)
//   loss  = fmaf(eps, sm, (1 - eps) * nll)                (1 - eps rounded once, on the host)
// Gradient of the batch loss (sum over the global batch / B) with respect to z_k:
//   off   = eps / float(K),  on = (1 - eps) + off         (host scalars)
//   g_k   = (dmath::exp(z_k - m) / s - (k == y ? on : off)) / float(B)
// The batch loss is the canonical sum of the per-sample losses (leaf-blocked pairwise over the
// samples in order) divided by float(B), B = the GLOBAL batch size. A sample's loss and
// gradient never depend on the other samples of the call.
//
// Labels: on the CPU a label outside [0, K) throws Error(invalid_argument) naming the sample
// (its index in the call) and the value. The CUDA path requires labels already checked on the
// host (cross_entropy_validate_labels, before the upload: labels come from the host-side data
// loader); a bad label on the device never reads out of bounds, it makes that sample's loss and
// gradient row NaN (0x7fc00000), so it cannot pass silently.
// Non-finite logits give NaN losses (payload bits may differ between CPU and CUDA).
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "runtime/dmath.h"
#include "runtime/host_device.h"

namespace detnn::kernels {

struct CrossEntropyParams {
  int64_t samples = 0;          // rows in this call, >= 0
  int64_t classes = 0;          // K, in [1, 2^24]
  float label_smoothing = 0.0f; // eps, in [0, 1]
  int64_t global_batch = 0;     // B, the divisor of the loss and the gradient, in [1, 2^24]

  // Throws Error(invalid_argument) naming the bad field and its value.
  void validate() const;
};

// The per-call scalars, computed once on the host.
struct CrossEntropyScalars {
  float eps, one_minus_eps, classes, batch, off, on;
};
CrossEntropyScalars cross_entropy_scalars(const CrossEntropyParams& params);

namespace xent {
// Final arithmetic of one sample, shared by CPU and CUDA. zy = z_y - m.
DETNN_HD float sample_loss(float s, float zy, float d, const CrossEntropyScalars& c) {
  const float ls = dmath::log(s);
  const float nll = ls - zy;
  const float sm = c.eps > 0.0f ? ls - d / c.classes : 0.0f;
  return fmaf(c.eps, sm, c.one_minus_eps * nll);
}
// e = dmath::exp(z_k - m).
DETNN_HD float grad(float e, float s, bool target, const CrossEntropyScalars& c) {
  return (e / s - (target ? c.on : c.off)) / c.batch;
}
}  // namespace xent

// Throws Error(invalid_argument) for the first label outside [0, classes), naming its index
// and value. labels: host memory, n entries.
void cross_entropy_validate_labels(const int32_t* labels, int64_t n, int64_t classes);

// losses[i] = loss of sample i. logits [samples, K], labels [samples].
void cross_entropy_forward_cpu(const float* logits, const int32_t* labels, float* losses,
                               const CrossEntropyParams& params);
// dlogits [samples, K] = gradient of the batch loss. dlogits may not alias logits.
void cross_entropy_backward_cpu(const float* logits, const int32_t* labels, float* dlogits,
                                const CrossEntropyParams& params);
// Canonical sum of losses[0, n) divided by float(global_batch).
float cross_entropy_batch_loss_cpu(const float* losses, int64_t n, int64_t global_batch);

#ifdef DETNN_HAVE_CUDA
// Launch-shape knob the tests vary; the bits never depend on it. 0 = chosen from K.
struct CrossEntropyLaunch {
  int block_size = 0;  // threads per sample: 0, or a power of two in [32, 1024]
  int max_blocks = 0;  // grid cap (0: one block per sample, up to 2^20)
};
// Device pointers, asynchronous on `stream`. Labels must be valid (see above).
void cross_entropy_forward_cuda(const float* logits, const int32_t* labels, float* losses,
                                const CrossEntropyParams& params, cudaStream_t stream,
                                const CrossEntropyLaunch& launch = {});
void cross_entropy_backward_cuda(const float* logits, const int32_t* labels, float* dlogits,
                                 const CrossEntropyParams& params, cudaStream_t stream,
                                 const CrossEntropyLaunch& launch = {});
// *loss (device) = canonical sum of losses[0, n) / float(global_batch); workspace holds
// cross_entropy_batch_loss_cuda_workspace_bytes(n) bytes (nullptr: taken from CudaScratch).
size_t cross_entropy_batch_loss_cuda_workspace_bytes(int64_t n);
void cross_entropy_batch_loss_cuda(const float* losses, int64_t n, int64_t global_batch, float* loss,
                                   void* workspace, cudaStream_t stream);
#endif

}  // namespace detnn::kernels
