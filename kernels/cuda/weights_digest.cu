// CUDA weights digest (kernels/weights_digest.h): each thread sums a grid-stride share of the
// terms, a block adds its threads' sums in shared memory, and one 64-bit integer atomicAdd per
// block adds into the result. Integer sums are exact in any order (DESIGN §1 forbids atomics on
// floats, whose sums depend on the order; this is a 64-bit integer).
#include <algorithm>

#include "kernels/weights_digest.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn::kernels {

namespace {

constexpr int kThreads = 256;

__global__ void weights_digest_kernel(const float* __restrict__ x, int64_t n, unsigned long long* digest) {
  __shared__ unsigned long long partial[kThreads];
  unsigned long long sum = 0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kThreads)
    sum += digest_term(static_cast<uint64_t>(i), __float_as_uint(x[i]));
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(digest, partial[0]);
}

}  // namespace

void weights_digest_cuda(const float* x, int64_t n, uint64_t* digest, cudaStream_t stream) {
  DETNN_CHECK(n >= 0 && n < (int64_t{1} << 32), invalid_argument, "weights_digest: n must be in [0, 2^32), got ", n);
  DETNN_CUDA_CHECK(cudaMemsetAsync(digest, 0, sizeof(uint64_t), stream));
  if (n == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, 1024));
  static_assert(sizeof(unsigned long long) == sizeof(uint64_t));
  weights_digest_kernel<<<blocks, kThreads, 0, stream>>>(x, n, reinterpret_cast<unsigned long long*>(digest));
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
