#include "kernels/vendor/vendor_handles.h"

#include <map>
#include <mutex>
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

// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs": NVIDIA promises the same bits only on the same GPU
// architecture and SM count (cuBLAS "Results reproducibility"; cuDNN: none across architectures),
// so a choice recorded on one GPU must not look equal to the same choice on another.
// Read once per device (cudaGetDeviceProperties is slow, and every recorded choice names it).
std::string device_text() {
  static std::mutex mutex;
  static std::map<int, std::string> texts;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(mutex);
  std::string& text = texts[device];
  if (text.empty()) {
    cudaDeviceProp p{};
    DETNN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    text = std::string(p.name) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
           std::to_string(p.multiProcessorCount) + " SMs";
  }
  return text;
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

std::string cudnn_library_name() { return "cuDNN " + version_text(cudnnGetVersion()) + " on " + device_text(); }
std::string cublaslt_library_name() {
  return "cuBLASLt " + version_text(cublasLtGetVersion()) + " on " + device_text();
}

namespace {

std::map<std::pair<int, cudaStream_t>, Tensor>& workspaces() {
  thread_local std::map<std::pair<int, cudaStream_t>, Tensor> by_device_and_stream;
  return by_device_and_stream;
}

Tensor& workspace_of(cudaStream_t stream) { return workspaces()[{current_device(), stream}]; }

// ScopedVendorWorkspace's replacements, by device and stream.
std::map<std::pair<int, cudaStream_t>, Tensor>& workspace_overrides() {
  thread_local std::map<std::pair<int, cudaStream_t>, Tensor> overrides;
  return overrides;
}

// Makes `ws` at least `bytes` long. The old buffer goes back to the caching allocator first:
// stream-ordered, so work still queued on `stream` that uses it runs before anything that
// reuses it (including the calls of other threads on the same stream).
void grow(Tensor& ws, size_t bytes, cudaStream_t stream) {
  if (ws.defined() && ws.nbytes() >= bytes) return;
  const int64_t floats = static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
  ws = Tensor();
  ws = Tensor::empty(Shape{std::max<int64_t>(floats, 1)}, DType::f32, Device::cuda(current_device()),
                     reinterpret_cast<uintptr_t>(stream));
}

}  // namespace

void reserve_vendor_workspace(size_t bytes, cudaStream_t stream) { grow(workspace_of(stream), bytes, stream); }

void release_vendor_workspace(cudaStream_t stream) { workspaces().erase({current_device(), stream}); }

void* vendor_workspace(size_t bytes, cudaStream_t stream) {
  auto& overrides = workspace_overrides();
  const auto o = overrides.find({current_device(), stream});
  Tensor& ws = o != overrides.end() ? o->second : workspace_of(stream);
  grow(ws, bytes, stream);  // a thread's first call on the stream, or a scope's
  return ws.raw_data();
}

ScopedVendorWorkspace::ScopedVendorWorkspace(cudaStream_t stream) : device_(current_device()), stream_(stream) {
  const auto [it, inserted] = workspace_overrides().emplace(std::make_pair(device_, stream), Tensor());
  DETNN_CHECK(inserted, internal, "vendor workspace: a replacement is already in place for this stream");
}

ScopedVendorWorkspace::~ScopedVendorWorkspace() { workspace_overrides().erase({device_, stream_}); }

}  // namespace detnn::kernels
