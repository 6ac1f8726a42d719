// How a global batch is cut into reduction chunks and shared among ranks (DESIGN §3).
#pragma once

#include <cstdint>

namespace detnn {

struct ChunkSplit {
  int64_t chunks_per_batch;  // B / C
  int64_t chunks_per_rank;   // k = B / (C * P)
};

// Checks the contract and returns the split: B must be a multiple of C; with P > 1 ranks the
// chunks must divide evenly and k must be a power of two, so the first log2(k) levels of the
// pairwise tree stay inside each rank. Throws Error(invalid_argument) naming B, C, P and the rule.
ChunkSplit plan_chunk_split(int64_t batch_size, int64_t chunk_size, int64_t ranks);

}  // namespace detnn
