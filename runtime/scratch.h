// Temporary device memory for a kernel's workspace, from the caching allocator of the current
// device, freed when the scope ends. Freeing is safe while the kernels that use it are still
// queued: the allocator hands the block again only to work on the same stream, which runs
// after them (DESIGN §5). CUDA builds only.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include <cstddef>

namespace detnn {

class CudaScratch {
 public:
  CudaScratch(size_t bytes, cudaStream_t stream);
  ~CudaScratch();
  CudaScratch(const CudaScratch&) = delete;
  CudaScratch& operator=(const CudaScratch&) = delete;

  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  int device_ = 0;
};

}  // namespace detnn
#endif
