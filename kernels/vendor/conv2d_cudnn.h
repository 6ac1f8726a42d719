// cuDNN convolution for the fast and off modes (DESIGN §1, docs/determinism-modes.md). One plan
// serves calls of exactly `p.batch` samples: descriptors, the three algorithms picked once
// (kernels/vendor/algorithm_choice.h) and one workspace for them, kept for the plan's lifetime.
//
// fast calls a plan with one reduction chunk at a time (p.batch = the chunk size), so a sample's
// outputs and a chunk's weight gradient never depend on how many chunks a rank holds: the same
// algorithm runs on the same shape whatever the batch or the rank count. The chunk partials are
// then combined by the pairwise rule like the strict ones. off calls one plan with the whole call.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/vendor/algorithm_choice.h"
#include "runtime/determinism.h"

namespace detnn::kernels {

class CudnnConv2d {
 public:
  // Validates p, builds the descriptors and picks the algorithms (fast: cuDNN's heuristic order,
  // first deterministic; off: cudnnFind's fastest). Throws Error(unsupported) naming `layer` when
  // no algorithm qualifies, Error(cudnn) for a cuDNN failure.
  CudnnConv2d(const Conv2dParams& p, ComputeMode mode, const std::string& layer, cudaStream_t stream);
  ~CudnnConv2d();
  CudnnConv2d(const CudnnConv2d&) = delete;
  CudnnConv2d& operator=(const CudnnConv2d&) = delete;

  const Conv2dParams& params() const { return p_; }

  // y = conv(x, w) (+ bias[co], added after the convolution, when bias != nullptr).
  void forward(const float* x, const float* w, const float* bias, float* y, cudaStream_t stream);
  void backward_data(const float* dy, const float* w, float* dx, cudaStream_t stream);
  // dw = the weight gradient of this call's samples (overwritten).
  void backward_filter(const float* x, const float* dy, float* dw, cudaStream_t stream);
  // db[co] = the sum of dy over (n, h, w) in cuDNN's order (off only: fast sums per chunk in
  // detnn's canonical order).
  void backward_bias(const float* dy, float* db, cudaStream_t stream);

  // The three pinned choices, for the manifest.
  void collect_choices(const std::string& layer, std::vector<KernelChoice>& out) const;

 private:
  struct Impl;
  Conv2dParams p_;
  std::unique_ptr<Impl> impl_;
};

// "N=32 Ci=3 32x32 Co=32 k=3x3 s=1x1 p=1x1 d=1x1 g=1": a call shape in messages and manifests.
std::string conv2d_shape_text(const Conv2dParams& p);

}  // namespace detnn::kernels
#endif
