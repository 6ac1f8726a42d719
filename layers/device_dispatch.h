// How a layer runs on the device of its call: DETNN_DISPATCH picks the CPU reference or the
// strict CUDA kernel by ctx.device, and cuda_stream(ctx) gives the call's stream as a
// cudaStream_t (ExecContext keeps it as an integer so that layer.h needs no CUDA header). The
// conv2d and linear layers, which also have vendor engines, choose once instead
// (layers/engines.h).
#pragma once

#include "layers/layer.h"

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

namespace detnn::layers {
inline cudaStream_t cuda_stream(const ExecContext& ctx) { return reinterpret_cast<cudaStream_t>(ctx.stream); }
}  // namespace detnn::layers

#define DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL) \
  do {                                           \
    if ((ctx).cuda()) {                          \
      CUDA_CALL;                                 \
    } else {                                     \
      CPU_CALL;                                  \
    }                                            \
  } while (0)
#else
// A CPU-only build never compiles CUDA_CALL and refuses a CUDA context.
#define DETNN_DISPATCH(ctx, CPU_CALL, CUDA_CALL)                                             \
  do {                                                                                      \
    DETNN_CHECK(!(ctx).cuda(), unsupported, "this build of detnn has no CUDA support");     \
    CPU_CALL;                                                                               \
  } while (0)
#endif
