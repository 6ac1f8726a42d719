// The fixed-order local sum of the deterministic all-reduce on the GPU (DESIGN §6): for each
// element, the values of P ranks combined by the pairwise rule in rank order — at each level value
// 2j+1 is added to value 2j (left + right, one IEEE float addition), an odd last value is carried
// up unchanged, until one value is left. The same rule, so the same bits, as the CPU's
// pairwise_sum_over_ranks (runtime/comm/rank_sum.h): NcclComm rounds exactly like LocalComm.
#pragma once

#include <cstdint>

#ifdef DETNN_HAVE_CUDA
#include <cuda_runtime.h>

namespace detnn {

// Launch shape knobs: exposed so tests can prove the bits do not depend on them.
struct RankSumLaunch {
  int block_size = 256;  // threads per block: a multiple of 32 in [32, 1024]
  int max_blocks = 0;    // grid size cap (0: as many as the work needs)
};

// The most ranks one call combines: the kernel keeps one register partial per level of a
// 16-bit binary counter over the ranks.
constexpr int kRankSumMaxRanks = 65535;

// rows holds `ranks` rows of `row_stride` floats, row r being rank r's values. For i in
// [0, count): out[i] = the pairwise rank-order combine of rows[r * row_stride + i], r = 0..ranks-1.
// 1 <= ranks <= kRankSumMaxRanks; row_stride >= count when ranks > 1; out must not overlap rows.
// Device pointers, ordered on `stream`. 16-byte vector loads when row_stride is a multiple of 4
// (and vector stores when out shares the rows' alignment); the bits never depend on the path, the
// grid or the block size.
void rank_sum_cuda(const float* rows, int ranks, int64_t row_stride, int64_t count, float* out,
                   cudaStream_t stream, const RankSumLaunch& launch = {});

// out[i] = left[i] + right[i] (one __fadd_rn, left operand first) for i in [0, count): a level
// of recursive halving (runtime/comm/halving_schedule.h). out may be left or right. Device
// pointers, ordered on `stream`.
void add_left_right_cuda(const float* left, const float* right, float* out, int64_t count, cudaStream_t stream);

}  // namespace detnn
#endif
