// The session's device plumbing (session/session.cpp): uploads, downloads and the few kernel
// calls the step makes outside the layers, each dispatched by device.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cross_entropy.h"
#include "layers/layer.h"
#include "runtime/tensor.h"

namespace detnn::session_device {

// Makes `device` current for this thread (CUDA); nothing on the CPU. Checks that it exists.
void select(Device device);

Tensor upload(const float* host, const Shape& shape, Device device, uintptr_t stream);
Tensor upload_labels(const int32_t* host, int64_t n, Device device, uintptr_t stream);
// The f32 tensor's values in host memory (waits for the device).
std::vector<float> download(const Tensor& t);
// kernels/weights_digest.h's digest of the f32 tensor (waits for the device).
uint64_t weights_digest(const Tensor& t, uintptr_t stream);
// Zeroes the tensor (CUDA: asynchronously on `stream`).
void fill_zero(Tensor& t, uintptr_t stream);

// Host copies of a training step's input that its uploads read: on CUDA in pinned memory, so
// that the uploads are asynchronous copies a CUDA Graph can capture (the graph reads the
// buffers when it runs, so refilling them between replays feeds each replay its step); on the
// CPU none is needed and the caller's arrays are used as they are.
class StepStaging {
 public:
  StepStaging(Device device, int64_t image_floats, int64_t labels);
  ~StepStaging();
  StepStaging(const StepStaging&) = delete;
  StepStaging& operator=(const StepStaging&) = delete;

  // Copies the batch and the step in. The previous step's uploads must have run (they have once
  // its results were read). CPU: only remembers the pointers.
  void fill(const float* images, const int32_t* labels, int64_t step);
  const float* images() const { return images_; }
  const int32_t* labels() const { return labels_; }
  // Queues the step counter's upload into `counter` (i64 [1]) on `stream` (CUDA only).
  void upload_step(Tensor& counter, uintptr_t stream) const;
  // The staged slice [first, first + n) as a device tensor [n, shape...] / labels [n], uploaded
  // asynchronously on `stream` (CPU: copies of the caller's arrays).
  Tensor images_on_device(int64_t first, const Shape& shape, uintptr_t stream) const;
  Tensor labels_on_device(int64_t first, int64_t n, uintptr_t stream) const;

 private:
  Device device_;
  int64_t image_floats_, label_count_, sample_floats_ = 0;
  void* pinned_ = nullptr;  // CUDA: images, then labels, then the step
  float* pinned_images_ = nullptr;
  int32_t* pinned_labels_ = nullptr;
  int64_t* pinned_step_ = nullptr;
  const float* images_ = nullptr;  // what the uploads read: the pinned copies or the caller's
  const int32_t* labels_ = nullptr;
};

// Per-sample losses of logits [n, K] (host copy).
std::vector<float> sample_losses(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                                 const layers::ExecContext& ctx);
// The canonical loss sum of each reduction chunk, written to out[0, chunks) on ctx.device.
void chunk_loss_sums(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p, int64_t chunks,
                     int64_t chunk_size, float* out, const layers::ExecContext& ctx);
// *count (on ctx.device) += the samples whose first maximum logit is their label.
void count_correct(const Tensor& logits, const Tensor& labels, int64_t classes, int64_t* count,
                   const layers::ExecContext& ctx);
// d(batch loss)/d logits.
Tensor cross_entropy_grad(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                          const layers::ExecContext& ctx);
// out[0, size) = pairwise combine of partials [chunks, size].
void combine(const float* partials, int64_t chunks, int64_t size, float* out, const layers::ExecContext& ctx);

}  // namespace detnn::session_device
