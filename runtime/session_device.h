// The session's device plumbing (runtime/session.cpp): uploads, downloads and the few kernel
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

// Per-sample losses of logits [n, K] (host copy).
std::vector<float> sample_losses(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                                 const layers::ExecContext& ctx);
// The canonical loss sum of each reduction chunk (host copy, `chunks` values).
std::vector<float> chunk_loss_sums(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                                   int64_t chunks, int64_t chunk_size, const layers::ExecContext& ctx);
// d(batch loss)/d logits.
Tensor cross_entropy_grad(const Tensor& logits, const Tensor& labels, const kernels::CrossEntropyParams& p,
                          const layers::ExecContext& ctx);
// out[0, size) = pairwise combine of partials [chunks, size].
void combine(const float* partials, int64_t chunks, int64_t size, float* out, const layers::ExecContext& ctx);

}  // namespace detnn::session_device
