#include "runtime/scratch.h"

#include <cstdint>

#include "runtime/alloc/gpu_raw_device.h"
#include "runtime/cuda_check.h"

namespace detnn {

CudaScratch::CudaScratch(size_t bytes, cudaStream_t stream) {
  DETNN_CUDA_CHECK(cudaGetDevice(&device_));
  if (bytes) ptr_ = alloc::cuda_allocator(device_).allocate(bytes, reinterpret_cast<uintptr_t>(stream));
}

CudaScratch::~CudaScratch() {
  if (ptr_) alloc::cuda_allocator(device_).free(ptr_);
}

}  // namespace detnn
