// The canonical sum with its workspace from the caching allocator, for callers that keep none.
#include "kernels/canonical_sum.h"
#include "runtime/scratch.h"

namespace detnn::kernels {

void canonical_sum_cuda(const float* x, float* out, const SumLayout& layout, cudaStream_t stream) {
  CudaScratch workspace(canonical_sum_cuda_workspace_bytes(layout), stream);
  canonical_sum_cuda(x, out, layout, workspace.get(), stream);
}

}  // namespace detnn::kernels
