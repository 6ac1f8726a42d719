// Training and evaluation batches. A training batch is a pure function of (dataset, indices,
// augmentation, seed, batch size, epoch, batch number): it can be made on any thread, in any
// order, and again after a resume, with the same bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"

namespace detnn::data {

struct Batch {
  int64_t epoch = 0;           // -1 for evaluation batches
  int64_t index_in_epoch = 0;  // the batch number
  std::vector<float> images;   // B*C*H*W
  std::vector<int32_t> labels;
  std::vector<int64_t> dataset_indices;
};

// Training: epoch e's order is epoch_permutation(indices, seed, e); batch b holds positions
// [b*B, (b+1)*B) of it. Only whole batches: the remainder after the last one is left out
// (DESIGN §3), and which samples that is changes with each epoch's shuffle.
class BatchPlan {
 public:
  // Keeps a reference to `dataset`, which must outlive the plan. Error(invalid_argument)
  // unless 1 <= batch_size <= indices.size(), every index is a sample of the dataset and
  // the augmentation fits it.
  BatchPlan(const Dataset& dataset, std::vector<int64_t> indices, AugmentSpec augment, uint64_t seed,
            int64_t batch_size);

  int64_t batches_per_epoch() const { return static_cast<int64_t>(indices_.size()) / batch_size_; }
  int64_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return dataset_; }

  // Thread-safe. Error(invalid_argument) for a negative epoch or a batch number outside
  // [0, batches_per_epoch()).
  Batch batch(int64_t epoch, int64_t batch_number) const;

 private:
  std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) const;

  const Dataset& dataset_;
  std::vector<int64_t> indices_;
  AugmentSpec augment_;
  uint64_t seed_;
  int64_t batch_size_;
  // The two latest epochs' permutations, so a batch costs O(B) and not a sort of the whole
  // dataset, also while prefetch workers straddle an epoch boundary.
  struct CachedOrder {
    int64_t epoch = -1;
    std::shared_ptr<const std::vector<int64_t>> order;
  };
  mutable std::mutex cache_mutex_;
  mutable CachedOrder cache_[2];
};

// Evaluation over a fixed list of dataset indices, in that order, normalized but never
// augmented; the last batch holds the rest and may be short.
class EvalBatches {
 public:
  EvalBatches(const Dataset& dataset, std::vector<int64_t> indices, AugmentSpec augment, int64_t batch_size);

  int64_t size() const;  // number of batches
  Batch batch(int64_t batch_number) const;

 private:
  const Dataset& dataset_;
  std::vector<int64_t> indices_;
  AugmentSpec augment_;
  int64_t batch_size_;
};

}  // namespace detnn::data
