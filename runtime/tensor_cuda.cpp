// The CUDA side of Tensor: storage from the caching allocator, copies and fills.
#include "runtime/alloc/gpu_raw_device.h"
#include "runtime/cuda_check.h"
#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace detnn::detail {

void* cuda_storage_allocate(int device, size_t bytes, uintptr_t stream) {
  return alloc::cuda_allocator(device).allocate(bytes, stream);
}

void cuda_storage_release(void* ptr, Device device) { alloc::cuda_allocator(device.index).free(ptr); }

void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  // Synchronous on purpose: Tensor::to/copy_from are for set-up and inspection, not hot paths.
  CudaDeviceGuard guard(dst_device.is_cuda() ? dst_device.index : src_device.index);
  DETNN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_fill_zero(void* dst, int device, size_t bytes, uintptr_t stream) {
  CudaDeviceGuard guard(device);
  DETNN_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, reinterpret_cast<cudaStream_t>(stream)));
}

}  // namespace detnn::detail
