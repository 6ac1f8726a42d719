#include "runtime/comm/rank_sum.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace detnn {

void pairwise_sum_over_ranks(const float* const* inputs, int ranks, int64_t begin, int64_t end, float* out) {
  if (ranks == 1) {
    if (out != inputs[0]) std::memmove(out + begin, inputs[0] + begin, sizeof(float) * (end - begin));
    return;
  }
  // Blocks of rows, one row per rank, so the level loops run over contiguous memory; the
  // per-element operation order is the pairwise rule and does not depend on the block size.
  constexpr int64_t kBlock = 2048;
  std::vector<float> rows(static_cast<size_t>(ranks) * kBlock);
  for (int64_t b = begin; b < end; b += kBlock) {
    const int64_t w = std::min(kBlock, end - b);
    for (int r = 0; r < ranks; ++r) std::memcpy(&rows[r * kBlock], inputs[r] + b, sizeof(float) * w);
    int64_t n = ranks;
    while (n > 1) {
      const int64_t half = n / 2;
      for (int64_t i = 0; i < half; ++i) {
        float* dst = &rows[i * kBlock];
        const float* left = &rows[2 * i * kBlock];
        const float* right = &rows[(2 * i + 1) * kBlock];
        for (int64_t j = 0; j < w; ++j) dst[j] = left[j] + right[j];
      }
      if (n & 1) std::memcpy(&rows[half * kBlock], &rows[(n - 1) * kBlock], sizeof(float) * w);
      n = half + (n & 1);
    }
    std::memcpy(out + b, rows.data(), sizeof(float) * w);
  }
}

}  // namespace detnn
