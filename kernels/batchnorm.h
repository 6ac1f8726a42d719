// Batch normalization over NCHW tensors, per DESIGN §3 and §6: ghost batch norm whose group is
// the reduction chunk. The batch of N samples is cut into K = N / chunk_size chunks; in training
// each (chunk k, channel c) is normalized with its own statistics, so a sample's output never
// depends on the other chunks of the call (batch invariance) nor on the number of ranks.
//
// Segment (k, c) is the chunk's channel-c values in (n, h, w) order, count = chunk_size * H * W
// elements; every sum over a segment is the canonical leaf-blocked pairwise sum (DESIGN §3,
// kernels/canonical_sum.h: equal to canonical_sum_cpu with SumLayout::channels(chunk_size, C, H * W) on
// the chunk). Per-(chunk, channel) arrays are [K, C] row-major. All float operations below are
// separate IEEE operations unless written fmaf; n = (float)count.
//
// Training forward, per segment:
//   mean   = sum(x) / n
//   var    = sum(d * d) / n,  d = x - mean            (two passes; biased)
//   invstd = 1.0f / sqrtf(var + eps)                  (IEEE sqrt and division, no rsqrt)
//   y      = fmaf((x - mean) * invstd, gamma, beta)   (xhat rounded, then one fused multiply-add)
// Backward, per segment, with xhat = (x - mean) * invstd recomputed exactly as in the forward:
//   dbeta_k  = sum(dy),  dgamma_k = sum(p), p = dy * xhat (product rounded, then summed)
//   a        = (gamma * invstd) / n
//   dx       = a * ((n * dy - dbeta_k) - xhat * dgamma_k)
// using the chunk's OWN sums; the [K, C] partials are combined into the parameter gradients by
// combine_chunk_partials_{cpu,cuda} (kernels/canonical_sum.h), which keeps rank/pass accumulation exact.
// Inference forward, per channel: invstd = 1.0f / sqrtf(running_var + eps),
//   y = fmaf((x - running_mean) * invstd, gamma, beta).
// Running statistics (PyTorch's convention), two steps so several ranks can combine step 1's
// sums with the deterministic all-reduce in between:
//   1. sums[c]     = pairwise over chunks (chunk order) of mean[k, c]
//      sums[C + c] = pairwise over chunks of (var[k, c] * n) / (n - 1.0f)   (unbiased)
//   2. stat = sums / (float)total_chunks;
//      running = (1.0f - momentum) * running + momentum * stat.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "runtime/host_device.h"

namespace detnn::kernels {

// The per-element formulas above, shared by the CPU and CUDA code so both round alike.
namespace batchnorm_rules {
DETNN_HD float invstd(float var, float eps) { return 1.0f / sqrtf(var + eps); }
DETNN_HD float xhat(float x, float mean, float invstd) { return (x - mean) * invstd; }
DETNN_HD float normalize(float x, float mean, float invstd, float gamma, float beta) {
  return fmaf(xhat(x, mean, invstd), gamma, beta);
}
DETNN_HD float grad_scale(float gamma, float invstd, float n) { return (gamma * invstd) / n; }
DETNN_HD float input_grad(float dy, float xhat, float a, float n, float dbeta, float dgamma) {
  return a * ((n * dy - dbeta) - xhat * dgamma);
}
DETNN_HD float unbiased_var(float var, float n) { return (var * n) / (n - 1.0f); }
DETNN_HD float running_update(float running, float stat, float momentum) {
  return (1.0f - momentum) * running + momentum * stat;
}
}  // namespace batchnorm_rules

struct BatchNormParams {
  // Input shape, NCHW.
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t height = 1;
  int64_t width = 1;
  int64_t chunk_size = 0;  // samples per reduction chunk (training.chunk_size); batch % chunk_size == 0
  float eps = 1e-5f;
  float momentum = 0.1f;   // running = (1 - momentum) * running + momentum * batch statistic

  // Training: throws Error(invalid_argument) naming the field and its value: batch, channels,
  // height, width, chunk_size >= 1; batch a multiple of chunk_size; more than one value per
  // segment (chunk_size * H * W >= 2, as PyTorch demands in training) and fewer than 2^30;
  // eps finite and >= 0; momentum in [0, 1].
  void validate() const;
  // Inference: the shape and eps only (chunk_size and momentum are not used).
  void validate_inference() const;

