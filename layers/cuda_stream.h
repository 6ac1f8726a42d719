// The call's CUDA stream as a cudaStream_t (ExecContext keeps it as an integer so that the
// layer headers need no CUDA header).
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/reduce.h"
#include "layers/layer.h"

namespace detnn::layers {
inline cudaStream_t cuda_stream(const ExecContext& ctx) { return reinterpret_cast<cudaStream_t>(ctx.stream); }
// kernels::canonical_sum_cuda with its workspace from the caching allocator, on `stream`.
void canonical_sum_on_stream(const float* x, float* out, const kernels::SumLayout& layout, cudaStream_t stream);
}  // namespace detnn::layers
#endif

// Runs CPU_CALL on the CPU and CUDA_CALL on a CUDA device; a CPU-only build refuses CUDA.
#ifdef DETNN_HAVE_CUDA
#define DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL) \
  do {                                           \
    if ((ctx).cuda()) {                          \
      CUDA_CALL;                                 \
    } else {                                     \
      CPU_CALL;                                  \
    }                                            \
  } while (0)
#else
#define DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL)                                             \
  do {                                                                                      \
    DETNN_CHECK(!(ctx).cuda(), unsupported, "this build of detnn has no CUDA support");     \
    CPU_CALL;                                                                               \
  } while (0)
#endif
