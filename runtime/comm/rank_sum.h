// The fixed-order local sum of a deterministic all-reduce (DESIGN §6): the values of P ranks,
// element by element, combined by the pairwise rule in rank order (runtime/comm/comm.h). Shared
// by every Comm implementation so they all round alike.
#pragma once

#include <cstdint>

namespace detnn {

// out[i] = pairwise combine over r = 0..ranks-1 of inputs[r][i], for i in [begin, end). out may
// be one of the inputs (each element is read from every input before it is written).
void pairwise_sum_over_ranks(const float* const* inputs, int ranks, int64_t begin, int64_t end, float* out);

}  // namespace detnn
