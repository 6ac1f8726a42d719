// StepGraph on CUDA: stream capture into a private pool of the caching allocator, one
// instantiation, replays with cudaGraphLaunch.
#include <cuda_runtime.h>

#include <vector>

#include "kernels/vendor/vendor_handles.h"
#include "runtime/alloc/gpu_raw_device.h"
#include "runtime/cuda_check.h"
#include "runtime/stream.h"
#include "session/step_graph.h"

namespace detnn {

namespace {

cudaStream_t as_stream(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }
cudaGraphExec_t as_exec(uintptr_t e) { return reinterpret_cast<cudaGraphExec_t>(e); }

std::string cuda_error_text(const char* call, cudaError_t status) {
  return std::string(call) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
}

int64_t count_kernel_nodes(cudaGraph_t graph) {
  size_t count = 0;
  if (cudaGraphGetNodes(graph, nullptr, &count) != cudaSuccess) return 0;
  std::vector<cudaGraphNode_t> nodes(count);
  if (count == 0 || cudaGraphGetNodes(graph, nodes.data(), &count) != cudaSuccess) return 0;
  int64_t kernels = 0;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type{};
    if (cudaGraphNodeGetType(node, &type) == cudaSuccess && type == cudaGraphNodeTypeKernel) ++kernels;
  }
  return kernels;
}

// Routes the stream's allocations to the pool while alive (also when `enqueue` throws).
class PrivateAllocations {
 public:
  PrivateAllocations(alloc::CachingAllocator& allocator, uintptr_t stream, alloc::PrivatePoolId pool)
      : allocator_(allocator), stream_(stream) {
    allocator_.begin_private_allocations(stream, pool);
  }
  ~PrivateAllocations() { allocator_.end_private_allocations(stream_); }
  PrivateAllocations(const PrivateAllocations&) = delete;
  PrivateAllocations& operator=(const PrivateAllocations&) = delete;

 private:
  alloc::CachingAllocator& allocator_;
  uintptr_t stream_;
};

}  // namespace

StepGraph::StepGraph(int device) : device_(device) {
  CudaDeviceGuard guard(device);
  cudaStream_t s = nullptr;
  // Blocking (not cudaStreamNonBlocking): see the header.
  DETNN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamDefault));
  stream_ = reinterpret_cast<uintptr_t>(s);
}

StepGraph::~StepGraph() {
  try {
    discard();
  } catch (...) {
    // A destructor must not throw; what is left goes with the process.
  }
  CudaDeviceGuard guard(device_);
  cudaStreamSynchronize(as_stream(stream_));
  try {
    // This thread's vendor workspace for the stream (the eager steps'): it would stay until the
    // thread ends. Another thread's stays with that thread (freed when it ends).
    kernels::release_vendor_workspace(as_stream(stream_));
  } catch (...) {
  }
  cudaStreamDestroy(as_stream(stream_));
}

bool StepGraph::capture(const std::function<void()>& enqueue) {
  DETNN_CHECK(!captured(), internal, "StepGraph::capture: a graph is already captured");
  CudaDeviceGuard guard(device_);
  alloc::CachingAllocator& allocator = alloc::cuda_allocator(device_);
  failure_.clear();
  if (!allocator.caching_enabled()) {
    failure_ = "the caching allocator is off (DETNN_NO_CACHING): a graph needs memory that stays its own";
    return false;
  }
  const cudaStream_t stream = as_stream(stream_);
  // Nothing queued before the capture may still be running on memory the pool will own.
  DETNN_CUDA_CHECK(cudaStreamSynchronize(stream));
  pool_ = allocator.create_private_pool();
  cudaGraph_t graph = nullptr;
  {
    PrivateAllocations routed(allocator, stream_, pool_);
    // The graph's own vendor workspace, allocated during the capture from its pool.
    kernels::ScopedVendorWorkspace own_workspace(stream);
    // Thread-local: only this thread's unsafe calls (a synchronizing copy, cudaFree) fail the
    // capture; other threads may use other streams meanwhile.
    const cudaError_t began = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
    if (began != cudaSuccess) {
      failure_ = cuda_error_text("cudaStreamBeginCapture", began);
    } else {
      try {
        enqueue();
      } catch (const std::exception& e) {
        failure_ = e.what();
      } catch (...) {  // whatever it is, the capture must still be ended
        failure_ = "an exception that is not a std::exception";
      }
      const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
      if (ended != cudaSuccess && failure_.empty()) failure_ = cuda_error_text("cudaStreamEndCapture", ended);
    }
    // The workspace dies here, back to the pool: the graph keeps using its address, which the
    // pool hands to nothing outside the graph.
  }
  (void)cudaGetLastError();  // capture errors are not sticky; later checks must not see them
  if (failure_.empty()) {
    cudaGraphExec_t exec = nullptr;
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made == cudaSuccess) {
      exec_ = reinterpret_cast<uintptr_t>(exec);
      kernel_nodes_ = count_kernel_nodes(graph);
    } else {
      failure_ = cuda_error_text("cudaGraphInstantiate", made);
      (void)cudaGetLastError();
    }
  }
  if (graph != nullptr) cudaGraphDestroy(graph);
  if (!captured()) {
    allocator.release_private_pool(pool_);
    pool_ = 0;
  }
  return captured();
}

void StepGraph::replay() {
  DETNN_CHECK(captured(), internal, "StepGraph::replay: nothing captured");
  CudaDeviceGuard guard(device_);
  DETNN_CUDA_CHECK(cudaGraphLaunch(as_exec(exec_), as_stream(stream_)));
}

void StepGraph::discard() {
  if (!captured() && pool_ == 0) return;
  CudaDeviceGuard guard(device_);
  DETNN_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream_)));
  if (captured()) cudaGraphExecDestroy(as_exec(exec_));
  exec_ = 0;
  kernel_nodes_ = 0;
  if (pool_ != 0) alloc::cuda_allocator(device_).release_private_pool(pool_);
  pool_ = 0;
}

}  // namespace detnn
