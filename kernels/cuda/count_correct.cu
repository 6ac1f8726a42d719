// Strict CUDA top-1 count: thread i walks sample i's row as the CPU does; each warp counts its
// correct samples with a ballot and one lane adds them to the counter (integer atomics: exact,
// so the order of the adds does not matter).
#include "kernels/count_correct.h"
#include "runtime/cuda_check.h"
#include "runtime/error.h"

namespace detnn::kernels {

namespace {

constexpr int kBlock = 256;

__global__ void count_correct_kernel(const float* __restrict__ logits, const int32_t* __restrict__ labels, int64_t n,
                                     int64_t classes, unsigned long long* count) {
  // The loop bound is the same for the whole block, so every lane reaches the ballot.
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * blockDim.x; base < n;
       base += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = base + threadIdx.x;
    bool correct = false;
    if (i < n) {
      const float* row = logits + i * classes;
      int64_t best = 0;
      float best_score = row[0];
      for (int64_t k = 1; k < classes; ++k) {
        const float s = row[k];
        if (s > best_score) {
          best = k;
          best_score = s;
        }
      }
      correct = best == labels[i];
    }
    const unsigned votes = __ballot_sync(0xffffffffu, correct);
    if (threadIdx.x % 32 == 0 && votes != 0) atomicAdd(count, static_cast<unsigned long long>(__popc(votes)));
  }
}

}  // namespace

void count_correct_cuda(const float* logits, const int32_t* labels, int64_t n, int64_t classes, int64_t* count,
                        cudaStream_t stream) {
  DETNN_CHECK(n >= 0 && classes >= 1, invalid_argument, "count_correct: n = ", n, ", classes = ", classes);
  if (n == 0) return;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const unsigned grid = static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
  static_assert(sizeof(int64_t) == sizeof(unsigned long long));
  count_correct_kernel<<<grid, kBlock, 0, stream>>>(logits, labels, n, classes,
                                                    reinterpret_cast<unsigned long long*>(count));
  DETNN_CUDA_CHECK_LAUNCH();
}

}  // namespace detnn::kernels
