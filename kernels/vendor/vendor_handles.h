// The cuDNN and cuBLASLt handles the fast and off modes call through: one per thread and device
// (a handle is not safe to share between threads that set its stream), created on first use.
// They are never destroyed: a handle destroyed at process exit can outlive the CUDA runtime it
// needs (the order of static destructors), and a process makes only a few.
#pragma once

#ifdef DETNN_HAVE_CUDA
#include <cublasLt.h>
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "runtime/tensor.h"

namespace detnn::kernels {

// For the current device of this thread.
cudnnHandle_t cudnn_handle();
cublasLtHandle_t cublaslt_handle();

// "cuDNN 9.19.0", "cuBLASLt 13.0.2": what the manifest records with each choice.
std::string cudnn_library_name();
std::string cublaslt_library_name();

// The largest workspace one vendor call may use: 256 MiB (cuDNN's fastest convolutions of the
// example models need far less; a fixed limit keeps the choice independent of free memory).
inline constexpr size_t kVendorWorkspaceLimit = size_t{256} << 20;

// A call's workspace: `bytes` of device memory kept for the lifetime of the plan that owns it
// (fixed: the same address on every call, on the plan's stream).
Tensor vendor_workspace(size_t bytes, cudaStream_t stream);

}  // namespace detnn::kernels
#endif
