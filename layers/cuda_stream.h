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

// The same, with the fast / off mode's vendor call (layers/vendor_plans.h): VENDOR_CALL on a CUDA
// device when ctx.uses_vendor(), CUDA_CALL (strict) otherwise. A CPU-only build never compiles
// VENDOR_CALL (sessions refuse fast and off on the CPU).
#ifdef DETNN_HAVE_CUDA
#define DETNN_DISPATCH_MODES(ctx, CPU_CALL, CUDA_CALL, VENDOR_CALL) \
  do {                                                              \
    if ((ctx).uses_vendor()) {                                      \
      VENDOR_CALL;                                                  \
    } else {                                                        \
      DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL);                     \
    }                                                               \
  } while (0)
#else
#define DETNN_DISPATCH_MODES(ctx, CPU_CALL, CUDA_CALL, VENDOR_CALL) DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL)
#endif
