#include "session/grad_accumulator.h"

#include <cstring>

#include "kernels/activation.h"
#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#endif

namespace detnn {

GradAccumulator::GradAccumulator(int64_t size, Device device, uintptr_t stream)
    : size_(size), device_(device), stream_(stream) {}

void GradAccumulator::reset() { stack_.clear(); }

void GradAccumulator::add(const Tensor& left, Tensor& right_and_out) {
  const float* a = left.data<float>();
  float* b = right_and_out.data<float>();
  if (device_.is_cuda()) {
#ifdef DETNN_HAVE_CUDA
    kernels::add_cuda(a, b, b, size_, reinterpret_cast<cudaStream_t>(stream_));
#endif
  } else {
    kernels::add_cpu(a, b, b, size_);
  }
}

void GradAccumulator::push(Tensor node, int level) {
  while (!stack_.empty() && stack_.back().level == level) {
    add(stack_.back().sum, node);  // left (earlier chunks) + right
    stack_.pop_back();
    ++level;
  }
  stack_.push_back({std::move(node), level});
}

void GradAccumulator::result(float* out) {
  DETNN_CHECK(!stack_.empty(), internal, "GradAccumulator::result with nothing pushed");
  // Incomplete groups combine right to left, as the pairwise rule carries a short right group.
  Tensor acc = stack_.back().sum;
  for (size_t i = stack_.size() - 1; i-- > 0;) add(stack_[i].sum, acc);
  const size_t bytes = static_cast<size_t>(size_) * sizeof(float);
  if (device_.is_cuda()) {
#ifdef DETNN_HAVE_CUDA
    DETNN_CUDA_CHECK(cudaMemcpyAsync(out, acc.data<float>(), bytes, cudaMemcpyDeviceToDevice,
                                     reinterpret_cast<cudaStream_t>(stream_)));
#endif
  } else {
    std::memcpy(out, acc.data<float>(), bytes);
  }
  stack_.clear();
}

}  // namespace detnn
