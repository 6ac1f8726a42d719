// The Optimizer's CUDA path: norm, clip factor and update queued on the caller's stream with no
// host synchronization; the norm stays on the device until last_grad_norm() asks for it.
#include <cuda_runtime.h>

#include "optim/optimizer.h"
#include "runtime/cuda_check.h"
#include "runtime/stream.h"

namespace detnn::optim {

void Optimizer::finish_init_cuda() {
  CudaDeviceGuard guard(device_.index);
  DETNN_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

void Optimizer::norm_cuda(const float* grads, void* stream_ptr) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  CudaDeviceGuard guard(device_.index);
  float* norm = norm_and_factor_.data<float>();
  kernels::global_grad_norm_cuda(grads, n_, norm, nullptr, stream);
  const float max_norm = static_cast<float>(spec_.clip_grad_norm);
  if (max_norm > 0.0f) kernels::clip_factor_cuda(norm, max_norm, norm + 1, stream);
}

void Optimizer::copy_norm_cuda(float* norm_out, void* stream_ptr) {
  CudaDeviceGuard guard(device_.index);
  DETNN_CUDA_CHECK(cudaMemcpyAsync(norm_out, norm_and_factor_.data<float>(), sizeof(float), cudaMemcpyDeviceToDevice,
                                   static_cast<cudaStream_t>(stream_ptr)));
}

void Optimizer::step_cuda(float* params, const float* grads, const UpdateScalars& s, void* stream_ptr,
                          bool norm_ready) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  if (!norm_ready) norm_cuda(grads, stream_ptr);
  CudaDeviceGuard guard(device_.index);
  // 1: the gradients enter unscaled, as on the CPU; else the clip factor beside the norm.
  const float* scale = static_cast<float>(spec_.clip_grad_norm) > 0.0f ? norm_and_factor_.data<float>() + 1 : nullptr;
  float* m = state1_.defined() ? state1_.data<float>() : nullptr;
  if (is_sgd_)
    kernels::sgd_update_cuda(params, grads, m, n_, s.sgd, scale, stream);
  else
    kernels::adam_update_cuda(params, grads, m, state2_.data<float>(), n_, s.adam, scale, stream);
}

float Optimizer::read_norm_cuda() {
  const cudaStream_t stream = static_cast<cudaStream_t>(last_stream_);
  CudaDeviceGuard guard(device_.index);
  float norm = 0.0f;
  DETNN_CUDA_CHECK(cudaMemcpyAsync(&norm, norm_and_factor_.data<float>(), sizeof norm, cudaMemcpyDeviceToHost, stream));
  DETNN_CUDA_CHECK(cudaStreamSynchronize(stream));
  return norm;
}

}  // namespace detnn::optim
