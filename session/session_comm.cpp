#include "session/session_comm.h"

#include <vector>

#include "runtime/cpu_compute_lock.h"
#include "runtime/error.h"
#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#endif

namespace detnn {

void SessionComm::all_reduce_pairwise(float* data, int64_t count) {
  if (!several() || count == 0) return;
  if (!device_.is_cuda()) {
    CpuComputeLockReleased waiting;
    comm_->all_reduce_pairwise(data, count);
    return;
  }
#ifdef DETNN_HAVE_CUDA
  if (comm_->takes_device_memory()) {  // NCCL moves the device buffer itself
    if (unordered_)
      comm_->all_reduce_unordered_device(data, count, stream_);
    else
      comm_->all_reduce_pairwise_device(data, count, stream_);
    return;
  }
  const size_t bytes = static_cast<size_t>(count) * sizeof(float);
  const auto stream = reinterpret_cast<cudaStream_t>(stream_);
  std::vector<float> host(static_cast<size_t>(count));
  DETNN_CUDA_CHECK(cudaMemcpyAsync(host.data(), data, bytes, cudaMemcpyDeviceToHost, stream));
  DETNN_CUDA_CHECK(cudaStreamSynchronize(stream));
  comm_->all_reduce_pairwise(host.data(), count);
  DETNN_CUDA_CHECK(cudaMemcpyAsync(data, host.data(), bytes, cudaMemcpyHostToDevice, stream));
  DETNN_CUDA_CHECK(cudaStreamSynchronize(stream));  // `host` dies on return
#else
  DETNN_THROW(unsupported, "this build of detnn has no CUDA support");
#endif
}

namespace {

bool device_buckets(Comm* comm, const Device& device) {
  return comm != nullptr && device.is_cuda() && comm->takes_device_memory();
}

}  // namespace

void SessionComm::reserve_buckets(int64_t largest_count) {
  if (several() && device_buckets(comm_, device_)) comm_->reserve_buckets(largest_count);
}

void SessionComm::all_reduce_bucket(float* data, int64_t count) {
  if (!several() || count == 0) return;
  if (device_buckets(comm_, device_)) {
    comm_->all_reduce_pairwise_device_async(data, count, stream_);
    return;
  }
  all_reduce_pairwise(data, count);
}

void SessionComm::finish_buckets() {
  if (several() && device_buckets(comm_, device_)) comm_->finish_buckets(stream_);
}

float SessionComm::all_reduce_pairwise(float value) {
  if (!several()) return value;
  CpuComputeLockReleased waiting;
  comm_->all_reduce_pairwise(&value, 1);
  return value;
}

int64_t SessionComm::all_reduce_sum(int64_t value) {
  if (!several()) return value;
  CpuComputeLockReleased waiting;
  comm_->all_reduce_sum(&value, 1);
  return value;
}

void SessionComm::broadcast(void* data, int64_t bytes) {
  if (!several()) return;
  CpuComputeLockReleased waiting;
  comm_->broadcast(data, bytes);
}

void SessionComm::abort(const std::string& message) noexcept {
  if (comm_ != nullptr) comm_->abort(message);
}

}  // namespace detnn
