#include "data/sampling.h"

#include <algorithm>
#include <utility>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace detnn::data {
namespace {
using KeyedIndex = std::pair<uint32_t, int64_t>;  // (random key, index): compares key first, ties by index
}

SplitIndices split_train_validation(const Dataset& dataset, int64_t validation_count, uint64_t seed) {
  const int64_t n = dataset.count;
  if (validation_count < 0 || validation_count > n)
    DETNN_THROW(invalid_argument, "split_train_validation: validation count ", validation_count,
                " is outside [0, ", n, "] (the samples of ", dataset.description, ")");
  const PhiloxKey key = philox_stream_key(seed, RandomPurpose::data_split);
  std::vector<KeyedIndex> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keyed[static_cast<size_t>(i)] = {random_bits(key, static_cast<uint64_t>(i), 0, 0), i};
  // The pairs are all distinct, so the set of the smallest validation_count is unique.
  std::nth_element(keyed.begin(), keyed.begin() + validation_count, keyed.end());
  SplitIndices s;
  for (int64_t r = 0; r < n; ++r)
    (r < validation_count ? s.validation : s.train).push_back(keyed[static_cast<size_t>(r)].second);
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.validation.begin(), s.validation.end());
  return s;
}

std::vector<int64_t> epoch_permutation(std::span<const int64_t> indices, uint64_t seed, int64_t epoch) {
  if (epoch < 0 || epoch > static_cast<int64_t>(UINT32_MAX))
    DETNN_THROW(invalid_argument, "epoch_permutation: epoch ", epoch, " is outside [0, 2^32)");
  const PhiloxKey key = philox_stream_key(seed, RandomPurpose::epoch_shuffle);
  std::vector<KeyedIndex> keyed(indices.size());
  for (size_t k = 0; k < indices.size(); ++k)
    keyed[k] = {random_bits(key, static_cast<uint64_t>(indices[k]), static_cast<uint32_t>(epoch), 0), indices[k]};
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> order(indices.size());
  for (size_t k = 0; k < keyed.size(); ++k) order[k] = keyed[k].second;
  return order;
}

}  // namespace detnn::data
