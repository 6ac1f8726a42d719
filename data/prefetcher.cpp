#include "data/prefetcher.h"

#include <algorithm>

#include "runtime/error.h"

namespace detnn::data {

Prefetcher::Prefetcher(const BatchPlan& plan, int64_t start_epoch, int64_t start_batch, int64_t end_epoch,
                       PrefetchOptions options) {
  const int64_t per_epoch = plan.batches_per_epoch();
  if (start_epoch < 0 || start_batch < 0 || start_batch >= per_epoch)
    DETNN_THROW(invalid_argument, "prefetcher: start (epoch ", start_epoch, ", batch ", start_batch,
                ") is not a batch (", per_epoch, " batches per epoch)");
  if (end_epoch < start_epoch)
    DETNN_THROW(invalid_argument, "prefetcher: end epoch ", end_epoch, " is before start epoch ", start_epoch);
  // Sequence number s = epoch * per_epoch + batch: one counter orders batches across epochs.
  start([&plan, per_epoch](int64_t s) { return plan.batch(s / per_epoch, s % per_epoch); },
        start_epoch * per_epoch + start_batch, end_epoch * per_epoch, options);
}

Prefetcher::Prefetcher(const EvalBatches& eval, PrefetchOptions options) {
  start([&eval](int64_t s) { return eval.batch(s); }, 0, eval.size(), options);
}

void Prefetcher::start(std::function<Batch(int64_t)> make, int64_t first, int64_t end, PrefetchOptions options) {
  if (options.threads < 1 || options.threads > 256)
    DETNN_THROW(invalid_argument, "prefetcher: threads must be in [1, 256], got ", options.threads);
  if (options.depth < 1) DETNN_THROW(invalid_argument, "prefetcher: depth must be >= 1, got ", options.depth);
  make_ = std::move(make);
  next_claim_ = next_yield_ = first;
  end_ = std::max(first, end);
  depth_ = options.depth;
  try {
    for (int t = 0; t < options.threads; ++t) workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    // The destructor does not run for a half-built object: stop the threads already started.
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    throw;
  }
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void Prefetcher::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    // Claims go in sequence order, and never further than depth ahead of the consumer.
    work_cv_.wait(lock, [this] {
      return stopping_ || failed_ || (next_claim_ < end_ && next_claim_ < next_yield_ + depth_);
    });
    if (stopping_ || failed_) return;
    const int64_t s = next_claim_++;
    lock.unlock();
    Slot slot;
    try {
      slot.batch = make_(s);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lock.lock();
    // After a failure nothing new is claimed; everything before it was claimed already and
    // still arrives, so the consumer sees the batches in order, then the error.
    if (slot.error) failed_ = true;
    ready_.emplace(s, std::move(slot));
    ready_cv_.notify_all();
  }
}

std::optional<Batch> Prefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (delivered_error_) std::rethrow_exception(delivered_error_);
  if (next_yield_ >= end_) return std::nullopt;
  ready_cv_.wait(lock, [this] { return ready_.count(next_yield_) != 0; });
  auto node = ready_.extract(next_yield_);
  if (node.mapped().error) {
    delivered_error_ = node.mapped().error;
    std::rethrow_exception(delivered_error_);
  }
  ++next_yield_;
  lock.unlock();
  work_cv_.notify_all();
  return std::move(node.mapped().batch);
}

}  // namespace detnn::data