  int64_t hw() const { return height * width; }
  int64_t chunks() const { return chunk_size > 0 ? batch / chunk_size : 0; }
  int64_t count() const { return chunk_size * height * width; }  // elements per segment
  int64_t size() const { return batch * channels * height * width; }
};

// x, y: [N, C, H, W]; gamma, beta: [C]; chunk_mean, chunk_var (biased), chunk_invstd: [K, C].
void batchnorm_forward_training_cpu(const BatchNormParams& p, const float* x, const float* gamma,
                                    const float* beta, float* y, float* chunk_mean, float* chunk_var,
                                    float* chunk_invstd);

// chunk_mean, chunk_invstd: the forward's [K, C] outputs. dx: [N, C, H, W];
// dgamma_partials, dbeta_partials: [K, C], one partial per chunk (combine_chunk_partials).
void batchnorm_backward_cpu(const BatchNormParams& p, const float* x, const float* dy, const float* gamma,
                            const float* chunk_mean, const float* chunk_invstd, float* dx,
                            float* dgamma_partials, float* dbeta_partials);

// Uses running_mean / running_var [C]; chunk_size and momentum are ignored.
void batchnorm_forward_inference_cpu(const BatchNormParams& p, const float* x, const float* gamma,
                                     const float* beta, const float* running_mean,
                                     const float* running_var, float* y);

// Step 1 of the running-statistics update: chunk_mean, chunk_var [chunks, C] (the forward's
// biased variances, segments of `count` elements, count >= 2) -> sums [2, C].
void batchnorm_running_stat_sums_cpu(const float* chunk_mean, const float* chunk_var, int64_t chunks,
                                     int64_t channels, int64_t count, float* sums);
// Step 2: sums [2, C] over `total_chunks` chunks (all ranks) -> running_mean, running_var [C].
void batchnorm_update_running_stats_cpu(const float* sums, int64_t total_chunks, int64_t channels,
                                        float momentum, float* running_mean, float* running_var);

#ifdef DETNN_HAVE_CUDA
// Launch shape knobs, exposed so tests can prove the bits do not depend on them.
struct BatchNormLaunch {
  int warps_per_block = 4;  // statistics kernels: one warp per 32 leaves; in [1, 8]
  int max_blocks = 0;       // grid size cap (0: as many as the work needs)
};

// Device scratch the CUDA training forward and backward need, in bytes.
size_t batchnorm_cuda_workspace_bytes(const BatchNormParams& p);

// Strict CUDA versions: the same bits as the CPU functions. Device pointers, asynchronous on
// `stream`; `workspace` holds batchnorm_cuda_workspace_bytes(p) bytes. Outputs must not alias
// inputs. 16-byte vector accesses are used when H * W % 4 == 0 and the tensors are 16-byte
// aligned; otherwise scalar ones, with the same bits.
void batchnorm_forward_training_cuda(const BatchNormParams& p, const float* x, const float* gamma,
                                     const float* beta, float* y, float* chunk_mean, float* chunk_var,
                                     float* chunk_invstd, void* workspace, cudaStream_t stream,
                                     const BatchNormLaunch& launch = {});
void batchnorm_backward_cuda(const BatchNormParams& p, const float* x, const float* dy, const float* gamma,
                             const float* chunk_mean, const float* chunk_invstd, float* dx,
                             float* dgamma_partials, float* dbeta_partials, void* workspace,
                             cudaStream_t stream, const BatchNormLaunch& launch = {});
void batchnorm_forward_inference_cuda(const BatchNormParams& p, const float* x, const float* gamma,
                                      const float* beta, const float* running_mean,
                                      const float* running_var, float* y, cudaStream_t stream);
void batchnorm_running_stat_sums_cuda(const float* chunk_mean, const float* chunk_var, int64_t chunks,
                                      int64_t channels, int64_t count, float* sums, cudaStream_t stream);
void batchnorm_update_running_stats_cuda(const float* sums, int64_t total_chunks, int64_t channels,
                                         float momentum, float* running_mean, float* running_var,
                                         cudaStream_t stream);
#endif

}  // namespace detnn::kernels
