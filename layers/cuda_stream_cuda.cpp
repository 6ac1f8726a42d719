#include "layers/cuda_stream.h"

#include "runtime/scratch.h"

namespace detnn::layers {

void canonical_sum_on_stream(const float* x, float* out, const kernels::SumLayout& layout, cudaStream_t stream) {
  CudaScratch ws(kernels::canonical_sum_cuda_workspace_bytes(layout), stream);
  kernels::canonical_sum_cuda(x, out, layout, ws.get(), stream);
}

}  // namespace detnn::layers
