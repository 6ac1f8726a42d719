// The cuDNN and cuBLASLt handles the fast and off modes call through: one per thread and device
// (a handle is not safe to share between threads that set its stream), created on first use.
// They are never destroyed: a handle destroyed at process exit can outlive the CUDA runtime it
// needs (the order of static destructors), and a process makes only a few (one pair per thread
// that makes vendor calls: short-lived threads, as the tests' rank threads are, leave theirs).
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

// "cuDNN 9.19.0 on NVIDIA H100 80GB HBM3, sm_90, 132 SMs", "cuBLASLt 13.0.2 on ...": what the
// manifest records with each choice. The GPU is part of it because NVIDIA promises the same bits
// only on the same architecture and SM count: a resume on another GPU must see other choices.
std::string cudnn_library_name();
std::string cublaslt_library_name();

// The largest workspace one vendor call may use: 256 MiB (cuDNN's fastest convolutions of the
// example models need far less; a fixed limit keeps the choice independent of free memory).
inline constexpr size_t kVendorWorkspaceLimit = size_t{256} << 20;

// The vendor calls' workspace: one buffer per thread, device and stream, shared by every plan
// (the calls on one stream run one after another), as large as the largest call has needed.
// Plans reserve their size when they are created, so that a lack of memory shows then; a call
// on a thread that has not reserved enough (a session created on one thread and trained on
// another) grows the buffer first. Per thread, not per stream alone: two threads may enqueue
// on the same stream (LocalComm ranks sharing a GPU's default stream), and one call's kernels
// must not find another call's data in the workspace between them. Freed when the thread ends.
void reserve_vendor_workspace(size_t bytes, cudaStream_t stream);
// At least `bytes`, for a call queued on `stream` now.
void* vendor_workspace(size_t bytes, cudaStream_t stream);
// Frees this thread's workspace for `stream` on the current device (stream-ordered), before the
// stream is destroyed: a session's created stream (CUDA Graphs) would otherwise keep it until
// the thread ends.
void release_vendor_workspace(cudaStream_t stream);

// While alive, vendor calls on `stream` from this thread use a workspace of the scope's own,
// allocated when first needed and freed when the scope ends. A CUDA Graph captures its calls in
// such a scope: allocated during the capture, the workspace comes from the graph's private pool,
// so its address stays the graph's whatever later reservations do (session/step_graph.h).
// Not nestable for one stream.
class ScopedVendorWorkspace {
 public:
  explicit ScopedVendorWorkspace(cudaStream_t stream);
  ~ScopedVendorWorkspace();
  ScopedVendorWorkspace(const ScopedVendorWorkspace&) = delete;
  ScopedVendorWorkspace& operator=(const ScopedVendorWorkspace&) = delete;

 private:
  int device_;
  cudaStream_t stream_;
};

}  // namespace detnn::kernels
#endif
