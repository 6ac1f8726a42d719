#include "kernels/vendor/vendor_handles.h"

#include <map>
#include <utility>

#include "runtime/cuda_check.h"

namespace detnn::kernels {

namespace {

int current_device() {
  int device = 0;
  DETNN_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

std::string version_text(size_t v) {
  // major*10000 + minor*100 + patch (cuDNN 9, cuBLAS 12+).
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace

cudnnHandle_t cudnn_handle() {
  thread_local std::map<int, cudnnHandle_t> handles;
  cudnnHandle_t& h = handles[current_device()];
  if (h == nullptr) DETNN_CUDNN_CHECK(cudnnCreate(&h));
  return h;
}

cublasLtHandle_t cublaslt_handle() {
  thread_local std::map<int, cublasLtHandle_t> handles;
  cublasLtHandle_t& h = handles[current_device()];
  if (h == nullptr) DETNN_CUBLAS_CHECK(cublasLtCreate(&h));
  return h;
}

std::string cudnn_library_name() { return "cuDNN " + version_text(cudnnGetVersion()); }
std::string cublaslt_library_name() { return "cuBLASLt " + version_text(cublasLtGetVersion()); }

namespace {

Tensor& workspace_of(cudaStream_t stream) {
  thread_local std::map<std::pair<int, cudaStream_t>, Tensor> workspaces;
  return workspaces[{current_device(), stream}];
}

// ScopedVendorWorkspace's replacements, by device and stream.
std::map<std::pair<int, cudaStream_t>, Tensor>& workspace_overrides() {
  thread_local std::map<std::pair<int, cudaStream_t>, Tensor> overrides;
  return overrides;
}

}  // namespace

void reserve_vendor_workspace(size_t bytes, cudaStream_t stream) {
  Tensor& ws = workspace_of(stream);
  if (ws.defined() && ws.nbytes() >= bytes) return;
  const int64_t floats = static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
  ws = Tensor();  // back to the caching allocator first (stream-ordered), then the larger one
  ws = Tensor::empty(Shape{std::max<int64_t>(floats, 1)}, DType::f32, Device::cuda(current_device()),
                     reinterpret_cast<uintptr_t>(stream));
}

void* vendor_workspace(size_t bytes, cudaStream_t stream) {
  auto& overrides = workspace_overrides();
  const auto o = overrides.find({current_device(), stream});
  const Tensor& ws = o != overrides.end() ? o->second : workspace_of(stream);
  DETNN_CHECK(ws.defined() && ws.nbytes() >= bytes, internal, "vendor workspace: ", bytes, " bytes needed but ",
              ws.defined() ? ws.nbytes() : 0, " reserved on this thread and stream");
  return ws.raw_data();
}

size_t reserved_vendor_workspace_bytes(cudaStream_t stream) {
  const Tensor& ws = workspace_of(stream);
  return ws.defined() ? ws.nbytes() : 0;
}

ScopedVendorWorkspace::ScopedVendorWorkspace(cudaStream_t stream, const Tensor& workspace)
    : device_(current_device()), stream_(stream) {
  const auto [it, inserted] = workspace_overrides().emplace(std::make_pair(device_, stream), workspace);
  DETNN_CHECK(inserted, internal, "vendor workspace: a replacement is already in place for this stream");
}

ScopedVendorWorkspace::~ScopedVendorWorkspace() { workspace_overrides().erase({device_, stream_}); }

}  // namespace detnn::kernels
