#include "session/batch_split.h"

#include "runtime/error.h"

namespace detnn {

ChunkSplit plan_chunk_split(int64_t batch_size, int64_t chunk_size, int64_t ranks) {
  DETNN_CHECK(batch_size > 0 && chunk_size > 0 && ranks > 0, invalid_argument,
              "batch size B=", batch_size, ", chunk size C=", chunk_size, " and ranks P=", ranks,
              " must all be positive");
  DETNN_CHECK(batch_size % chunk_size == 0, invalid_argument, "batch size B=", batch_size,
              " is not a multiple of the chunk size C=", chunk_size,
              " (DESIGN §3: the global batch is cut into whole reduction chunks)");
  const int64_t chunks = batch_size / chunk_size;
  if (ranks == 1) return {chunks, chunks};
  DETNN_CHECK(chunks % ranks == 0, invalid_argument, "B=", batch_size, ", C=", chunk_size,
              " gives ", chunks, " chunks, which P=", ranks,
              " ranks cannot share equally (B must be a multiple of C*P)");
  const int64_t k = chunks / ranks;
  DETNN_CHECK((k & (k - 1)) == 0, invalid_argument, "B=", batch_size, ", C=", chunk_size, ", P=",
              ranks, " gives k=B/(C*P)=", k,
              " chunks per rank; with more than one rank k must be a power of two so that the "
              "pairwise tree splits at rank boundaries (DESIGN §3)");
  return {chunks, k};
}

}  // namespace detnn
