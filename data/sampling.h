// Which samples train and validate, and the order of each epoch (DESIGN §4). Both are pure
// functions of their arguments: no thread count, no call order, no state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/dataset.h"

namespace detnn::data {

struct SplitIndices {
  std::vector<int64_t> train, validation;  // each sorted ascending; together every sample once
};

// Sample i gets key random_bits(philox_stream_key(seed, data_split), i, 0, 0); the
// validation_count samples with the smallest (key, i) validate, the rest train. A sample's
// side depends only on (seed, i, N). Error(invalid_argument) unless 0 <= validation_count <= N.
SplitIndices split_train_validation(const Dataset& dataset, int64_t validation_count, uint64_t seed);

// The epoch's order of `indices` (dataset indices): sorted by
// (random_bits(philox_stream_key(seed, epoch_shuffle), index, epoch, 0), index).
// Error(invalid_argument) for a negative epoch or one that does not fit the 32-bit counter word.
std::vector<int64_t> epoch_permutation(std::span<const int64_t> indices, uint64_t seed, int64_t epoch);

}  // namespace detnn::data
