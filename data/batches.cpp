#include "data/batches.h"

#include "data/sampling.h"
#include "runtime/error.h"

namespace detnn::data {
namespace {

void check_indices(const Dataset& d, const std::vector<int64_t>& indices, const char* who) {
  for (size_t k = 0; k < indices.size(); ++k)
    if (indices[k] < 0 || indices[k] >= d.count)
      DETNN_THROW(invalid_argument, who, ": index ", indices[k], " at position ", k, " is not a sample of ",
                  d.description, " (", d.count, " samples)");
}

// Fills `batch` with the samples at `positions`, each by `make(dataset_index, out)`.
template <typename Make>
void fill(Batch& batch, const Dataset& d, const int64_t* positions, int64_t n, Make make) {
  const int64_t size = d.sample_size();
  batch.images.resize(static_cast<size_t>(n * size));
  batch.labels.resize(static_cast<size_t>(n));
  batch.dataset_indices.assign(positions, positions + n);
  for (int64_t k = 0; k < n; ++k) {
    make(positions[k], batch.images.data() + k * size);
    batch.labels[static_cast<size_t>(k)] = d.labels[static_cast<size_t>(positions[k])];
  }
}

}  // namespace

BatchPlan::BatchPlan(const Dataset& dataset, std::vector<int64_t> indices, AugmentSpec augment, uint64_t seed,
                     int64_t batch_size)
    : dataset_(dataset), indices_(std::move(indices)), augment_(std::move(augment)), seed_(seed), batch_size_(batch_size) {
  if (batch_size_ < 1 || batch_size_ > static_cast<int64_t>(indices_.size()))
    DETNN_THROW(invalid_argument, "batch size ", batch_size_, " must be in [1, ", indices_.size(),
                "] (the training samples of ", dataset_.description, ")");
  check_indices(dataset_, indices_, "training batches");
  validate_augment(augment_, dataset_.channels);
}

std::shared_ptr<const std::vector<int64_t>> BatchPlan::order(int64_t epoch) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    for (const CachedOrder& c : cache_)
      if (c.epoch == epoch) return c.order;
  }
  // Sorted outside the lock: two threads may both sort the same epoch, and get the same result.
  auto fresh = std::make_shared<const std::vector<int64_t>>(epoch_permutation(indices_, seed_, epoch));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  CachedOrder& victim = cache_[0].epoch < cache_[1].epoch ? cache_[0] : cache_[1];
  victim.epoch = epoch;
  victim.order = fresh;
  return fresh;
}

Batch BatchPlan::batch(int64_t epoch, int64_t batch_number) const {
  if (epoch < 0) DETNN_THROW(invalid_argument, "training batch: epoch ", epoch, " is negative");
  if (batch_number < 0 || batch_number >= batches_per_epoch())
    DETNN_THROW(invalid_argument, "training batch: batch ", batch_number, " is outside [0, ", batches_per_epoch(),
                ") (", indices_.size(), " samples, batch size ", batch_size_, ")");
  const std::shared_ptr<const std::vector<int64_t>> ord = order(epoch);
  Batch b;
  b.epoch = epoch;
  b.index_in_epoch = batch_number;
  fill(b, dataset_, ord->data() + batch_number * batch_size_, batch_size_, [&](int64_t index, float* out) {
    augmented_sample(dataset_, index, augment_, seed_, epoch, out);
  });
  return b;
}

EvalBatches::EvalBatches(const Dataset& dataset, std::vector<int64_t> indices, AugmentSpec augment, int64_t batch_size)
    : dataset_(dataset), indices_(std::move(indices)), augment_(std::move(augment)), batch_size_(batch_size) {
  if (batch_size_ < 1) DETNN_THROW(invalid_argument, "evaluation batch size must be >= 1, got ", batch_size_);
  check_indices(dataset_, indices_, "evaluation batches");
  validate_augment(augment_, dataset_.channels);
}

int64_t EvalBatches::size() const { return (static_cast<int64_t>(indices_.size()) + batch_size_ - 1) / batch_size_; }

Batch EvalBatches::batch(int64_t batch_number) const {
  if (batch_number < 0 || batch_number >= size())
    DETNN_THROW(invalid_argument, "evaluation batch ", batch_number, " is outside [0, ", size(), ")");
  const int64_t first = batch_number * batch_size_;
  const int64_t n = std::min<int64_t>(batch_size_, static_cast<int64_t>(indices_.size()) - first);
  Batch b;
  b.epoch = -1;
  b.index_in_epoch = batch_number;
  fill(b, dataset_, indices_.data() + first, n,
       [&](int64_t index, float* out) { normalized_sample(dataset_, index, augment_, out); });
  return b;
}

}  // namespace detnn::data
