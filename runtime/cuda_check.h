// Check macros for the CUDA libraries: each records the expression, file, line and the
// library's own message, and throws detnn::Error with the library's error code. Included
// only by CUDA-built files (DETNN_HAVE_CUDA).
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <nccl.h>

#include "runtime/error.h"

namespace detnn::detail {
[[noreturn]] void throw_library_error(ErrorCode code, const char* library, long status,
                                      const char* status_text, const char* expr, const char* file,
                                      int line);
const char* cublas_status_text(cublasStatus_t status);
}  // namespace detnn::detail

#define DETNN_CUDA_CHECK(expr)                                                                  \
  do {                                                                                          \
    cudaError_t detnn_err_ = (expr);                                                            \
    if (detnn_err_ != cudaSuccess) {                                                            \
      ::detnn::detail::throw_library_error(::detnn::ErrorCode::cuda, "CUDA", (long)detnn_err_,  \
                                           cudaGetErrorString(detnn_err_), #expr, __FILE__,     \
                                           __LINE__);                                           \
    }                                                                                           \
  } while (0)

// After every kernel launch: launch-configuration errors surface here, not at a later sync.
#define DETNN_CUDA_CHECK_LAUNCH() DETNN_CUDA_CHECK(cudaGetLastError())

#define DETNN_CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                            \
    cublasStatus_t detnn_err_ = (expr);                                                           \
    if (detnn_err_ != CUBLAS_STATUS_SUCCESS) {                                                    \
      ::detnn::detail::throw_library_error(::detnn::ErrorCode::cublas, "cuBLAS", (long)detnn_err_, \
                                           ::detnn::detail::cublas_status_text(detnn_err_), #expr, \
                                           __FILE__, __LINE__);                                   \
    }                                                                                             \
  } while (0)

#define DETNN_CUDNN_CHECK(expr)                                                                 \
  do {                                                                                          \
    cudnnStatus_t detnn_err_ = (expr);                                                          \
    if (detnn_err_ != CUDNN_STATUS_SUCCESS) {                                                   \
      ::detnn::detail::throw_library_error(::detnn::ErrorCode::cudnn, "cuDNN", (long)detnn_err_, \
                                           cudnnGetErrorString(detnn_err_), #expr, __FILE__,    \
                                           __LINE__);                                           \
    }                                                                                           \
  } while (0)

#define DETNN_NCCL_CHECK(expr)                                                                  \
  do {                                                                                          \
    ncclResult_t detnn_err_ = (expr);                                                           \
    if (detnn_err_ != ncclSuccess) {                                                            \
      ::detnn::detail::throw_library_error(::detnn::ErrorCode::nccl, "NCCL", (long)detnn_err_,  \
                                           ncclGetErrorString(detnn_err_), #expr, __FILE__,     \
                                           __LINE__);                                           \
    }                                                                                           \
  } while (0)
